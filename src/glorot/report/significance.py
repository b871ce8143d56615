"""Significance tests for Table 1 (the paper marks entries that differ at p = 0.005).

Two tests, chosen per comparison by what the study recorded:

* **Welch's t-test** on the per-seed test errors of the two cells, when both cells have at
  least :data:`MIN_SEEDS_FOR_T` seeds: t = (m1 - m2) / sqrt(v1/n1 + v2/n2) with sample
  variances v, and the Welch-Satterthwaite degrees of freedom
  df = (v1/n1 + v2/n2)^2 / ((v1/n1)^2/(n1-1) + (v2/n2)^2/(n2-1)).
  It measures how much the error varies from seed to seed (initialisation, data order).
* **Two-proportion z-test** on the test-set errors otherwise: with p1, p2 the error rates
  on n1, n2 test examples and the pooled rate p = (p1 n1 + p2 n2) / (n1 + n2),
  z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)). It only accounts for the finite test set
  (a single seed says nothing about seed-to-seed variation), so it is the weaker claim.

Both p-values are two-sided. The Student t distribution's tail is computed here from the
regularised incomplete beta function (no dependency beyond the standard library).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from glorot.report.records import Comparison

#: The paper's threshold for "statistically different" (Table 1's bold entries).
ALPHA = 0.005
#: Seeds needed in both cells before the seed-level (Welch) test is used.
MIN_SEEDS_FOR_T = 3

WELCH = "Welch t-test over seeds"
Z_TEST = "two-proportion z-test on the test set"


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2)."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _mean_var(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    m = sum(xs) / n
    return m, sum((x - m) ** 2 for x in xs) / (n - 1)


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Welch's two-sample t-test: (t, degrees of freedom, two-sided p). Needs 2+ values each."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values in each sample")
    (ma, va), (mb, vb) = _mean_var(a), _mean_var(b)
    sa, sb = va / len(a), vb / len(b)
    se2 = sa + sb
    if se2 == 0.0:  # both samples constant: identical means are no evidence, different ones are certain
        return (0.0, float(len(a) + len(b) - 2), 1.0) if ma == mb else (math.copysign(math.inf, ma - mb),
                                                                          float(len(a) + len(b) - 2), 0.0)
    t = (ma - mb) / math.sqrt(se2)
    df = se2 ** 2 / (sa ** 2 / (len(a) - 1) + sb ** 2 / (len(b) - 1))
    return t, df, t_two_sided_p(t, df)


def two_proportion_z_test(p1: float, n1: int, p2: float, n2: int) -> tuple[float, float]:
    """Two-proportion z-test with the pooled rate: (z, two-sided p)."""
    if n1 < 1 or n2 < 1:
        raise ValueError("the two-proportion z-test needs n1, n2 >= 1")
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var == 0.0:
        return (0.0, 1.0) if p1 == p2 else (math.copysign(math.inf, p1 - p2), 0.0)
    z = (p1 - p2) / math.sqrt(var)
    return z, normal_two_sided_p(z)


def compare(a_errors_pct: Sequence[float], a_test_n: int | None, b_errors_pct: Sequence[float],
            b_test_n: int | None, alpha: float = ALPHA) -> Comparison:
    """Compare two Table 1 cells from their per-seed test errors (%).

    Welch's t-test when both have >= :data:`MIN_SEEDS_FOR_T` seeds, else the two-proportion
    z-test on the seed-mean errors with n = the test-set size. Returns the method, the
    statistic, p and whether p < ``alpha`` (``method`` None when neither test applies).
    """
    if len(a_errors_pct) >= MIN_SEEDS_FOR_T and len(b_errors_pct) >= MIN_SEEDS_FOR_T:
        t, df, p = welch_t_test(a_errors_pct, b_errors_pct)
        return Comparison(WELCH, t, df, p, p < alpha)
    if a_test_n and b_test_n and a_errors_pct and b_errors_pct:
        pa = sum(a_errors_pct) / len(a_errors_pct) / 100.0
        pb = sum(b_errors_pct) / len(b_errors_pct) / 100.0
        z, p = two_proportion_z_test(pa, a_test_n, pb, b_test_n)
        return Comparison(Z_TEST, z, None, p, p < alpha)
    return Comparison()
