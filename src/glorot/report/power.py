"""The power of the report's two tests at the paper's threshold (p < 0.005), through scipy.stats.

The power of a test is the probability that it finds a difference of a given size at the
threshold ``alpha``, with the seeds or test examples the study has. The report gives each
test's power to detect the difference it observed, and a verdict the power to detect the
paper's difference: a test that finds nothing, with too little power to have found the
paper's effect, leaves the claim not decided.

* **Welch's t-test** (difference ``diff`` between the cells' mean errors, standard error
  se = sqrt(v_a/n_a + v_b/n_b) from the sample variances v and the seeds n, Welch-Satterthwaite
  degrees of freedom df): under the difference, the statistic follows a noncentral t
  distribution with df degrees of freedom and noncentrality delta = |diff| / se, so

      power = P(T' > c) + P(T' < -c),  T' ~ nct(df, delta),  c = t_{1 - alpha/2, df}.

  With n seeds per cell and effect size d = diff / sqrt((v_a + v_b) / 2), delta = d sqrt(n / 2):
  the power grows with the seeds.
* **McNemar's exact test** (n_d discordant test examples, which exactly one network gets
  wrong): conditional on n_d, the count k that network a gets wrong is Binomial(n_d, q).
  The test rejects when 2 P(X <= min(k, n_d - k)) < alpha for X ~ Binomial(n_d, 1/2), that is
  for k <= k* or k >= n_d - k*, so

      power = P(K <= k*) + P(K >= n_d - k*),  K ~ Binomial(n_d, q).

  The observed split is q = k / n_d. A difference diff (fraction of the n test examples)
  means k - (n_d - k) = diff n, so at least |diff| n discordant examples: its power is taken
  at n_d' = max(n_d, ceil(|diff| n)) discordant examples and q = 1/2 + diff n / (2 n_d').
  (Two networks that disagree on no example would otherwise have no power to show anything.)
* **The paired t-test** (n paired differences a - b, one per seed, or one per evaluation of a
  learning curve, of mean m and standard deviation s): the one-sample t statistic
  m / (s / sqrt(n)) with n - 1 degrees of freedom, so its power is Welch's formula above with
  se = s / sqrt(n) and df = n - 1; :func:`pairs_needed` gives the n at which it reaches a power.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import stats

from glorot.report.records import Comparison

WELCH = "Welch t-test over seeds"
MCNEMAR = "McNemar exact test on the test set"
PAIRED_SEEDS = "paired t-test across seeds"
PAIRED_CURVE = "paired t-test across the evaluations of the curve"
PAIRED_LAYERS = "paired t-test across the layers of each seed"
#: The most pairs (seeds or evaluations) :func:`pairs_needed` looks for.
MAX_PAIRS = 10_000


def welch_degrees_of_freedom(var_a: float, var_b: float, n_a: int, n_b: int) -> float:
    """Welch-Satterthwaite: (v_a/n_a + v_b/n_b)^2 / ((v_a/n_a)^2/(n_a-1) + (v_b/n_b)^2/(n_b-1))."""
    sa, sb = var_a / n_a, var_b / n_b
    den = sa ** 2 / (n_a - 1) + sb ** 2 / (n_b - 1)
    return (sa + sb) ** 2 / den if den > 0 else float(n_a + n_b - 2)


def welch_power(diff: float, se: float, df: float, alpha: float) -> float:
    """P(|T'| > t_{1-alpha/2, df}) for T' ~ nct(df, |diff| / se): Welch's test finds ``diff``."""
    if se <= 0:
        return 1.0 if diff != 0 else alpha
    crit = stats.t.ppf(1 - alpha / 2, df)
    delta = abs(diff) / se
    upper, lower = float(stats.nct.sf(crit, df, delta)), float(stats.nct.cdf(-crit, df, delta))
    if not math.isfinite(upper):  # scipy's noncentral t gives nan far out in a tail
        upper = 1.0 if delta > crit else 0.0
    return min(1.0, upper + (lower if math.isfinite(lower) else 0.0))


def welch_power_for(diff: float, var_a: float, var_b: float, n_a: int, n_b: int, alpha: float) -> float:
    """Welch's power to find ``diff`` with ``n_a`` and ``n_b`` seeds of variances ``var_a``, ``var_b``."""
    se = math.sqrt(var_a / n_a + var_b / n_b)
    return welch_power(diff, se, welch_degrees_of_freedom(var_a, var_b, n_a, n_b), alpha)


def mcnemar_bound(discordant: int, alpha: float) -> int:
    """k*: the largest k with 2 P(X <= k) < alpha, X ~ Binomial(discordant, 1/2); -1 if none."""
    k = int(stats.binom.ppf(alpha / 2, discordant, 0.5))
    while k >= 0 and 2 * stats.binom.cdf(k, discordant, 0.5) >= alpha:
        k -= 1
    while k + 1 < discordant / 2 and 2 * stats.binom.cdf(k + 1, discordant, 0.5) < alpha:
        k += 1
    return k


def mcnemar_power(discordant: int, split: float, alpha: float) -> float:
    """McNemar's exact test's power at ``discordant`` discordant examples when a fraction ``split``
    of them are ``a``'s errors: P(K <= k*) + P(K >= n_d - k*), K ~ Binomial(n_d, split)."""
    if discordant < 1:
        return 0.0
    k = mcnemar_bound(discordant, alpha)
    if k < 0:
        return 0.0
    split = min(max(split, 0.0), 1.0)
    return float(stats.binom.cdf(k, discordant, split) + stats.binom.sf(discordant - k - 1, discordant, split))


def power_to_detect(test: Comparison, diff_pct: float, alpha: float) -> float | None:
    """The power of the test ``test`` ran to find a difference of ``diff_pct`` percentage points
    between the two cells, with the same seeds (Welch) or the same discordant count (McNemar,
    at least as many as the difference implies)."""
    if test.method in (WELCH, PAIRED_SEEDS, PAIRED_CURVE, PAIRED_LAYERS) and test.se_pct is not None and test.df is not None:
        return welch_power(diff_pct, test.se_pct, test.df, alpha)
    if test.method == MCNEMAR and test.discordant is not None and test.n:
        shift = diff_pct / 100 * test.n  # k - (n_d - k) under the difference
        discordant = max(test.discordant, math.ceil(abs(shift) - 1e-9))
        return mcnemar_power(discordant, 0.5 + shift / (2 * discordant), alpha) if discordant else 0.0
    return None


def _fewest(power_at: Callable[[int], float], power: float) -> int | None:
    """The fewest n in 2..:data:`MAX_PAIRS` with ``power_at(n) >= power`` (the power grows with n);
    None if even the most fall short."""
    lo, hi = 2, MAX_PAIRS
    if power_at(hi) < power:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if power_at(mid) >= power:
            hi = mid
        else:
            lo = mid + 1
    return lo


def pairs_needed(diff: float, sd: float, alpha: float, power: float) -> int | None:
    """The fewest paired differences (seeds, or evaluations of a curve) of standard deviation ``sd``
    with which the paired t-test (df = n - 1, se = sd / sqrt(n)) has ``power`` to find a mean
    difference ``diff``; None if more than :data:`MAX_PAIRS` or no difference to find."""
    if diff == 0:
        return None
    return _fewest(lambda n: welch_power(diff, sd / math.sqrt(n), n - 1, alpha), power)


def seeds_needed(diff: float, se: float, seeds: int, alpha: float, power: float) -> int | None:
    """The fewest seeds per network with which Welch's test, at the spread it had with ``seeds``
    per network (standard error ``se``), has ``power`` to find ``diff``: the standard error
    shrinks as 1 / sqrt(n) and df = 2 (n - 1); None beyond :data:`MAX_PAIRS` or with no difference."""
    if diff == 0:
        return None
    return _fewest(lambda n: welch_power(diff, se * math.sqrt(seeds / n), 2 * (n - 1), alpha), power)
