"""One script for a GPU machine: correctness against the CPU, then speed, as a JSON summary.

1. Correctness. The Table 1 networks (and one relu net with lr 1e6 that must diverge) on a
   ``1024-check_width x 5-9`` net, ``--check-updates`` updates on their own Shapeset
   batches, trained (i) on the CPU one by one with glorot's step (the reference),
   (ii) on the GPU one by one (eager), (iii) on the GPU as one batched model, eager
   (:class:`glorot.engine.steps.DeviceStep`), (iv) the same captured in a CUDA graph
   (:class:`glorot.engine.steps.GraphedStep`). TF32 is switched off. For each GPU mode: the
   largest difference of any weight from the CPU's, relative to that tensor's largest
   weight, over the slices that completed, and whether every slice diverged (or not) at
   the same update as on the CPU.
2. The pipeline's trainer: :func:`glorot.engine.loop.train_group` as a sweep runs it on
   the device (sync-free loop, CUDA graph, batches prefetched), on the same six
   configurations with evaluations and probes, against :func:`glorot.engine.loop.train` on the
   CPU per configuration: same status and divergence update, curves within one example
   of the evaluation sets, weights within 1e-3. Then its end-to-end speed at the paper's
   width, K configurations, on a pre-generated Shapeset pool and on the online Shapeset
   stream (which shows what the CPU generator allows).
3. Speed on the ``1024-1000x5-9`` net at batch 10 (random batches already on the GPU):
   single configuration, updates/s, eager with ``loss.item()`` after every update (what
   :func:`glorot.engine.loop.train` does) vs eager without it vs graph; and batched
   configuration-updates/s for K = 5, 20, 100, eager vs graph. Ratios are against the
   single-configuration eager step measured in the same run.

On a machine without CUDA it prints ``no CUDA, skipped`` and a JSON line saying so
(``--cpu-dry-run`` runs the script's own plumbing on the CPU at tiny sizes, without graphs).
Exit status 1 if the correctness check fails.

    python benchmarks/gpu_check.py [--check-width 256] [--check-updates 300] [--updates 200] [--ks 5,20,100]
                                   [--trainer-k 20] [--trainer-updates 1000]
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
from glorot.engine.loop import train

CHECK = [("softsign", "standard", 0.01), ("softsign", "normalized", 0.01), ("tanh", "standard", 0.01),
         ("tanh", "normalized", 0.01), ("sigmoid", "standard", 0.1), ("relu", "he", 1e6)]
BATCH = 10


def _nets(rows, width: int, device) -> list[MLP]:
    return [MLP(1024, 9, 5, width, act, init, seed=k).to(device) for k, (act, init, _) in enumerate(rows)]


def _single_run(net: MLP, x: torch.Tensor, y: torch.Tensor, lr: float) -> int:
    """glorot's single-configuration loop; the update at which it diverged, or 0."""
    with torch.no_grad():
        for u in range(len(x)):
            zs = net.forward_trace(x[u])
            loss, grad = nll(zs[-1], y[u])
            if not math.isfinite(loss.item()):
                return u + 1
            sgd_step(net, zs, grad, lr)
    return 0


def _max_rel_diff(nets, refs, completed) -> float:
    worst = 0.0
    for net, ref, ok in zip(nets, refs, completed):
        if not ok:
            continue
        for p, q in zip(net.parameters(), ref.parameters()):
            q = q.detach()
            worst = max(worst, float((p.detach().cpu() - q).abs().max()) / max(float(q.abs().max()), 1e-12))
    return worst


def check(width: int, updates: int, gpu: torch.device) -> dict:
    cpu = torch.device("cpu")
    data = [shapeset.generate(updates * BATCH, seed=500 + k) for k in range(len(CHECK))]
    xs = [torch.from_numpy(x).view(updates, BATCH, -1) for x, _ in data]
    ys = [torch.from_numpy(y).view(updates, BATCH) for _, y in data]
    lrs = [lr for _, _, lr in CHECK]

    refs = _nets(CHECK, width, cpu)
    ref_div = [_single_run(net, x, y, lr) for net, x, y, lr in zip(refs, xs, ys, lrs)]
    completed = [d == 0 for d in ref_div]
    out: dict = {"width": width, "updates": updates, "cpu_diverged_at": ref_div}

    singles = _nets(CHECK, width, gpu)
    div = [_single_run(net, x.to(gpu), y.to(gpu), lr) for net, x, y, lr in zip(singles, xs, ys, lrs)]
    out["gpu_single"] = {"max_rel_diff": _max_rel_diff(singles, refs, completed), "same_divergence": div == ref_div}

    bx = torch.stack(xs, 1).to(gpu)  # (updates, K, B, D)
    by = torch.stack(ys, 1).to(gpu)
    modes = ["gpu_single", "gpu_batched_eager"] + (["gpu_batched_graph"] if gpu.type == "cuda" else [])
    for mode in modes[1:]:
        nets = _nets(CHECK, width, gpu)
        step = DeviceStep(BatchedMLP(nets), lrs, "nll", BATCH, 1024)
        if mode.endswith("graph"):
            step = GraphedStep(step)
        run(step, bx, by)
        book = step.read()
        out[mode] = {"max_rel_diff": _max_rel_diff(nets, refs, completed),
                     "same_divergence": book.diverged_at == ref_div}
    out["pass"] = all(out[m]["max_rel_diff"] <= 1e-3 and out[m]["same_divergence"] for m in modes)
    return out


def _pooled(settings: dict, n: int):
    """Shapeset data whose training batches come from a pre-generated pool of ``n`` images."""
    bundle = load_data(build_config(**settings))
    x, y = shapeset.generate(n, seed=99)
    return dataclasses.replace(bundle, stream_factory=lambda seed, batch: EpochStream(x, y, seed, batch))


def trainer_check(width: int, updates: int, device: torch.device) -> dict:
    """train_group on ``device`` (the sweep's path there) against train() on the CPU."""
    settings = dict(depth=5, width=width, updates=updates, eval_every=max(1, updates // 3),
                    probe_every=max(1, updates // 2), probe_size=100, valid_size=1000, test_size=1000, device="cpu")
    data = _pooled(settings, 5000)
    configs = [build_config(**dict(settings, activation=a, init=i, lr=lr, seed=k))
               for k, (a, i, lr) in enumerate(CHECK)]
    on_device = train_group([c.model_copy(update={"device": device.type}) for c in configs], data,
                            sync_free=True)
    out = {"width": width, "updates": updates, "configs": []}
    for config, (net, res) in zip(configs, on_device):
        ref_net, ref = train(config, data, progress=False)
        row = {"status": [res.status, ref.status], "diverged_at": [res.diverged_at, ref.diverged_at],
               "curve_updates_equal": [c["update"] for c in res.curve] == [c["update"] for c in ref.curve],
               "max_valid_error_diff": max((abs(a["valid/error"] - b["valid/error"])
                                            for a, b in zip(res.curve, ref.curve)), default=0.0)}
        row["max_rel_diff"] = _max_rel_diff([net], [ref_net], [ref.status == "completed"])
        row["pass"] = (res.status == ref.status and res.diverged_at == ref.diverged_at and row["curve_updates_equal"]
                       and row["max_valid_error_diff"] <= 1 / 1000 + 1e-12 and row["max_rel_diff"] <= 1e-3)
        out["configs"].append(row)
    out["pass"] = all(r["pass"] for r in out["configs"])
    return out


def trainer_speed(width: int, updates: int, k: int, device: torch.device) -> dict:
    """End-to-end configuration-updates/s of train_group (evaluations at the start and the end,
    probes too), on a pre-generated pool and on the online Shapeset stream."""
    settings = dict(depth=5, width=width, updates=updates, eval_every=updates, probe_every=0, probe_size=100,
                    valid_size=1000, test_size=1000, device=device.type)
    configs = [build_config(**dict(settings, activation=CHECK[i % 5][0], init=CHECK[i % 5][1], lr=1e-3, seed=i))
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
        rows_k = sorted([(CHECK[i % 5][0], CHECK[i % 5][1], 1e-4) for i in range(k)])
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
    parser.add_argument("--check-width", type=int, default=256)
    parser.add_argument("--check-updates", type=int, default=300)
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
        out = {"cuda": False, "dry_run": True, "check": check(args.check_width, args.check_updates, cpu),
               "trainer_check": trainer_check(args.check_width, args.check_updates, cpu),
               "trainer_speed": trainer_speed(64, args.trainer_updates, args.trainer_k, cpu),
               "speed": speed(args.updates, ks, 1, cpu, width=64)}
        print(json.dumps(out, indent=1))
        return 0 if out["check"]["pass"] and out["trainer_check"]["pass"] else 1
    if not torch.cuda.is_available():
        print("no CUDA, skipped")
        print(json.dumps({"cuda": False, "skipped": "no CUDA"}))
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(1)  # the CPU reference: deterministic, and fast on a shared machine
    summary = {"cuda": True, "device": torch.cuda.get_device_name(), "torch": torch.__version__}
    gpu = torch.device("cuda")
    summary["check"] = check(args.check_width, args.check_updates, gpu)
    print(json.dumps({"check": summary["check"]}), flush=True)
    summary["trainer_check"] = trainer_check(args.check_width, args.check_updates, gpu)
    print(json.dumps({"trainer_check": summary["trainer_check"]}), flush=True)
    summary["speed"] = speed(args.updates, ks, args.repeats, gpu)
    print(json.dumps({"speed": summary["speed"]}), flush=True)
    summary["trainer_speed"] = trainer_speed(1000, args.trainer_updates, args.trainer_k, gpu)
    print(json.dumps(summary, indent=1))
    return 0 if summary["check"]["pass"] and summary["trainer_check"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
