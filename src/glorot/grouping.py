"""How many configurations a sweep trains as one batched model, chosen by measurement.

Batching K configurations (:mod:`glorot.batched`) gives the same numbers as training
them one by one, so the group size is purely a question of speed, and the answer depends
on the machine and the net: on a GPU a group gives each kernel launch K times the work;
on a CPU it pays for narrow nets (less Python and dispatch per configuration-update) but
not at the paper's width of 1000, where K nets' weights no longer share the cache
(``docs/performance.md``). So instead of a rule, :func:`plan_groups` *measures*: for each
set of compatible configurations it times a few SGD updates of groups of 1, 2, 4, ...
nets of that shape, run as the sweep will run them (``parallel`` groups at once, one per
worker thread), and keeps the size with the most configuration-updates per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch

from glorot.backprop import sgd_step
from glorot.batched import BATCHED_COSTS, BatchedMLP, group_configs, group_key
from glorot.config import TrainConfig
from glorot.costs import get_cost
from glorot.cuda_graphs import DeviceStep, GraphedStep
from glorot.nets import MLP
from glorot.train import resolve_device

#: The group sizes tried, smallest first; the measurement stops at the first that is slower.
SIZES = (1, 2, 4, 8, 16, 32, 64)
#: A larger group is chosen only if it is at least this much faster (the timings are noisy).
MIN_GAIN = 1.05


def _step(config: TrainConfig, n_in: int, n_classes: int, k: int, device: torch.device) -> Callable[[], None]:
    """One SGD update of ``k`` nets of ``config``'s shape on random data, as the trainers do it:
    on a CPU :func:`glorot.train.train`'s step for one net and the eager batched step for
    more; on CUDA the graphed step of :mod:`glorot.cuda_graphs`."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(k, config.batch_size, n_in, generator=gen).mul_(2).sub_(1).to(device)
    y = torch.randint(0, n_classes, (k, config.batch_size), generator=gen).to(device)
    nets = [MLP(n_in, n_classes, config.depth, config.width, config.activation, config.init, seed=s).to(device)
            for s in range(k)]
    if device.type == "cuda":  # what train_group runs there: the graphed sync-free step, for any k
        graphed = GraphedStep(DeviceStep(BatchedMLP(nets), [config.lr] * k, config.cost, config.batch_size, n_in))
        graphed.load(x, y)
        return graphed.step
    if k == 1:
        net, cost = nets[0], get_cost(config.cost)

        def single() -> None:
            zs = net.forward_trace(x[0])
            loss, grad = cost(zs[-1], y[0])
            loss.item()
            sgd_step(net, zs, grad, config.lr)
        return single
    model, cost = BatchedMLP(nets), BATCHED_COSTS[config.cost]

    def batched() -> None:
        zs = model.forward_trace(x)
        loss, grad = cost(zs[-1], y)
        loss.tolist()
        model.sgd_step(zs, grad, [config.lr] * k)
    return batched


@torch.no_grad()
def measure(config: TrainConfig, n_in: int, n_classes: int, k: int, parallel: int = 1, updates: int = 4,
            repeats: int = 2) -> float:
    """Configuration-updates per second of ``parallel`` groups of ``k`` nets training at once
    (best of ``repeats``, after one warm-up update each)."""
    device = resolve_device(config.device)
    steps = [_step(config, n_in, n_classes, k, device) for _ in range(parallel)]

    def run(step: Callable[[], None], n: int) -> None:
        for _ in range(n):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    best = float("inf")
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda s: run(s, 1), steps))
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(lambda s: run(s, updates), steps))
            best = min(best, time.perf_counter() - start)
    return parallel * k * updates / best


def pick(rates: dict[int, float]) -> int:
    """The group size to use given measured rates: the smallest one within :data:`MIN_GAIN`
    of the best, so a size is chosen over a smaller one only for a real gain."""
    best = max(rates.values())
    return min(k for k, rate in rates.items() if rate * MIN_GAIN >= best)


def choose_group_size(config: TrainConfig, n_in: int, n_classes: int, limit: int, parallel: int = 1,
                      rate: Callable[[int], float] | None = None) -> tuple[int, dict[int, float]]:
    """Measure group sizes of :data:`SIZES` up to ``limit`` for ``config``'s shape and pick one;
    returns it and the rates measured. ``rate`` (k -> configuration-updates/s) replaces the
    measurement, for tests."""
    rate = rate or (lambda k: measure(config, n_in, n_classes, k, parallel))
    rates: dict[int, float] = {}
    for k in (k for k in SIZES if k <= max(1, limit)):
        rates[k] = rate(k)
        if k > 1 and rates[k] < max(rates.values()):
            break
    return pick(rates), rates


def plan_groups(configs: Sequence[TrainConfig], group: int | str, shape: Callable[[TrainConfig], tuple[int, int]],
                parallel: int = 1, report: Callable[[str], None] = lambda _: None) -> list[list[TrainConfig]]:
    """Split ``configs`` into the groups a sweep trains together.

    ``group`` is a size cap (1: every configuration alone) or ``"auto"``: per set of
    compatible configurations (:func:`glorot.batched.group_key`), the size measured fastest
    by :func:`choose_group_size`. ``shape`` gives a configuration's (inputs, classes).
    ``report`` receives one line per measurement.
    """
    if group != "auto":
        return group_configs(configs, max_group=int(group))
    planned: list[list[TrainConfig]] = []
    for compatible in group_configs(configs):
        first = compatible[0]
        n_in, n_classes = shape(first)
        size, rates = choose_group_size(first, n_in, n_classes, len(compatible), parallel)
        report(f"group size {size} for {len(compatible)} configurations of {first.dataset} d{first.depth} "
               f"w{first.width} on {resolve_device(first.device)} ({parallel} at once); measured configuration-"
               f"updates/s: " + ", ".join(f"K={k}: {r:.0f}" for k, r in rates.items()))
        planned += group_configs(compatible, max_group=size)
    return planned
