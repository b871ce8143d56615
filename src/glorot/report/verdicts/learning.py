"""Verdicts on the learning curves: Figure 11 (Shapeset-3x2) and Figure 12 (the image sets).

Two claims per figure, as the paper states them (Section 5, "Error curves and conclusions"),
read on one column of Table 1 per data set (:func:`~glorot.report.verdicts.select.column`:
depth 5 if run, else the deepest) at the learning rates Table 1 chose:

* **Tanh N ahead of Tanh**: the normalized initialisation lowers the tanh network's test error
  along training (Figures 11-12; Table 1: 15.60% vs 27.15% on Shapeset-3x2). The quantity
  tested is the gap Tanh N - Tanh (points) over the evaluations after the first.
* **softsign robust to the initialisation**: "Softsign networks seem to be more robust to the
  initialization procedure than the tanh networks" (Section 5): the normalized init moves
  softsign's curve less than tanh's, |Softsign N - Softsign| < |Tanh N - Tanh|. The paper makes
  no claim that Softsign N leads Softsign (its Table 1 has it behind on MNIST, 1.72% vs 1.64%).

Each is decided by :func:`~glorot.report.verdicts.judge.judge_test` on a paired t-test
(:func:`~glorot.report.significance.paired_test`): across seeds, one mean gap over the curve per
seed, when the networks share :data:`~glorot.report.significance.MIN_SEEDS_FOR_T` or more seeds;
else across the evaluations of the seed-mean curves. The paper's effect is its Table 1
difference on that data set; a test with less power than
:data:`~glorot.report.verdicts.judge.POWER_TO_DECIDE` to find it leaves the data set not decided.
A network at chance where the paper's is not (:func:`~glorot.report.verdicts.judge.unlike_paper`)
makes its data set not comparable. Over the data sets of a figure: not reproduced if one fails,
reproduced if one holds and none fails, else not decided.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean

from glorot.config import DATASET_TITLES
from glorot.paper.table1 import table1_error
from glorot.report.curves import mean_curve
from glorot.report.records import Cell, Claim, Comparison, Evidence, Run, Series, Verdict
from glorot.report.significance import MIN_SEEDS_FOR_T, PAIRED_CURVE, PAIRED_SEEDS, paired_test
from glorot.report.verdicts.judge import POWER_TO_DECIDE, Judgement, judge_test, unlike_paper
from glorot.report.verdicts.ordering import IMAGE_SETS, combine, image_sets_ordering, scale_of, shapeset_ordering
from glorot.report.verdicts.select import column

__all__ = ["image_sets_ordering", "image_sets_softsign_robust", "image_sets_tanh_n_ahead", "shapeset_ordering",
           "shapeset_softsign_robust", "shapeset_tanh_n_ahead"]

_TEST = (f"paired t-test at p < 0.005 across seeds (one mean gap over the evaluations after the first per seed) "
         f"when both share {MIN_SEEDS_FOR_T}+ seeds, else across the evaluations after the first of the seed-mean "
         f"curves; no difference decides against the claim only with power >= {POWER_TO_DECIDE} to detect the "
         f"paper's Table 1 effect; a network at chance where the paper's is not leaves its data set not comparable; "
         f"not reproduced if a data set fails, reproduced if one holds and none fails")
_AHEAD_RULE = f"test error gap Tanh N - Tanh (points, Table 1's column at the chosen rates) below 0: {_TEST}"
_ROBUST_RULE = (f"|Softsign N - Softsign| - |Tanh N - Tanh| (test error gaps, points, at the same evaluations or "
                f"seeds) below 0: {_TEST}")
FIG11_AHEAD = Claim("fig11_tanh_n_ahead", "On Shapeset-3x2 the normalized init keeps Tanh N's test error below "
                    "Tanh's along training (Figure 11, Section 5; Table 1: 15.60% vs 27.15%)", "Figure 11", _AHEAD_RULE)
FIG12_AHEAD = Claim("fig12_tanh_n_ahead", "On the image sets (MNIST, CIFAR-10) the normalized init keeps Tanh N's "
                    "test error below Tanh's along training (Figure 12, Section 5)", "Figure 12", _AHEAD_RULE)
FIG11_ROBUST = Claim("fig11_softsign_robust", "On Shapeset-3x2 softsign is more robust to the initialisation than "
                     "tanh: the normalized init changes its test error less (Section 5, Figure 11)", "Figure 11",
                     _ROBUST_RULE)
FIG12_ROBUST = Claim("fig12_softsign_robust", "On the image sets (MNIST, CIFAR-10) softsign is more robust to the "
                     "initialisation than tanh: the normalized init changes its test error less (Section 5, "
                     "Figure 12)", "Figure 12", _ROBUST_RULE)
_NEEDS = "needs trained {} with learning curves of 2+ evaluations in Table 1's column"


def _runs_by_seed(evidence: Evidence, cell: Cell) -> dict[int, Run]:
    return {r.seed: r for r in evidence.records if r.run_id in cell.run_ids and len(r.metric("test/error")) >= 2}


def _gap(a: Series, b: Series) -> dict[int, float]:
    """a - b (points) at each evaluation both recorded, after the first."""
    return {s: 100 * (a.at(s) - b.at(s)) for s in sorted(set(a.steps) & set(b.steps))[1:]}


def _pair_gaps(evidence: Evidence, norm: Cell, std: Cell) -> tuple[dict[int, float], dict[int, dict[int, float]]]:
    """The gap norm - std of the seed-mean curves by evaluation, and of each shared seed's curves."""
    rn, rs = _runs_by_seed(evidence, norm), _runs_by_seed(evidence, std)
    shared = sorted(set(rn) & set(rs))
    per_seed = {s: _gap(rn[s].metric("test/error"), rs[s].metric("test/error")) for s in shared}
    mean = _gap(mean_curve(list(rn.values()), "test/error"), mean_curve(list(rs.values()), "test/error"))
    return mean, {s: g for s, g in per_seed.items() if g}


def _test(diffs_by_seed: dict[int, float], diffs_by_eval: dict[int, float]) -> Comparison:
    """The paired test across seeds (enough of them) or across the curve's evaluations."""
    if len(diffs_by_seed) >= MIN_SEEDS_FOR_T:
        return paired_test(list(diffs_by_seed.values()), PAIRED_SEEDS)
    return paired_test(list(diffs_by_eval.values()), PAIRED_CURVE)


def _cells(evidence: Evidence, dataset: str, names: tuple[str, ...]) -> dict[str, Cell] | None:
    cells = column(evidence.cells, dataset)
    found = {n: cells.get(n) for n in names}
    return found if all(c is not None and c.ok for c in found.values()) else None


def _not_comparable(cells: dict[str, Cell]) -> Judgement | None:
    at = [f"{c.network} ({c.mean_pct:.2f}%)" for c in cells.values() if unlike_paper(c)]
    return Judgement(None, "not comparable: " + ", ".join(at) + " at chance where the paper's network is not") \
        if at else None


def _ahead_on(evidence: Evidence, dataset: str) -> Judgement | None:
    """Tanh N - Tanh on one data set; None when the data set lacks the pair's curves."""
    cells = _cells(evidence, dataset, ("Tanh N", "Tanh"))
    if cells is None:
        return None
    mean, per_seed = _pair_gaps(evidence, cells["Tanh N"], cells["Tanh"])
    if not mean and len(per_seed) < MIN_SEEDS_FOR_T:
        return None
    if (stuck := _not_comparable(cells)) is not None:
        return stuck
    test = _test({s: fmean(g.values()) for s, g in per_seed.items()}, mean)
    paper = table1_error("Tanh N", dataset) - table1_error("Tanh", dataset)
    if test.method is None:
        return Judgement(None, test.reason)
    return judge_test(test, f"gap Tanh N - Tanh {test.diff_pct:+.2f} points", paper)


def _robust_on(evidence: Evidence, dataset: str) -> Judgement | None:
    """|Softsign N - Softsign| - |Tanh N - Tanh| on one data set; None when it lacks the curves."""
    cells = _cells(evidence, dataset, ("Softsign N", "Softsign", "Tanh N", "Tanh"))
    if cells is None:
        return None
    s_mean, s_seed = _pair_gaps(evidence, cells["Softsign N"], cells["Softsign"])
    t_mean, t_seed = _pair_gaps(evidence, cells["Tanh N"], cells["Tanh"])
    by_eval = {s: abs(s_mean[s]) - abs(t_mean[s]) for s in sorted(set(s_mean) & set(t_mean))}
    by_seed = {k: abs(fmean(s_seed[k].values())) - abs(fmean(t_seed[k].values())) for k in set(s_seed) & set(t_seed)}
    if not by_eval and len(by_seed) < MIN_SEEDS_FOR_T:
        return None
    if (stuck := _not_comparable(cells)) is not None:
        return stuck
    test = _test(by_seed, by_eval)
    if test.method is None:
        return Judgement(None, test.reason)
    paper = {n: table1_error(n, dataset) for n in cells}
    effect = abs(paper["Softsign N"] - paper["Softsign"]) - abs(paper["Tanh N"] - paper["Tanh"])
    return judge_test(test, f"|softsign gap| - |tanh gap| {test.diff_pct:+.2f} points", effect)


def _verdict(claim: Claim, evidence: Evidence, datasets: tuple[str, ...],
             judge: Callable[[Evidence, str], Judgement | None], needs: str) -> Verdict:
    per_set = {DATASET_TITLES.get(d, d): j for d in datasets if (j := judge(evidence, d)) is not None}
    if not per_set:
        return claim.not_run(_NEEDS.format(needs))
    return combine(claim, per_set, scale_of(evidence, datasets))


def shapeset_tanh_n_ahead(evidence: Evidence) -> Verdict:
    """Figure 11: on Shapeset-3x2 Tanh N's test error is below Tanh's along training."""
    return _verdict(FIG11_AHEAD, evidence, ("shapeset",), _ahead_on, "Tanh N and Tanh")


def image_sets_tanh_n_ahead(evidence: Evidence) -> Verdict:
    """Figure 12: on the image sets Tanh N's test error is below Tanh's along training."""
    return _verdict(FIG12_AHEAD, evidence, IMAGE_SETS, _ahead_on, "Tanh N and Tanh")


def shapeset_softsign_robust(evidence: Evidence) -> Verdict:
    """Figure 11, Section 5: on Shapeset-3x2 the init changes softsign's test error less than tanh's."""
    return _verdict(FIG11_ROBUST, evidence, ("shapeset",), _robust_on, "Softsign N, Softsign, Tanh N and Tanh")


def image_sets_softsign_robust(evidence: Evidence) -> Verdict:
    """Figure 12, Section 5: on the image sets the init changes softsign's test error less than tanh's."""
    return _verdict(FIG12_ROBUST, evidence, IMAGE_SETS, _robust_on, "Softsign N, Softsign, Tanh N and Tanh")
