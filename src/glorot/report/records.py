"""The report's data as small frozen records: what it reads from a sweep and what it computes.

Read from MLflow (:mod:`glorot.report.collect`):

* :class:`Series`: one metric's history by update: a learning curve (``test/error``) or one
  layer's diagnostic (``L3/act_std``);
* :class:`Run`: a child run of the sweep, with its metric histories once they are read;
* :class:`Histograms`: a run's ``diagnostics.npz`` (Figures 4 and 6-8);
* :class:`Sweep`: the sweep's parent run.

Computed:

* Table 1 (:mod:`glorot.report.table1`): :class:`LrSummary`, :class:`Cell`,
  :class:`Comparison`, :class:`ColumnSignificance`, :class:`DepthTable`, :class:`Table1`;
* figure panels (:mod:`glorot.report.figures`): :class:`RunPanel`, :class:`HistogramPanel`,
  :class:`Curve`, :class:`CurvePanel`;
* Figure 5's experiment (:mod:`glorot.report.costsurface`): :class:`CostSurface`;
* Section 4.2.1 against measurement (:mod:`glorot.report.theory`): :class:`TheoryRow`;
* a claim and its verdict (:mod:`glorot.report.verdicts`): :class:`Claim`, :class:`Verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

#: Table 1's cell states; ``NOT_RUN`` is also a verdict's status (the study lacks the runs).
OK, NOT_RUN, DIVERGED, FAILED = "ok", "not run", "diverged", "failed"
#: A verdict's status.
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
#: The paper's Table 1 is for networks of 5 hidden layers.
PAPER_DEPTH = 5


# --- read from MLflow ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """One metric's history: ``values[k]`` was recorded at update ``steps[k]`` (by step)."""

    steps: tuple[int, ...] = ()
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, points: Iterable[Sequence[float]]) -> Series:
        """From ``[[step, value], ...]`` pairs."""
        pairs = list(points)
        return cls(tuple(int(s) for s, _ in pairs), tuple(float(v) for _, v in pairs))

    def __len__(self) -> int:
        return len(self.steps)

    def points(self) -> Iterator[tuple[int, float]]:
        return zip(self.steps, self.values)

    def at(self, step: int) -> float | None:
        """The value recorded at ``step`` (the first one), or None."""
        return next((v for s, v in self.points() if s == step), None)


NO_SERIES = Series()


@dataclass(frozen=True)
class Run:
    """A child run of a sweep (:func:`glorot.report.collect.run_record`).

    The defaults are what a run that did not record a parameter gets. ``valid_error`` and
    ``test_error`` are fractions; ``series`` maps metric keys (``test/error``,
    ``L{i}/act_std``, ...) to their histories, filled by
    :meth:`glorot.report.collect.StudySource.diagnostics` and empty before.
    """

    run_id: str
    network: str
    activation: str = "?"
    init: str = "?"
    dataset: str = "?"
    depth: int = 0
    width: int = 0
    lr: float = 0.0
    seed: int = 0
    updates: int = 0
    batch_size: int | None = None
    cost: str = "nll"
    probe_size: int | None = None
    status: str = "unknown"
    diverged_at: int | None = None
    valid_error: float | None = None
    test_error: float | None = None
    valid_n: int | None = None
    test_n: int | None = None
    data_version: str | None = None
    git_commit: str | None = None
    config_key: str = ""
    series: Mapping[str, Series] = field(default_factory=dict)

    @property
    def layers(self) -> range:
        """The hidden layers' indices, 1..depth."""
        return range(1, self.depth + 1)

    def metric(self, key: str) -> Series:
        """The history of ``key`` (empty if the run has none)."""
        return self.series.get(key, NO_SERIES)

    def layer(self, i: int, scalar: str) -> Series:
        """Hidden layer ``i``'s diagnostic ``scalar`` (``act_std``, ``dCdW_std``, ...)."""
        return self.metric(f"L{i}/{scalar}")

    def with_series(self, series: Mapping[str, Series]) -> Run:
        return replace(self, series=series)


@dataclass(frozen=True)
class Histograms:
    """A run's ``diagnostics.npz``: arrays ``u{update}/L{i}/{act,dCds,dCdW}_{counts,edges}``."""

    arrays: Mapping[str, np.ndarray]

    def has_update(self, update: int) -> bool:
        return any(k.startswith(f"u{update}/") for k in self.arrays)

    def last_update(self) -> int:
        return max(int(k.split("/")[0][1:]) for k in self.arrays)

    def layer(self, update: int, layer: int, quantity: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(counts, bin edges) of ``quantity`` in hidden layer ``layer`` at ``update``, or None."""
        prefix = f"u{update}/L{layer}/{quantity}"
        counts, edges = self.arrays.get(f"{prefix}_counts"), self.arrays.get(f"{prefix}_edges")
        return None if counts is None or edges is None else (counts, edges)


@dataclass(frozen=True)
class Sweep:
    """The sweep's parent run."""

    run_id: str
    name: str
    status: str
    start_time: int | None
    tags: Mapping[str, str]


# --- Table 1 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LrSummary:
    """One learning rate of a cell: mean final validation error (%) over completed seeds."""

    mean_valid_error_pct: float | None
    completed: int
    diverged: int
    failed: int


@dataclass(frozen=True)
class Cell:
    """One cell of Table 1 (network x data set at one depth and width).

    A cell the study did not run is ``NOT_RUN``; one whose every run diverged (or failed) is
    ``DIVERGED`` (``FAILED``): the fields from ``lr`` on are only set for an ``OK`` cell.
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

    @property
    def ok(self) -> bool:
        return self.state == OK

    @property
    def like_for_like(self) -> bool:
        """Whether the paper's value is for this depth (5 hidden layers)."""
        return self.depth == PAPER_DEPTH


@dataclass(frozen=True)
class Comparison:
    """A significance test of two cells (:func:`glorot.report.significance.compare`);
    ``method`` None when no test applies."""

    method: str | None = None
    statistic: float | None = None
    df: float | None = None
    p: float | None = None
    significant: bool | None = None


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


# --- figures ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunPanel:
    """A panel of one run's layer diagnostics over training (Figures 3, 9, 10)."""

    title: str
    run: Run


@dataclass(frozen=True)
class HistogramPanel:
    """A panel of per-layer histograms of one run at one update (Figures 4, 6-8)."""

    title: str
    histograms: Histograms
    update: int
    depth: int


@dataclass(frozen=True)
class Curve:
    """One line of Figures 11-12: a network's test error (%) against updates."""

    label: str
    updates: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class CurvePanel:
    """One data set's panel of Figures 11-12."""

    title: str
    curves: tuple[Curve, ...]


@dataclass(frozen=True)
class CostSurface:
    """Figure 5's experiment: both costs over a grid of two weights, and their plateau fractions.

    ``surfaces`` and ``plateau_fraction`` are keyed by cost (``nll``, ``quadratic``);
    ``surfaces[cost][i][j]`` is the cost at (grid[i], grid[j]).
    """

    grid: tuple[float, ...]
    surfaces: Mapping[str, list[list[float]]]
    plateau_threshold: float
    plateau_fraction: Mapping[str, float]
    weights: Mapping[str, str]
    scale: str


@dataclass(frozen=True)
class TheoryRow:
    """One layer of one run: predicted (Section 4.2.1) and measured variances at update 0."""

    network: str
    dataset: str
    init: str
    depth: int
    width: int
    seed: int
    layer: int
    var_z_predicted: float
    var_z_measured: float
    var_dCds_predicted: float
    var_dCds_measured: float

    @property
    def run_key(self) -> tuple[str, str, int, int]:
        """The run the row belongs to: (network, data set, depth, seed)."""
        return self.network, self.dataset, self.depth, self.seed


# --- verdicts -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """A claim of the paper decided on the study's numbers.

    ``status``: ``REPRODUCED``, ``NOT_REPRODUCED`` or ``NOT_RUN``; ``numbers``: the deciding
    numbers (JSON); ``scale``: data set, depth, width, updates, seeds and learning rate.
    """

    id: str
    claim: str
    source: str
    status: str
    rule: str
    numbers: Mapping = field(default_factory=dict)
    evidence: str = ""
    scale: str = ""


@dataclass(frozen=True)
class Claim:
    """A claim of the paper (``source``: the figure, table or section) and the rule deciding it."""

    id: str
    claim: str
    source: str
    rule: str

    def not_run(self, evidence: str, scale: str = "") -> Verdict:
        """The study lacks the runs to decide the claim; ``evidence`` says which."""
        return Verdict(self.id, self.claim, self.source, NOT_RUN, self.rule, {}, evidence, scale)

    def decided(self, reproduced: bool, numbers: Mapping, evidence: str, scale: str) -> Verdict:
        return Verdict(self.id, self.claim, self.source, REPRODUCED if reproduced else NOT_REPRODUCED,
                       self.rule, numbers, evidence, scale)
