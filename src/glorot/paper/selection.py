"""The paper's rule for a network's learning rate (Section 2.3): "the learning rate was
chosen by optimizing the validation error" -- one rule, used by ``glorot train``'s grid, the
sweep's summary, the model registry's champion and Table 1, so that they can never pick
different rates for the same network.

The rule, stated once:

* A **trial** is one training run of the network at one learning rate and one seed, read at
  the end of its training: its final validation error, and whether it finished (a run whose
  cost became NaN or infinite, or that failed, did not).
* A rate is **eligible** when every seed tried at it finished: a rate at which some seed
  diverged does not train that network reliably, and a mean over only the seeds that
  survived would flatter it.
* Eligible rates are compared on the **seeds they all share** (the mean final validation
  error over those seeds), so that a rate run on more seeds (a protocol that chooses the
  rate on seed 0 and runs the other seeds at the chosen rate only) is judged on the same
  draws as the others. With no seed shared by all eligible rates the rule refuses to choose
  (:class:`ValueError`): such a grid compares different draws.
* The lowest mean wins; an exact tie goes to the **smaller** rate.
* No eligible rate: no choice (``None``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Trial:
    """One trained run at one learning rate and seed, read at the end of training."""

    lr: float
    seed: int
    valid_error: float | None
    finished: bool


def _usable(trial: Trial) -> bool:
    return trial.finished and trial.valid_error is not None and math.isfinite(trial.valid_error)


def eligible_rates(trials: Iterable[Trial]) -> dict[float, dict[int, float]]:
    """Each eligible rate (every seed tried at it finished) with its seeds' final validation
    errors."""
    by_lr: dict[float, list[Trial]] = defaultdict(list)
    for trial in trials:
        by_lr[float(trial.lr)].append(trial)
    return {lr: {t.seed: float(t.valid_error) for t in group}
            for lr, group in by_lr.items() if all(map(_usable, group))}


def rate_means(trials: Iterable[Trial]) -> dict[float, float]:
    """The mean final validation error of each eligible rate over the seeds every eligible
    rate shares (module docstring); empty when no rate is eligible."""
    rates = eligible_rates(trials)
    if not rates:
        return {}
    shared = set.intersection(*(set(seeds) for seeds in rates.values()))
    if not shared:
        raise ValueError("cannot choose a learning rate: the eligible rates share no seed "
                         f"({', '.join(f'{lr:g}: seeds {sorted(s)}' for lr, s in sorted(rates.items()))})")
    return {lr: sum(seeds[s] for s in shared) / len(shared) for lr, seeds in rates.items()}


def choose_lr(trials: Iterable[Trial]) -> float | None:
    """The learning rate the paper's protocol keeps (Section 2.3; module docstring): the
    eligible rate with the lowest mean final validation error over the shared seeds, ties to
    the smaller rate; ``None`` when no rate is eligible."""
    means = rate_means(trials)
    return min(means, key=lambda lr: (means[lr], lr)) if means else None
