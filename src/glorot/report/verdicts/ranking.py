"""Verdicts on Table 1's ranking of the networks on Shapeset-3x2.

Tanh N beats Tanh (15.60% vs 27.15%, different at the paper's p = 0.005) and Sigmoid is by
far the worst (82.61%: about chance, the majority-class error being 83.3%). Both read one
column of Table 1 (:func:`~glorot.report.verdicts.select.column`: depth 5, the paper's, when
the study ran it, else the deepest; trained networks only) and compare cells like with like
through :func:`~glorot.report.verdicts.judge.lower_error`.
"""

from __future__ import annotations

from glorot.paper.table1 import table1_error
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT, at_chance
from glorot.report.records import DIVERGED, OK, Claim, Evidence, Verdict
from glorot.report.significance import ALPHA
from glorot.report.verdicts.judge import POWER_TO_DECIDE, Judgement, lower_error, verdict_from
from glorot.report.verdicts.select import cell_scale, column

_DECIDE = (f"different at p < {ALPHA} (Table 1's test: Welch over 3+ seeds, else McNemar's exact test on the "
           f"test set); no difference counts against the claim only when the test had power >= {POWER_TO_DECIDE} "
           f"to detect the paper's difference, and a network claimed better that sits at chance (within "
           f"{AT_CHANCE_MARGIN_PCT:g} points of the majority-class error) leaves it not decided; the cells must share width, depth, updates, "
           f"learning-rate grid and seeds")
TANH_N_VS_TANH = Claim(
    "table1_tanh_n_vs_tanh", "Tanh N beats Tanh on Shapeset-3x2 (paper: 15.60% vs 27.15%)", "Table 1",
    f"Tanh N's mean test error (learning rate chosen on validation error) is lower and {_DECIDE}; a Tanh cell that "
    f"diverged at every learning rate counts as beaten")
SIGMOID_WORST = Claim(
    "table1_sigmoid_worst",
    "Sigmoid is the worst network on Shapeset-3x2 (paper: 82.61%, about chance: the majority-class error is 83.3%)",
    "Table 1", f"Sigmoid's test error is higher than that of the worst other trained network of Table 1 (networks "
               f"outside the table, such as a pre-trained Sigmoid DAE, do not count), {_DECIDE}")


def _paper_diff(better: str, worse: str, dataset: str) -> float | None:
    a, b = table1_error(better, dataset), table1_error(worse, dataset)
    return None if a is None or b is None else a - b


def tanh_n_beats_tanh(evidence: Evidence) -> Verdict:
    """Table 1: Tanh N has a lower test error than Tanh on Shapeset-3x2 (27.15% -> 15.60%), significantly."""
    cells = column(evidence.cells, "shapeset")
    tn, t = cells.get("Tanh N"), cells.get("Tanh")
    if tn is None or t is None or not tn.ok or t.state not in (OK, DIVERGED):
        return TANH_N_VS_TANH.not_run("needs trained Tanh N and Tanh results on Shapeset-3x2 at the same depth")
    if t.state == DIVERGED:
        if at_chance(tn):
            return TANH_N_VS_TANH.not_decided(f"Tanh diverged and Tanh N sits at chance ({tn.mean_pct:.2f}%)",
                                              {"tanh_n_pct": round(tn.mean_pct, 3)}, cell_scale(tn))
        return TANH_N_VS_TANH.decided(True, {"tanh_n_pct": round(tn.mean_pct, 3), "tanh": "diverged"},
                                      "Tanh diverged at every learning rate", cell_scale(tn))
    judged = lower_error(tn, t, evidence.correct, _paper_diff("Tanh N", "Tanh", "shapeset"))
    return verdict_from(TANH_N_VS_TANH, judged, cell_scale(tn))


def sigmoid_worst_on_shapeset(evidence: Evidence) -> Verdict:
    """Table 1: the sigmoid net is by far the worst of its networks on Shapeset-3x2 (82.61%: it does
    not learn); the ranking is among Table 1's networks, so a network the table does not hold is left out."""
    ok_cells = {n: c for n, c in column(evidence.cells, "shapeset").items()
                if c.ok and table1_error(n, "shapeset") is not None}
    if "Sigmoid" not in ok_cells or len(ok_cells) < 2:
        return SIGMOID_WORST.not_run("needs trained Sigmoid and at least one other trained network of Table 1 on "
                                     "Shapeset-3x2 at the same depth")
    sigmoid = ok_cells["Sigmoid"]
    runner_up = max((c for n, c in ok_cells.items() if n != "Sigmoid"), key=lambda c: c.mean_pct)
    judged = lower_error(runner_up, sigmoid, evidence.correct, _paper_diff(runner_up.network, "Sigmoid", "shapeset"))
    numbers = {**judged.numbers, "all_pct": {n: round(c.mean_pct, 3) for n, c in ok_cells.items()}}
    return verdict_from(SIGMOID_WORST, Judgement(judged.holds, judged.why, numbers), cell_scale(sigmoid))
