"""Sweep throughput (configuration-updates per second for the whole machine), as ratios
against the naive sequential sweep measured in the same run.

The sweep is the paper's Table 1 networks (Softsign, Softsign N, Tanh, Tanh N, Sigmoid) on
a ``1024-width x depth-9`` net at mini-batch 10; each configuration has its own seed and
its own pre-generated Shapeset batches (generation is outside the timings; see
``data_speed.py`` for its cost). Ways of running it:

* (a) naive:    nn.Sequential + torch.optim.SGD + nn.CrossEntropyLoss, configuration after configuration
* (b) glorot:   the engine's loop (baselines.time_glorot), configuration after configuration
* (c) batched:  the engine's loop on the K = 5 networks as one stacked model; and K = 10
                (the 5 networks x a grid of 2 learning rates)
* (d) 2 procs:  (b) in 2 processes at once, torch.set_num_threads(1) each; each process
                trains all 5 networks, so the machine runs a sweep of 10 configurations
* (e) planned:  what ``flows/sweep.py`` does with ``study.group: auto``: the 10 configurations
                of (c) cut into groups of the size :mod:`glorot.engine.grouping` measures fastest,
                the groups trained by as many threads as cores, 1 torch thread each

(a)-(c) run at torch's default thread count and at 1 thread (``[t=N]`` in the output).
Repeats are interleaved (a, b, c, d, a, b, ...) and the fastest of each is kept, since the
machine may be shared. Ratios are against (a) at the default thread count.

    python benchmarks/sweep_speed.py [--width 1000] [--depth 5] [--updates 20] [--repeats 3]
    python benchmarks/sweep_speed.py --width 200 --updates 50     # a quick run
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from baselines import engine_runner, time_glorot, time_naive

from glorot.config import build_config
from glorot.data import shapeset
from glorot.engine.grouping import choose_group_size
from glorot.paper.nets import MLP

TABLE1 = [("softsign", "standard"), ("softsign", "normalized"), ("tanh", "standard"),
          ("tanh", "normalized"), ("sigmoid", "standard")]
LRS = (0.01, 0.03)
BATCH = 10


def make_configs(n_lrs: int) -> list[tuple[str, str, float, int]]:
    """(activation, init, lr, seed) of the Table 1 networks, for the first ``n_lrs`` rates of :data:`LRS`."""
    return [(act, init, lr, seed) for seed, (act, init) in enumerate(TABLE1) for lr in LRS[:n_lrs]]


def make_batches(seed: int, updates: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    x, y = shapeset.generate(updates * BATCH, seed=1000 + seed)
    return list(zip(torch.from_numpy(x).split(BATCH), torch.from_numpy(y).split(BATCH)))


def make_net(cfg, depth: int, width: int) -> MLP:
    act, init, _, seed = cfg
    return MLP(1024, 9, depth, width, act, init, seed=seed)


def run_naive(cfgs, data, depth, width) -> float:
    return sum(time_naive(make_net(cfg, depth, width), batches, cfg[2]) for cfg, batches in zip(cfgs, data))


def run_glorot(cfgs, data, depth, width) -> float:
    return sum(time_glorot(make_net(cfg, depth, width), batches, cfg[2]) for cfg, batches in zip(cfgs, data))


def batched_runner(cfgs, data, nets):
    """A function that trains ``nets`` (of ``cfgs``, on ``data``) as one stacked model with the
    engine's step and returns its seconds (built outside the timing). The group is ordered by
    activation, then rate, as glorot.engine.loop.train_group orders it."""
    order = sorted(range(len(cfgs)), key=lambda k: (cfgs[k][0], cfgs[k][2]))
    return engine_runner([nets[k] for k in order], [data[k] for k in order], [cfgs[k][2] for k in order])


def run_batched(cfgs, data, depth, width) -> float:
    return batched_runner(cfgs, data, [make_net(cfg, depth, width) for cfg in cfgs])()


def planned_runner(cfgs, data, depth, width, size: int, workers: int):
    """(e): groups of ``size`` configurations, ``workers`` groups at once (1 torch thread each);
    nets and groups are built here, outside the timing."""
    nets = [make_net(cfg, depth, width) for cfg in cfgs]
    groups = [range(a, min(a + size, len(cfgs))) for a in range(0, len(cfgs), size)]
    if size == 1:
        jobs = [lambda k=g[0]: time_glorot(nets[k], data[k], cfgs[k][2]) for g in groups]
    else:
        jobs = [batched_runner([cfgs[k] for k in g], [data[k] for k in g], [nets[k] for k in g]) for g in groups]

    def run() -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda job: job(), jobs))
        return time.perf_counter() - start
    return run


def _worker(inbox, outbox, depth: int, width: int, updates: int) -> None:
    """One sweep process: 1 torch thread, trains the 5 networks with (b) on each command
    (the nets are built once, outside the timing)."""
    torch.set_num_threads(1)
    cfgs = make_configs(1)
    data = [make_batches(cfg[3], updates) for cfg in cfgs]
    nets = [make_net(cfg, depth, width) for cfg in cfgs]
    time_glorot(nets[0], data[0][:3], cfgs[0][2])  # warm-up
    outbox.put("ready")
    while inbox.get() == "run":
        start = time.time()
        for net, batches, cfg in zip(nets, data, cfgs):
            time_glorot(net, batches, cfg[2])
        outbox.put((start, time.time()))


class ProcessPair:
    """Two persistent worker processes started by a barrier-like command, timed in wall-clock time."""

    def __init__(self, depth: int, width: int, updates: int, n: int = 2) -> None:
        ctx = mp.get_context("spawn")
        self.inboxes = [ctx.Queue() for _ in range(n)]
        self.outbox = ctx.Queue()
        self.procs = [ctx.Process(target=_worker, args=(q, self.outbox, depth, width, updates), daemon=True)
                      for q in self.inboxes]
        for p in self.procs:
            p.start()
        for _ in self.procs:
            assert self.outbox.get(timeout=600) == "ready"

    def run(self) -> float:
        for q in self.inboxes:
            q.put("run")
        spans = [self.outbox.get(timeout=3600) for _ in self.procs]
        return max(end for _, end in spans) - min(start for start, _ in spans)

    def close(self) -> None:
        for q in self.inboxes:
            q.put("stop")
        for p in self.procs:
            p.join(timeout=30)


def update_flops(depth: int, width: int) -> float:
    """FLOPs of one update: forward, back-propagated deltas (not into the input) and weight gradients."""
    sizes = [1024] + [width] * depth + [9]
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * BATCH * (3 * macs - sizes[0] * sizes[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--updates", type=int, default=20, help="updates per configuration per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-processes", action="store_true", help="skip (d)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    d, w, u = args.depth, args.width, args.updates
    cfg5, cfg10 = make_configs(1), make_configs(2)
    data5 = [make_batches(c[3], u) for c in cfg5]
    data10 = [make_batches(c[3], u) for c in cfg10]  # the same batches for both learning rates of a net

    threads_list = sorted({default_threads, 1}, reverse=True)
    methods: dict[str, tuple] = {}
    for t in threads_list:
        methods[f"(a) naive, sequential [t={t}]"] = (t, run_naive, cfg5, data5)
        methods[f"(b) glorot, sequential [t={t}]"] = (t, run_glorot, cfg5, data5)
        methods[f"(c) batched K=5 [t={t}]"] = (t, run_batched, cfg5, data5)
        methods[f"(c) batched K=10 (lr grid) [t={t}]"] = (t, run_batched, cfg10, data10)
    cores = os.cpu_count() or 1
    torch.set_num_threads(1)
    size, measured = choose_group_size(build_config(width=w, depth=d, device="cpu"), 1024, 9, len(cfg10), cores)
    torch.set_num_threads(default_threads)
    print("glorot.engine.grouping measured (configuration-updates/s, " f"{cores} groups at once): "
          + ", ".join(f"K={k}: {r:.0f}" for k, r in measured.items()) + f" -> groups of {size}")
    planned = f"(e) planned: groups of {size}, {cores} at once x 1 thread"
    torch.set_num_threads(1)
    planned_run = planned_runner(cfg10, data10, d, w, size, cores)
    torch.set_num_threads(default_threads)
    methods[planned] = (1, lambda *_: planned_run(), cfg10, data10)
    pair = None if args.no_processes else ProcessPair(d, w, u)
    times: dict[str, list[float]] = {name: [] for name in methods}
    counts = {name: len(m[2]) * u for name, m in methods.items()}
    if pair:
        name = "(d) glorot, 2 processes x 1 thread"
        times[name], counts[name] = [], 2 * len(cfg5) * u

    for t in threads_list:  # warm-up
        torch.set_num_threads(t)
        run_glorot(cfg5[:1], [data5[0][:3]], d, w)
        run_batched(cfg5, [b[:2] for b in data5], d, w)
    for _ in range(args.repeats):
        for name, (t, fn, cfgs, data) in methods.items():
            torch.set_num_threads(t)
            times[name].append(fn(cfgs, data, d, w))
        if pair:
            times["(d) glorot, 2 processes x 1 thread"].append(pair.run())
    torch.set_num_threads(default_threads)
    if pair:
        pair.close()

    rate = {name: counts[name] / min(ts) for name, ts in times.items()}
    base = rate[f"(a) naive, sequential [t={default_threads}]"]
    base1 = rate["(a) naive, sequential [t=1]"]
    flops = update_flops(d, w)
    print(f"net 1024-{w}x{d}-9, batch {BATCH}, {u} updates per configuration, best of {args.repeats}; "
          f"torch default threads {default_threads}; {flops / 1e6:.0f} MFLOP per update")
    print(f"{'':48s} {'cfg-upd/s':>10s} {'GFLOP/s':>8s} {'vs (a)':>7s} {'vs (a) t=1':>10s}")
    for name, r in rate.items():
        print(f"{name:48s} {r:10.1f} {r * flops / 1e9:8.1f} {r / base:6.2f}x {r / base1:9.2f}x")


if __name__ == "__main__":
    main()
