"""How many configurations a sweep trains as one batched model, chosen by measurement.

Batching K configurations (:mod:`glorot.engine.stacked`) gives the same numbers as training
them one by one, so the group size is purely a question of speed, and the answer depends
on the machine and the net: on a GPU a group gives each kernel launch K times the work;
on a CPU it pays for narrow nets (less Python and dispatch per configuration-update) but
not at the paper's width of 1000, where K nets' weights no longer share the cache
(``docs/performance.md``). So instead of a rule, :func:`plan_groups` *measures*: for each
set of compatible configurations it times a few SGD updates of groups of 1, 2, 4, ...
nets of that shape, run as the sweep will run them (``parallel`` groups at once, one per
worker thread) by the engine's own loop (:func:`glorot.engine.steps.feed`: batches drawn
from the configurations' streams and prefetched, the device's step, its bookkeeping read
back), and keeps the size with the most configuration-updates per second.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from glorot.config import TrainConfig
from glorot.engine.loop import resolve_device
from glorot.engine.stacked import BatchedMLP, group_configs
from glorot.engine.steps import feed, make_step
from glorot.paper.nets import MLP

#: The group sizes tried, smallest first; the measurement stops at the first that is slower.
SIZES = (1, 2, 4, 8, 16, 32, 64)
#: A larger group is chosen only if it is at least this much faster. On a shared machine two
#: measurements of the same size differed by up to 30%, and a sweep's own loop adds overheads
#: (data, evaluation, bookkeeping) that a few timed updates do not see, so only a clear gain
#: counts: at widths of 100-200 batching measures 2x-5x faster, at 500-1000 within 15%.
MIN_GAIN = 1.25


def _group(config: TrainConfig, n_in: int, n_classes: int, k: int, device: torch.device) -> Callable[[int], None]:
    """A function running ``n`` SGD updates of ``k`` nets of ``config``'s shape as the training
    loop runs them on ``device`` (:func:`glorot.engine.steps.make_step`,
    :func:`~glorot.engine.steps.feed`, then :meth:`~glorot.engine.steps.Step.read`), on
    streams repeating one random batch in [-1, 1] each."""
    rng = np.random.default_rng(0)
    streams = [itertools.repeat((rng.uniform(-1, 1, (config.batch_size, n_in)).astype(np.float32),
                                 rng.integers(0, n_classes, config.batch_size))) for _ in range(k)]
    nets = [MLP(n_in, n_classes, config.depth, config.width, config.activation, config.init, seed=s).to(device)
            for s in range(k)]
    step = make_step(BatchedMLP(nets), [config.lr] * k, config.cost, config.batch_size, n_in)

    def updates(n: int) -> None:
        feed(step, streams, n, device)
        step.read()
    return updates


class Trial:
    """``parallel`` groups of ``k`` nets of ``config``'s shape, ready to be timed (built once,
    so that repeated timings measure training only)."""

    def __init__(self, config: TrainConfig, n_in: int, n_classes: int, k: int, parallel: int = 1) -> None:
        self.k, self.parallel = k, parallel
        self.device = resolve_device(config.device)
        self.groups = [_group(config, n_in, n_classes, k, self.device) for _ in range(parallel)]
        self.timed(1)  # warm-up

    @torch.no_grad()
    def timed(self, updates: int) -> float:
        """Configuration-updates per second of ``updates`` updates of every group at once."""
        with ThreadPoolExecutor(self.parallel) as pool:
            start = time.perf_counter()
            list(pool.map(lambda run_group: run_group(updates), self.groups))
            return self.parallel * self.k * updates / (time.perf_counter() - start)


def measure(config: TrainConfig, n_in: int, n_classes: int, k: int, parallel: int = 1, updates: int = 10,
            repeats: int = 3) -> float:
    """Configuration-updates per second of ``parallel`` groups of ``k`` nets training at once
    (the best of ``repeats`` timings of ``updates`` updates)."""
    trial = Trial(config, n_in, n_classes, k, parallel)
    return max(trial.timed(updates) for _ in range(repeats))


def pick(rates: dict[int, float]) -> int:
    """The group size to use given measured rates: the smallest one within :data:`MIN_GAIN`
    of the best, so a size is chosen over a smaller one only for a real gain."""
    best = max(rates.values())
    return min(k for k, rate in rates.items() if rate * MIN_GAIN >= best)


def choose_group_size(config: TrainConfig, n_in: int, n_classes: int, limit: int, parallel: int = 1,
                      rate: Callable[[int], float] | None = None, rounds: int = 3) -> tuple[int, dict[int, float]]:
    """Measure group sizes of :data:`SIZES` up to ``limit`` for ``config``'s shape and pick one;
    returns it and the rates measured (configuration-updates/s).

    The first round tries sizes in increasing order and stops at the first that is slower
    than a smaller one; ``rounds - 1`` more rounds time the sizes tried again, interleaved,
    and each keeps its best, so that a burst of load on a shared machine does not decide
    alone. ``rate`` (k -> configuration-updates/s of one timing) replaces the measurement,
    for tests.
    """
    if rate is None:
        trials: dict[int, Trial] = {}

        def rate(k: int) -> float:
            if k not in trials:
                trials[k] = Trial(config, n_in, n_classes, k, parallel)
            return trials[k].timed(10)
    rates: dict[int, float] = {}
    for k in (k for k in SIZES if k <= max(1, limit)):
        rates[k] = rate(k)
        if k > 1 and rates[k] < max(rates.values()):
            break
    for _ in range(rounds - 1):
        for k in rates:
            rates[k] = max(rates[k], rate(k))
    return pick(rates), rates


def balanced(configs: Sequence[TrainConfig], size: int) -> list[list[TrainConfig]]:
    """``configs`` cut into the fewest groups of at most ``size``, as equal as possible and
    the larger ones first (10 in groups of at most 4: 4 + 3 + 3, not 4 + 4 + 2), in order."""
    n_groups = math.ceil(len(configs) / size)
    sizes = [len(configs) // n_groups + (k < len(configs) % n_groups) for k in range(n_groups)]
    starts = [sum(sizes[:k]) for k in range(n_groups)]
    return [list(configs[a:a + n]) for a, n in zip(starts, sizes)]


def plan_groups(configs: Sequence[TrainConfig], group: int | str, shape: Callable[[TrainConfig], tuple[int, int]],
                parallel: int = 1, report: Callable[[str], None] = lambda _: None) -> list[list[TrainConfig]]:
    """Split ``configs`` into the groups a sweep trains together, ``parallel`` at a time.

    Per set of compatible configurations (:func:`glorot.engine.stacked.group_key`), ``group`` is
    a size cap (1: every configuration alone) or ``"auto"``: the size measured fastest by
    :func:`choose_group_size`, tried only up to what still gives each of the ``parallel``
    workers a group (5 configurations on 2 workers: at most 3, since groups of 4 + 1 would
    leave a worker idle while the 4 train). The groups are :func:`balanced`.
    ``shape`` gives a configuration's (inputs, classes); ``report`` receives one line per
    measurement.
    """
    planned: list[list[TrainConfig]] = []
    for compatible in group_configs(configs):
        if group != "auto":
            planned += balanced(compatible, int(group))
            continue
        first = compatible[0]
        n_in, n_classes = shape(first)
        limit = math.ceil(len(compatible) / parallel)
        size, rates = choose_group_size(first, n_in, n_classes, limit, parallel)
        report(f"group size {size} for {len(compatible)} configurations of {first.dataset} d{first.depth} "
               f"w{first.width} on {resolve_device(first.device)} ({parallel} at once); measured configuration-"
               f"updates/s: " + ", ".join(f"K={k}: {r:.0f}" for k, r in rates.items()))
        planned += balanced(compatible, size)
    return planned
