"""Table 1's records (:mod:`glorot.report.table1`): a learning rate's summary, a cell, a
significance test of two cells, a column's tests, a table per depth, the whole table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Table 1's cell states; ``NOT_RUN`` is also a verdict's status (the study lacks the runs).
#: ``RUNNING``: no learning rate can be chosen yet because runs of the cell are still training.
OK, NOT_RUN, DIVERGED, FAILED, RUNNING = "ok", "not run", "diverged", "failed", "running"
#: The paper's Table 1 is for networks of 5 hidden layers.
PAPER_DEPTH = 5


@dataclass(frozen=True)
class LrSummary:
    """One learning rate of a cell: the mean final validation error (%) that the learning-rate
    rule compared (:func:`glorot.paper.selection.rate_means`: over the seeds every eligible rate
    shares; None when a seed diverged or failed at this rate), and its runs by outcome."""

    mean_valid_error_pct: float | None
    completed: int
    diverged: int
    failed: int


@dataclass(frozen=True)
class Cell:
    """One cell of Table 1 (network x data set at one depth and width).

    A cell the study did not run is ``NOT_RUN``; one with no learning rate to choose yet while
    some of its runs still train is ``RUNNING``; one whose every run diverged (or failed) is
    ``DIVERGED`` (``FAILED``): the fields from ``lr`` to ``diff_pct`` are only set for an ``OK``
    cell. The design the cell ran, whatever its outcome: ``widths``, ``updates_run``,
    ``lr_grid`` and ``seeds_run`` (sorted, over all its runs); two cells are compared like with
    like only when these agree (:func:`glorot.report.comparable.differences`).
    """

    network: str
    dataset: str
    depth: int
    state: str = NOT_RUN
    width: int | None = None
    paper_pct: float | None = None
    n_runs: int = 0
    lrs: Mapping[str, LrSummary] = field(default_factory=dict)
    lr: float | None = None
    seeds: tuple[int, ...] = ()
    run_ids: tuple[str, ...] = ()
    test_errors_pct: tuple[float, ...] = ()
    mean_pct: float | None = None
    std_pct: float | None = None
    valid_error_pct: float | None = None
    test_n: int | None = None
    diverged_runs: int = 0
    updates: int = 0
    diff_pct: float | None = None
    widths: tuple[int, ...] = ()
    updates_run: tuple[int, ...] = ()
    lr_grid: tuple[float, ...] = ()
    seeds_run: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == OK

    @property
    def trained(self) -> bool:
        """Whether the cell's runs trained (more than 0 updates): Table 1 is of trained networks, and
        a study's runs at initialisation only (Figures 6-8) have chance errors, nothing to set beside it."""
        return any(u > 0 for u in self.updates_run)

    @property
    def like_for_like(self) -> bool:
        """Whether the paper's value is for this depth (5 hidden layers)."""
        return self.depth == PAPER_DEPTH


@dataclass(frozen=True)
class Comparison:
    """A significance test of two cells a and b (:func:`glorot.report.significance.compare`).

    ``method`` is None when no test applies, and ``reason`` says why (the comparison is not
    decided). ``diff_pct``: a's test error minus b's, in percentage points, on what the test
    compared; ``power``: the test's power at the threshold to detect that observed difference
    (:mod:`glorot.report.power`). ``se_pct`` and ``df`` (Welch) or ``discordant`` and ``n``
    (McNemar) give the power for any other difference (:func:`glorot.report.power.power_to_detect`);
    for Welch, ``n`` is the smaller cell's seed count. ``detail``: the statistic in words (``t = ..., df = ...``, the discordant counts).
    """

    method: str | None = None
    statistic: float | None = None
    df: float | None = None
    p: float | None = None
    significant: bool | None = None
    diff_pct: float | None = None
    power: float | None = None
    se_pct: float | None = None
    discordant: int | None = None
    n: int | None = None
    detail: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ColumnSignificance:
    """One data set's column: the best network and every other one's test against it."""

    best: str | None
    comparisons: Mapping[str, Comparison]


@dataclass(frozen=True)
class DepthTable:
    """Table 1 at one depth (and width, when the study swept several; else None)."""

    depth: int
    width: int | None
    cells: Mapping[tuple[str, str], Cell]
    significance: Mapping[str, ColumnSignificance]

    @property
    def key(self) -> str:
        """``depth_5``, or ``depth_5_width_1000`` when the study swept several widths."""
        return f"depth_{self.depth}" + (f"_width_{self.width}" if self.width is not None else "")

    @property
    def tag(self) -> str:
        """``d5`` or ``d5_w1000``: for file names and curve labels."""
        return f"d{self.depth}" + (f"_w{self.width}" if self.width is not None else "")

    @property
    def label(self) -> str:
        """``5 hidden layers`` (``of 1000 units``)."""
        text = f"{self.depth} hidden layer{'s' if self.depth != 1 else ''}"
        return text + (f" of {self.width} units" if self.width is not None else "")

    def cell(self, network: str, dataset: str) -> Cell:
        return self.cells[(network, dataset)]


@dataclass(frozen=True)
class Table1:
    """Table 1: rows ``networks``, columns ``datasets``, one :class:`DepthTable` per depth (and width)."""

    networks: tuple[str, ...]
    datasets: tuple[str, ...]
    depths: tuple[int, ...]
    alpha: float
    tables: tuple[DepthTable, ...]

    def all_cells(self) -> list[Cell]:
        return [c for t in self.tables for c in t.cells.values()]
