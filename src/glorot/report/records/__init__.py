"""The report's data as small frozen records: what it reads from a sweep and what it computes.

* :mod:`~glorot.report.records.runs`: read from MLflow (:mod:`glorot.report.collect`):
  :class:`Series` (a metric's history by update), :class:`Run` (a child run),
  :class:`Histograms` (``diagnostics.npz``), :class:`Sweep` (the parent run);
* :mod:`~glorot.report.records.table`: Table 1 (:mod:`glorot.report.table1`):
  :class:`LrSummary`, :class:`Cell`, :class:`Comparison`, :class:`ColumnSignificance`,
  :class:`DepthTable`, :class:`Table1`;
* :mod:`~glorot.report.records.panels`: figure panels (:class:`RunPanel`,
  :class:`HistogramPanel`, :class:`Curve`, :class:`CurvePanel`, :class:`DepthLine`,
  :class:`DepthPanel`), Figure 5's :class:`CostSurface`, Section 4.2.1's :class:`TheoryRow` and
  :class:`InputMoments`;
* :mod:`~glorot.report.records.verdicts`: :class:`Claim`, :class:`Verdict` and the
  :class:`Evidence` verdicts are decided on.

Everything is importable from here.
"""

from glorot.report.records.panels import (CostSurface, Curve, CurvePanel, DepthLine, DepthPanel, HistogramPanel,
                                          InputMoments, RunPanel, TheoryRow)
from glorot.report.records.runs import NO_SERIES, Histograms, Run, Series, Sweep, design_key, no_artifact
from glorot.report.records.table import (DIVERGED, FAILED, NOT_RUN, OK, PAPER_DEPTH, RUNNING, Cell,
                                         ColumnSignificance, Comparison, DepthTable, LrSummary, Table1)
from glorot.report.records.verdicts import (NOT_DECIDED, NOT_DECIDED_PREFIX, NOT_REPRODUCED, REPRODUCED, Claim,
                                            Evidence, Verdict)

__all__ = [
    "DIVERGED", "FAILED", "NOT_DECIDED", "NOT_DECIDED_PREFIX", "NOT_REPRODUCED", "NOT_RUN", "NO_SERIES", "OK",
    "PAPER_DEPTH", "RUNNING", "REPRODUCED", "Cell", "Claim", "ColumnSignificance", "Comparison", "CostSurface", "Curve",
    "CurvePanel", "DepthLine", "DepthPanel", "DepthTable", "Evidence", "HistogramPanel", "Histograms",
    "InputMoments", "LrSummary", "Run", "RunPanel", "Series", "Sweep", "Table1", "TheoryRow", "Verdict", "design_key",
    "no_artifact",
]
