"""The verdict on depth: the sigmoid net with 5 hidden layers ends worse than with 4.

Figure 2's text and Figure 11: with 4 hidden layers the sigmoid net's saturated top layer
recovers and the net learns; with 5 it stays saturated and the net stays near chance
(Table 1: 82.61% on Shapeset-3x2). Decided on Table 1's Sigmoid cells at depths 4 and 5 on
Shapeset-3x2 (same width, updates, learning-rate grid and seeds), through
:func:`~glorot.report.verdicts.judge.lower_error`: the paper gives no depth-4 error, so a
test that finds no difference leaves the claim not decided.
"""

from __future__ import annotations

from glorot.report.records import Claim, Evidence, Verdict
from glorot.report.significance import ALPHA
from glorot.report.verdicts.judge import lower_error, verdict_from
from glorot.report.verdicts.select import cell_scale

DEPTH_SIGMOID = Claim(
    "depth_sigmoid_5_worse_than_4", "The sigmoid net with 5 hidden layers ends worse than with 4 on Shapeset-3x2 "
    "(with 5 its top layer never recovers)", "Figures 2 and 11",
    f"Table 1's Sigmoid cells on Shapeset-3x2 at depths 4 and 5 (the widest width both ran; same updates, "
    f"learning-rate grid and seeds): depth 4's mean test error lower and different at p < {ALPHA} (Welch over "
    f"3+ seeds, else McNemar on the test set); not decided when depth 4 sits at chance or the test finds nothing")


def sigmoid_deeper_is_worse(evidence: Evidence) -> Verdict:
    """Sigmoid, Shapeset-3x2: the 5-layer net's test error is higher than the 4-layer net's."""
    cells = [c for c in evidence.cells if c.network == "Sigmoid" and c.dataset == "shapeset" and c.ok
             and c.updates > 0 and c.depth in (4, 5)]
    widths = {c.width for c in cells if c.depth == 4} & {c.width for c in cells if c.depth == 5}
    if not widths:
        return DEPTH_SIGMOID.not_run("needs trained Sigmoid runs on Shapeset-3x2 at depths 4 and 5 (a depth study)")
    width = max(widths, key=lambda w: w or 0)
    four, five = (next(c for c in cells if c.depth == d and c.width == width) for d in (4, 5))
    judged = lower_error(four, five, evidence.correct, ignore=("depth",))
    return verdict_from(DEPTH_SIGMOID, judged, f"{cell_scale(four)}; {cell_scale(five)}")
