"""Table 1's significance tests against worked examples with known answers."""

import math

import pytest

from glorot.report.significance import (WELCH, Z_TEST, betainc, compare, normal_two_sided_p, t_two_sided_p,
                                        two_proportion_z_test, welch_t_test)


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


def test_t_distribution_tails_known_values():
    # Student's t tables: two-sided 5% critical values 12.706 (df 1), 2.571 (df 5), 2.228 (df 10);
    # df = 1 is the Cauchy distribution: P(|T| >= 1) = 0.5 exactly.
    assert t_two_sided_p(1.0, 1) == pytest.approx(0.5, abs=1e-12)
    for t, df in ((12.706, 1), (2.571, 5), (2.228, 10)):
        assert t_two_sided_p(t, df) == pytest.approx(0.05, abs=2e-4)
    assert t_two_sided_p(0.0, 7) == pytest.approx(1.0)


def test_incomplete_beta_closed_forms():
    # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b
    for x in (0.1, 0.37, 0.9):
        assert betainc(1, 1, x) == pytest.approx(x)
        assert betainc(2.5, 1, x) == pytest.approx(x ** 2.5)
        assert betainc(1, 3, x) == pytest.approx(1 - (1 - x) ** 3)


def test_two_proportion_z_worked_example():
    # 120 of 200 vs 90 of 200: pooled p = 0.525, se = sqrt(0.525 * 0.475 * (2 / 200)) = 0.0499375,
    # z = 0.15 / 0.0499375 = 3.00376, two-sided p = erfc(3.00376 / sqrt 2) = 0.002667
    z, p = two_proportion_z_test(0.6, 200, 0.45, 200)
    assert z == pytest.approx(3.00376, abs=1e-5)
    assert p == pytest.approx(0.002667, abs=2e-6)
    assert normal_two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)


def test_compare_picks_the_test_by_number_of_seeds():
    three = compare([15.0, 15.5, 16.0], 10_000, [27.0, 27.5, 26.5], 10_000)
    assert three.method == WELCH and three.significant and three.p < 0.005
    one = compare([15.6], 10_000, [27.15], 10_000)
    assert one.method == Z_TEST and one.significant
    close = compare([16.06], 10_000, [16.27], 10_000)
    assert close.method == Z_TEST and not close.significant
    assert compare([15.0], None, [16.0], None).method is None


def test_degenerate_samples_do_not_crash():
    assert welch_t_test([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])[2] == 1.0
    assert welch_t_test([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])[2] == 0.0
    assert two_proportion_z_test(0.0, 10, 0.0, 10) == (0.0, 1.0)
    with pytest.raises(ValueError):
        welch_t_test([1.0], [2.0, 3.0])
