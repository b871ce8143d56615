"""Significance tests of two Table 1 cells (the paper marks entries that differ at p = 0.005).

Two tests, both two-sided and both through ``scipy.stats``, chosen per comparison of cells a
and b by what the study recorded:

* **Welch's t-test** on the per-seed test errors, when both cells have at least
  :data:`MIN_SEEDS_FOR_T` seeds (``scipy.stats.ttest_ind(equal_var=False)``: Welch-Satterthwaite
  degrees of freedom). It measures how the error varies from seed to seed (initialisation,
  data order).
* **McNemar's exact test** otherwise, when both cells' runs logged ``test_correct.npy`` (1 where
  the final net classifies a test example correctly, in the test set's fixed order): one
  trained network of each cell, scored on the same test examples (the lowest seed both cells
  ran, else each cell's lowest). Of the n_d discordant examples, which exactly one of the two
  gets wrong, a gets k wrong; with no difference between the networks each is equally likely
  to be either one's error, K ~ Binomial(n_d, 1/2), and
  p = ``scipy.stats.binomtest(k, n_d, 0.5).pvalue`` = min(1, 2 P(K <= min(k, n_d - k))).
  It accounts for the finite test set, not for seed-to-seed variation: a claim about these
  two trained networks.
* The **paired t-test** (:func:`paired_test`) on differences of two networks that come in
  pairs: one per seed (the same seed: the same data order), or, on one pair of learning
  curves, one per evaluation (the claim is about the curve, not its last point). Its
  assumptions: the differences are independent and about normal. Neighbouring evaluations of
  a curve are not independent, so there its p-value is approximate: a curve claim is tested
  across seeds whenever both networks have :data:`MIN_SEEDS_FOR_T` or more.
* Neither: the comparison is **not decided**, and ``Comparison.reason`` says why (fewer than
  3 seeds and no per-example correctness, or cells that are not like with like).

Every test carries its power at the threshold to detect the difference it observed
(:mod:`glorot.report.power`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import stats

from glorot.report.comparable import differences
from glorot.report.power import (MCNEMAR, PAIRED_CURVE, PAIRED_LAYERS, PAIRED_SEEDS, WELCH, mcnemar_power,
                                 welch_degrees_of_freedom, welch_power)
from glorot.report.records import Cell, Comparison, no_artifact

#: The paper's threshold for "statistically different" (Table 1's bold entries).
ALPHA = 0.005
#: Seeds needed in both cells before the seed-level (Welch) test is used.
MIN_SEEDS_FOR_T = 3

__all__ = ["ALPHA", "MCNEMAR", "MIN_SEEDS_FOR_T", "PAIRED_CURVE", "PAIRED_SEEDS", "WELCH", "compare", "mcnemar_exact",
           "paired_test", "welch_t_test"]


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Welch's two-sample t-test: (t, degrees of freedom, two-sided p). Needs 2+ values each."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values in each sample")
    va, vb = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    df = welch_degrees_of_freedom(va, vb, len(a), len(b))
    if va == 0.0 and vb == 0.0:  # both constant: identical means are no evidence, different ones are certain
        diff = float(np.mean(a) - np.mean(b))
        return (0.0, df, 1.0) if diff == 0 else (math.copysign(math.inf, diff), df, 0.0)
    result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.df), float(result.pvalue)


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test on two networks' per-example correctness over one test set:
    (examples only a gets wrong, examples only b gets wrong, two-sided p)."""
    a, b = np.asarray(a_correct).astype(bool), np.asarray(b_correct).astype(bool)
    if a.shape != b.shape:
        raise ValueError(f"McNemar's test needs one test set: {a.shape} vs {b.shape} examples")
    a_only, b_only = int(np.sum(~a & b)), int(np.sum(a & ~b))
    n = a_only + b_only
    return a_only, b_only, 1.0 if n == 0 else float(stats.binomtest(a_only, n, 0.5).pvalue)


def _welch(a: Cell, b: Cell, alpha: float) -> Comparison:
    t, df, p = welch_t_test(a.test_errors_pct, b.test_errors_pct)
    diff = a.mean_pct - b.mean_pct
    ea, eb = a.test_errors_pct, b.test_errors_pct
    se = math.sqrt(np.var(ea, ddof=1) / len(ea) + np.var(eb, ddof=1) / len(eb))
    return Comparison(WELCH, t, df, p, p < alpha, diff_pct=diff, power=welch_power(diff, se, df, alpha), se_pct=se,
                      n=min(len(ea), len(eb)), detail=f"t = {t:.3g}, df = {df:.3g} ({len(ea)} vs {len(eb)} seeds)")


def _pair(a: Cell, b: Cell) -> tuple[str, str, str]:
    """The two runs McNemar's test compares, and their seeds in words."""
    common = sorted(set(a.seeds) & set(b.seeds))
    ia = a.seeds.index(common[0]) if common else 0
    ib = b.seeds.index(common[0]) if common else 0
    words = f"seed {common[0]}" if common else f"seeds {a.seeds[0]} and {b.seeds[0]}"
    return a.run_ids[ia], b.run_ids[ib], words


def _mcnemar(a: Cell, b: Cell, correct: Callable[[str], np.ndarray | None], alpha: float) -> Comparison | str:
    """McNemar's test of the cells' paired runs, or why it cannot be run."""
    run_a, run_b, seeds = _pair(a, b)
    ca, cb = correct(run_a), correct(run_b)
    if ca is None or cb is None:
        return "no per-example test correctness (test_correct.npy) recorded"
    if ca.shape != cb.shape:
        return f"the runs were scored on different test sets ({ca.size} vs {cb.size} examples)"
    a_only, b_only, p = mcnemar_exact(ca, cb)
    n_d, n = a_only + b_only, int(ca.size)
    return Comparison(MCNEMAR, float(a_only), None, p, p < alpha, diff_pct=100 * (a_only - b_only) / n,
                      power=mcnemar_power(n_d, a_only / n_d if n_d else 0.5, alpha), discordant=n_d, n=n,
                      detail=f"{n_d} discordant of {n} test examples: {a_only} wrong only for {a.network}, "
                             f"{b_only} only for {b.network} ({seeds})")


def compare(a: Cell, b: Cell, correct: Callable[[str], np.ndarray | None] = no_artifact, alpha: float = ALPHA,
            ignore: Iterable[str] = ()) -> Comparison:
    """Compare two cells that ran (:attr:`Cell.ok`): Welch's t-test with >= :data:`MIN_SEEDS_FOR_T`
    seeds in both, else McNemar's exact test on the runs' per-example correctness (``correct``
    looks a run id up), else no test (``reason``). Cells whose designs differ (other than in
    ``ignore``: ``depth``, ``width``, ...) are not compared."""
    unlike = differences(a, b, ignore)
    if unlike:
        return Comparison(reason="not like with like: " + "; ".join(unlike))
    if len(a.seeds) >= MIN_SEEDS_FOR_T and len(b.seeds) >= MIN_SEEDS_FOR_T:
        return _welch(a, b, alpha)
    test = _mcnemar(a, b, correct, alpha)
    if isinstance(test, Comparison):
        return test
    return Comparison(reason=f"fewer than {MIN_SEEDS_FOR_T} seeds per cell for Welch's t-test and {test} "
                             f"for McNemar's test")


def paired_test(diffs: Sequence[float], method: str = PAIRED_SEEDS, alpha: float = ALPHA) -> Comparison:
    """The two-sided paired t-test that the mean of ``diffs`` (a - b, percentage points; one per
    seed, ``PAIRED_SEEDS``, or per evaluation of a curve, ``PAIRED_CURVE``) is 0; no test with
    fewer than 2 differences."""
    d = np.asarray(diffs, dtype=float)
    n = int(d.size)
    if n < 2:
        return Comparison(reason=f"a paired t-test needs 2 or more paired differences, there are {n}")
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    se, df = sd / math.sqrt(n), n - 1
    if se == 0.0:  # every difference the same: a zero one is no evidence, any other is certain
        t, p = (0.0, 1.0) if mean == 0 else (math.copysign(math.inf, mean), 0.0)
    else:
        result = stats.ttest_1samp(d, 0.0)
        t, p = float(result.statistic), float(result.pvalue)
    over = {PAIRED_SEEDS: "seeds", PAIRED_LAYERS: "layer pairs"}.get(method, "evaluations")
    return Comparison(method, t, float(df), p, p < alpha, diff_pct=mean, power=welch_power(mean, se, df, alpha),
                      se_pct=se, n=n, detail=f"t = {t:.3g}, df = {df} ({n} {over}, mean difference {mean:+.3g} "
                                            f"points, sd {sd:.3g})")


def fisher_p(a_hits: int, a_n: int, b_hits: int, b_n: int) -> float:
    """Fisher's exact test (two-sided) of ``a_hits`` of ``a_n`` seeds against ``b_hits`` of ``b_n``."""
    return float(stats.fisher_exact([[a_hits, a_n - a_hits], [b_hits, b_n - b_hits]]).pvalue)


def seeds_to_separate(alpha: float = ALPHA, most: int = 100) -> int | None:
    """The fewest seeds per network with which all of one network's and none of the other's
    (the clearest contrast there is) differ at ``alpha`` by :func:`fisher_p`."""
    return next((n for n in range(1, most + 1) if fisher_p(n, n, 0, n) < alpha), None)
