"""A claim of the paper, its verdict, and the evidence every verdict is decided on
(:mod:`glorot.report.verdicts`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from glorot.report.records.panels import CostSurface
from glorot.report.records.runs import Histograms, Run, no_artifact
from glorot.report.records.table import NOT_RUN, Cell

#: A verdict's status besides ``NOT_RUN`` (the study lacks the runs). ``NOT_DECIDED``: the study
#: ran what the claim needs, but at a scale that cannot decide it (a network at chance, a test
#: without the power to see the paper's effect, cells that are not like for like).
REPRODUCED, NOT_REPRODUCED, NOT_DECIDED = "reproduced", "not reproduced", "not decided"
#: The start of a not-decided verdict's evidence.
NOT_DECIDED_PREFIX = "not decided at this scale: "


@dataclass(frozen=True)
class Verdict:
    """A claim of the paper decided on the study's numbers.

    ``status``: ``REPRODUCED``, ``NOT_REPRODUCED``, ``NOT_DECIDED`` or ``NOT_RUN``; ``numbers``:
    the deciding numbers (JSON); ``scale``: data set, depth, width, updates, seeds and learning rate.
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

    def not_decided(self, reason: str, numbers: Mapping, scale: str) -> Verdict:
        """The study ran what the claim needs, but its scale cannot decide it; ``reason`` says why."""
        return Verdict(self.id, self.claim, self.source, NOT_DECIDED, self.rule, numbers,
                       NOT_DECIDED_PREFIX + reason, scale)

    def decided(self, reproduced: bool, numbers: Mapping, evidence: str, scale: str) -> Verdict:
        return Verdict(self.id, self.claim, self.source, REPRODUCED if reproduced else NOT_REPRODUCED,
                       self.rule, numbers, evidence, scale)


@dataclass(frozen=True)
class Evidence:
    """What the verdicts are decided on.

    ``records``: the runs of Table 1's chosen learning rates, with their diagnostics;
    ``cells``: every cell of Table 1; ``surface``: Figure 5's experiment (None: not run);
    ``histograms`` and ``correct`` look a run id up: its ``diagnostics.npz`` and its
    ``test_correct.npy`` (1 where the final net classifies a test example correctly, in the
    test set's fixed order), None when the run has none; ``grid``: every run, at every learning
    rate of the grid, of the networks whose claims are read at every rate (Figure 2: Sigmoid), with
    their diagnostics.
    """

    records: Sequence[Run] = ()
    cells: Sequence[Cell] = ()
    surface: CostSurface | None = None
    histograms: Callable[[str], Histograms | None] = no_artifact
    correct: Callable[[str], np.ndarray | None] = no_artifact
    grid: Sequence[Run] = ()
