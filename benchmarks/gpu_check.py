"""The engine's speed on a GPU, as a JSON summary (its correctness there: tests/unit/test_gpu.py).

1. Speed on the ``1024-1000x5-9`` net at batch 10 (random batches already on the GPU):
   single configuration, updates/s, eager with ``loss.item()`` after every update (the
   baseline: the paper's written-out step on one net, as the trainer ran before the one
   engine) vs eager without it vs the engine's loop (:func:`glorot.engine.steps.run` over
   the device step, eager or captured in a CUDA graph); and batched configuration-updates/s
   for K = 5, 20, 100, eager vs graph. Ratios are against the baseline measured in the same run.
2. The pipeline's trainer, :func:`glorot.engine.loop.train_group` as a sweep runs it on the
   device (sync-free loop, CUDA graph, batches prefetched): its end-to-end speed at the
   paper's width, K configurations, on a pre-generated Shapeset pool and on the online
   Shapeset stream (which shows what the CPU generator allows).

On a machine without CUDA it prints ``no CUDA, skipped`` and a JSON line saying so
(``--cpu-dry-run`` runs the script's own plumbing on the CPU at tiny sizes, without graphs).

    python benchmarks/gpu_check.py [--updates 200] [--ks 5,20,100] [--trainer-k 20] [--trainer-updates 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time

import torch

from glorot.paper.backprop import sgd_step
from glorot.engine.stacked import BatchedMLP
from glorot.config import build_config
from glorot.paper.costs import nll
from glorot.engine.steps import DeviceStep, GraphedStep, run
from glorot.data import shapeset
from glorot.data.sources import EpochStream, load_data
from glorot.engine.loop import train_group
from glorot.paper.nets import MLP

#: The Table 1 networks (and a relu one) that the K configurations cycle through.
NETS = [("softsign", "standard"), ("softsign", "normalized"), ("tanh", "standard"), ("tanh", "normalized"),
        ("sigmoid", "standard")]
BATCH = 10


def _nets(rows, width: int, device) -> list[MLP]:
    return [MLP(1024, 9, 5, width, act, init, seed=k).to(device) for k, (act, init, _) in enumerate(rows)]


def _single_run(net: MLP, x: torch.Tensor, y: torch.Tensor, lr: float) -> int:
    """The baseline: the paper's written-out step on one net with ``loss.item()`` after every
    update, as the trainer ran before the one engine; the update at which it diverged, or 0."""
    with torch.no_grad():
        for u in range(len(x)):
            zs = net.forward_trace(x[u])
            loss, grad = nll(zs[-1], y[u])
            if not math.isfinite(loss.item()):
                return u + 1
            sgd_step(net, zs, grad, lr)
    return 0


def _pooled(settings: dict, n: int):
    """Shapeset data whose training batches come from a pre-generated pool of ``n`` images."""
    bundle = load_data(build_config(**settings))
    x, y = shapeset.generate(n, seed=99)
    return dataclasses.replace(bundle, stream_factory=lambda seed, batch: EpochStream(x, y, seed, batch))


def trainer_speed(width: int, updates: int, k: int, device: torch.device) -> dict:
    """End-to-end configuration-updates/s of train_group (evaluations at the start and the end,
    probes too), on a pre-generated pool and on the online Shapeset stream."""
    settings = dict(depth=5, width=width, updates=updates, eval_every=updates, probe_every=0, probe_size=100,
                    valid_size=1000, test_size=1000, device=device.type)
    configs = [build_config(**dict(settings, activation=NETS[i % 5][0], init=NETS[i % 5][1], lr=1e-3, seed=i))
               for i in range(k)]
    out = {"width": width, "updates": updates, "k": k}
    for name, data in (("pool", _pooled(settings, 20000)), ("online_shapeset", load_data(configs[0]))):
        seconds = _timed(lambda: train_group(configs, data, sync_free=True), device)
        out[f"{name}_cfg_updates_per_s"] = round(k * updates / seconds, 1)
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def speed(updates: int, ks: list[int], repeats: int, gpu: torch.device, width: int = 1000) -> dict:
    graphs = gpu.type == "cuda"
    rows = [("tanh", "normalized", 0.01)]

    def batch(k: int):
        g = torch.Generator(device=gpu).manual_seed(k)
        return (torch.rand(updates, k, BATCH, 1024, device=gpu, generator=g) * 2 - 1,
                torch.randint(0, 9, (updates, k, BATCH), device=gpu, generator=g))

    x1, y1 = batch(1)
    net = _nets(rows, width, gpu)[0]

    def eager_item():
        _single_run(net, x1[:, 0], y1[:, 0], 1e-4)

    def eager_nosync():
        with torch.no_grad():
            for u in range(updates):
                zs = net.forward_trace(x1[u, 0])
                _, grad = nll(zs[-1], y1[u, 0])
                sgd_step(net, zs, grad, 1e-4)

    def device_step(rows_k):
        return DeviceStep(BatchedMLP(_nets(rows_k, width, gpu)), [r[2] for r in rows_k], "nll", BATCH, 1024)

    one = device_step(rows)
    modes = {"single_eager_item": eager_item, "single_eager_nosync": eager_nosync,
             "single_device_step_eager": lambda: run(one, x1, y1)}
    if graphs:
        one_graph = GraphedStep(device_step(rows))
        modes["single_graph"] = lambda: run(one_graph, x1, y1)
    counts = {name: updates for name in modes}
    for k in ks:
        # Ordered by activation, as train_group orders a group: one view per activation.
        rows_k = sorted([(*NETS[i % 5], 1e-4) for i in range(k)])
        xk, yk = batch(k)
        eager = device_step(rows_k)
        modes[f"batched_K{k}_eager"] = lambda s=eager, x=xk, y=yk: run(s, x, y)
        counts[f"batched_K{k}_eager"] = updates * k
        if graphs:
            graph = GraphedStep(device_step(rows_k))
            modes[f"batched_K{k}_graph"] = lambda s=graph, x=xk, y=yk: run(s, x, y)
            counts[f"batched_K{k}_graph"] = updates * k
    for fn in modes.values():  # warm-up
        fn()
    times = {name: [] for name in modes}
    for _ in range(repeats):
        for name, fn in modes.items():
            times[name].append(_timed(fn, gpu))
    rates = {name: counts[name] / min(ts) for name, ts in times.items()}
    base = rates["single_eager_item"]
    return {name: {"cfg_updates_per_s": round(r, 1), "vs_single_eager_item": round(r / base, 2)}
            for name, r in rates.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200, help="updates per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="5,20,100", help="batched group sizes to time")
    parser.add_argument("--trainer-k", type=int, default=20, help="configurations in the trainer's speed run")
    parser.add_argument("--trainer-updates", type=int, default=1000, help="updates of the trainer's speed run")
    parser.add_argument("--cpu-dry-run", action="store_true",
                        help="run the script's plumbing on the CPU at tiny sizes (no graphs); for testing the script")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",") if k]
    if args.cpu_dry_run:
        torch.set_num_threads(1)
        cpu = torch.device("cpu")
        out = {"cuda": False, "dry_run": True,
               "trainer_speed": trainer_speed(64, args.trainer_updates, args.trainer_k, cpu),
               "speed": speed(args.updates, ks, 1, cpu, width=64)}
        print(json.dumps(out, indent=1))
        return 0
    if not torch.cuda.is_available():
        print("no CUDA, skipped")
        print(json.dumps({"cuda": False, "skipped": "no CUDA"}))
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(1)  # the CPU reference: deterministic, and fast on a shared machine
    summary = {"cuda": True, "device": torch.cuda.get_device_name(), "torch": torch.__version__}
    gpu = torch.device("cuda")
    summary["speed"] = speed(args.updates, ks, args.repeats, gpu)
    print(json.dumps({"speed": summary["speed"]}), flush=True)
    summary["trainer_speed"] = trainer_speed(1000, args.trainer_updates, args.trainer_k, gpu)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
