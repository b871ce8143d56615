"""Records the report computes for its figures and its theory section: figure panels
(:mod:`glorot.report.figures`), Figure 5's experiment (:mod:`glorot.report.costsurface`) and
Section 4.2.1 against measurement (:mod:`glorot.report.theory`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from glorot.report.records.runs import Histograms, Run


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
    """One line of Figures 11-12: a network's test error (%) against updates, the mean over seeds,
    and with several seeds the band they span (``low``, ``high``: their lowest and highest error at
    each update; empty with one seed)."""

    label: str
    updates: tuple[int, ...]
    values: tuple[float, ...]
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()


@dataclass(frozen=True)
class CurvePanel:
    """One data set's panel of Figures 11-12."""

    title: str
    curves: tuple[Curve, ...]


@dataclass(frozen=True)
class DepthLine:
    """One line of the depth figure: a network's mean (and std over seeds) test error (%) per depth."""

    network: str
    depths: tuple[int, ...]
    mean_pct: tuple[float, ...]
    std_pct: tuple[float | None, ...]


@dataclass(frozen=True)
class DepthPanel:
    """One data set's panel of the depth figure."""

    title: str
    lines: tuple[DepthLine, ...]


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


@dataclass(frozen=True)
class InputMoments:
    """The inputs of a data set's probe set (:func:`glorot.report.theory.input_moments`): the mean,
    the variance and the second moment E[x^2] = Var(x) + mean^2 of every input value, and where
    they were measured."""

    mean: float
    var: float
    second_moment: float
    source: str

