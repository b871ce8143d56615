"""Table 1's significance tests and their power, against worked examples with known answers."""

import math

import numpy as np
import pytest
from scipy import stats

from glorot.report.power import (mcnemar_bound, mcnemar_power, pairs_needed, power_to_detect, welch_power,
                                 welch_power_for)
from glorot.report.records import Cell
from glorot.report.significance import (MCNEMAR, PAIRED_SEEDS, WELCH, compare, mcnemar_exact, paired_test,
                                        welch_t_test)


def test_welch_matches_r_worked_example():
    # R: t.test(c(11,9,10,11,10,12,9,11,12,9), c(11,13,10,13,12,9,11,12,12,11))
    # -> Welch Two Sample t-test: t = -1.8325, df = 17.9, p-value = 0.08356
    a = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9]
    b = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11]
    t, df, p = welch_t_test(a, b)
    assert t == pytest.approx(-1.8325, abs=5e-5)
    assert df == pytest.approx(17.9003, abs=5e-4)
    assert p == pytest.approx(0.08356, abs=5e-6)


def test_welch_against_hand_computation():
    # a: mean 2, variance 1; b: mean 5, variance 4; n = 3 each.
    # se^2 = 1/3 + 4/3 = 5/3, t = -3 / sqrt(5/3) = -2.32379; df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 3.2353
    t, df, p = welch_t_test([1, 2, 3], [3, 5, 7])
    assert t == pytest.approx(-3 / math.sqrt(5 / 3))
    assert df == pytest.approx((5 / 3) ** 2 / ((1 / 9) / 2 + (16 / 9) / 2))
    assert 0.05 < p < 0.15


def test_mcnemar_exact_on_a_hand_worked_table():
    # 2 x 2 table of 100 test examples: both right 70, both wrong 18, only a wrong 2, only b wrong 10.
    # Discordant n_d = 12; under H0 K ~ Binomial(12, 1/2), k = 2:
    # P(K <= 2) = (C(12,0) + C(12,1) + C(12,2)) / 2^12 = (1 + 12 + 66) / 4096 = 79 / 4096,
    # two-sided p = 2 * 79 / 4096 = 158 / 4096 = 0.0385742...
    a = np.array([1] * 70 + [0] * 18 + [0] * 2 + [1] * 10, dtype=np.uint8)
    b = np.array([1] * 70 + [0] * 18 + [1] * 2 + [0] * 10, dtype=np.uint8)
    a_only, b_only, p = mcnemar_exact(a, b)
    assert (a_only, b_only) == (2, 10)
    assert p == pytest.approx(158 / 4096, rel=1e-12)
    assert mcnemar_exact(a, a)[2] == 1.0  # no discordant example: no evidence
    with pytest.raises(ValueError):
        mcnemar_exact(a, b[:50])


def test_mcnemar_rejection_region():
    # n_d = 20, alpha = 0.005: 2 P(K <= 1) = 2 * 21 / 2^20 = 4.0e-5 < alpha, 2 P(K <= 2) = 2 * 211 / 2^20 = 4.0e-4,
    # 2 P(K <= 3) = 2 * 1351 / 2^20 = 0.00258 < alpha, 2 P(K <= 4) = 2 * 6196 / 2^20 = 0.0118 >= alpha: k* = 3.
    assert mcnemar_bound(20, 0.005) == 3
    assert mcnemar_bound(5, 0.005) == -1  # 2 / 2^5 = 0.0625: five discordant examples can never reject
    assert mcnemar_power(5, 1.0, 0.005) == 0.0
    # the power at a split q is P(K <= 3) + P(K >= 17) for K ~ Binomial(20, q); at q = 1/2 it is the test's size
    assert mcnemar_power(20, 0.5, 0.005) == pytest.approx(2 * 1351 / 2 ** 20)


def test_welch_power_matches_the_noncentral_t_textbook_value():
    # Two groups of 20, effect size d = 1, two-sided alpha 0.05: power 0.869 (Cohen's tables; R pwr.t.test)
    assert welch_power_for(1.0, 1.0, 1.0, 20, 20, 0.05) == pytest.approx(0.869, abs=1e-3)
    assert welch_power(0.0, 1.0, 10, 0.005) == pytest.approx(0.005)  # no effect: the test's size


def test_power_grows_with_seeds_and_examples():
    welch = [welch_power_for(1.0, 1.0, 1.0, n, n, 0.005) for n in (3, 5, 10, 20, 40)]
    assert all(x < y for x, y in zip(welch, welch[1:])) and welch[-1] > 0.9
    mcnemar = [mcnemar_power(n, 0.65, 0.005) for n in (20, 50, 100, 200, 400)]
    assert all(x < y for x, y in zip(mcnemar, mcnemar[1:])) and mcnemar[-1] > 0.9


def cell(network, errors, runs=None, **design):
    seeds = tuple(range(len(errors)))
    return Cell(network, "shapeset", 5, "ok", test_errors_pct=tuple(errors), mean_pct=sum(errors) / len(errors),
                seeds=seeds, run_ids=tuple(runs or (f"{network}-{s}" for s in seeds)), updates=100,
                **{"widths": (100,), "updates_run": (100,), "lr_grid": (0.1,), "seeds_run": seeds, **design})


def test_compare_picks_the_test_by_what_was_recorded():
    three = compare(cell("A", [15.0, 15.5, 16.0]), cell("B", [27.0, 27.5, 26.5]))
    assert three.method == WELCH and three.significant and three.p < 0.005 and three.power > 0.99
    assert three.diff_pct == pytest.approx(-11.5) and "3 vs 3 seeds" in three.detail
    rng = np.random.default_rng(0)
    truth = rng.random(1000) < 0.8
    better = truth | (rng.random(1000) < 0.5)
    arrays = {"A-0": better.astype(np.uint8), "B-0": truth.astype(np.uint8)}
    one = compare(cell("A", [10.0]), cell("B", [20.0]), arrays.get)
    assert one.method == MCNEMAR and one.significant and one.discordant == int(np.sum(better != truth))
    assert one.diff_pct == pytest.approx(-100 * one.discordant / 1000) and one.power > 0.99
    # the power to detect a difference of 0.1 points at this discordant count is small
    assert power_to_detect(one, 0.1, 0.005) < 0.05


def test_compare_is_not_decided_without_data_or_like_for_like():
    none = compare(cell("A", [15.0]), cell("B", [16.0]))
    assert none.method is None and "test_correct.npy" in none.reason and "fewer than 3 seeds" in none.reason
    unlike = compare(cell("A", [15.0, 15.1, 15.2]), cell("B", [16.0, 16.1, 16.2], updates_run=(200,)))
    assert unlike.method is None and unlike.reason == "not like with like: updates (100) vs (200)"
    other = compare(cell("A", [15.0, 15.1, 15.2]), cell("B", [16.0, 16.1, 16.2], lr_grid=(0.1, 0.01),
                                                      seeds_run=(0, 1, 2, 3)))
    assert "learning-rate grid (0.1) vs (0.1, 0.01)" in other.reason and "seeds (0, 1, 2) vs (0, 1, 2, 3)" in other.reason


def test_degenerate_samples_do_not_crash():
    assert welch_t_test([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])[2] == 1.0
    assert welch_t_test([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])[2] == 0.0
    with pytest.raises(ValueError):
        welch_t_test([1.0], [2.0, 3.0])


def test_paired_test_is_scipys_paired_t_test_with_its_power():
    a, b = [15.0, 16.2, 15.1, 15.8], [27.0, 26.1, 27.9, 27.2]
    test = paired_test([x - y for x, y in zip(a, b)])
    ref = stats.ttest_rel(a, b)
    assert test.method == PAIRED_SEEDS and test.df == 3 and test.n == 4
    assert test.statistic == pytest.approx(ref.statistic) and test.p == pytest.approx(ref.pvalue)
    assert test.significant and test.diff_pct == pytest.approx(np.mean(a) - np.mean(b))
    assert paired_test([1.0]).method is None and "2 or more" in paired_test([1.0]).reason
    assert paired_test([-2.0, -2.0]).p == 0.0 and paired_test([0.0, 0.0]).p == 1.0
    n = pairs_needed(-1.0, 2.0, 0.005, 0.8)  # the fewest pairs with power 0.8
    assert welch_power(-1.0, 2.0 / np.sqrt(n), n - 1, 0.005) >= 0.8
    assert welch_power(-1.0, 2.0 / np.sqrt(n - 1), n - 2, 0.005) < 0.8
    assert pairs_needed(0.0, 1.0, 0.005, 0.8) is None
