"""Can the data keep up with training? Images/s of the data paths against what training
consumes (updates/s x batch size), measured in one run.

* Shapeset generator: ``glorot.data.shapeset.generate`` (images/s)
* Shapeset training stream: ``load_data(...).train_stream(seed, 10)``, the online stream a
  Shapeset run trains on (generation in chunks of 10,000 images plus slicing; images/s)
* Prepared image sets: ``EpochStream`` over random arrays of MNIST size (50,000 x 784) and
  CIFAR-10 size (40,000 x 3,072) (batches/s, and images/s), including the
  ``torch.from_numpy`` the trainer applies
* Training: the engine's loop (baselines.time_glorot) on the 1024-width x depth-9
  net at batch 10, at torch's default thread count and at 1 thread
* Lookahead: the online stream generating its next chunk in a background thread (the
  default) against the same without (``ShapesetStream(lookahead=False)``), (i) feeding
  1-thread training of a narrower net (``--lookahead-width``, where generation matters),
  (ii) as K = 4 streams read in turn, as a group's prefetch reads them (images/s)

Every data rate is printed as a multiple of the fastest training consumption measured,
so a ratio above 1 means the data path is not the bottleneck.

    python benchmarks/data_speed.py [--width 1000] [--depth 5] [--updates 30] [--repeats 3]
                                    [--lookahead-width 200] [--lookahead-updates 3000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from baselines import time_glorot

from glorot.config import build_config
from glorot.data import shapeset
from glorot.data.sources import SHAPESET_CHUNK, EpochStream, load_data
from glorot.engine.stacked import BatchedMLP
from glorot.engine.steps import feed, make_step
from glorot.paper.nets import MLP

BATCH = 10
IMAGE_SETS = {"mnist (50000x784)": (50_000, 784), "cifar10 (40000x3072)": (40_000, 3072)}


def time_generate(n: int, seed: int) -> float:
    start = time.perf_counter()
    shapeset.generate(n, seed)
    return time.perf_counter() - start


def time_stream(stream, n_batches: int) -> float:
    start = time.perf_counter()
    for _ in range(n_batches):
        xb, yb = next(stream)
        torch.from_numpy(xb), torch.from_numpy(yb)
    return time.perf_counter() - start


def time_training(depth: int, width: int, updates: int, threads: int) -> float:
    torch.set_num_threads(threads)
    net = MLP(1024, 9, depth, width, "tanh", "standard", seed=0)
    x, y = shapeset.generate(updates * BATCH, seed=3)
    return time_glorot(net, list(zip(torch.from_numpy(x).split(BATCH), torch.from_numpy(y).split(BATCH))), 0.01)


def time_stream_training(depth: int, width: int, updates: int, lookahead: bool) -> float:
    """Seconds of 1-thread training on a fresh online Shapeset stream (generation included)."""
    torch.set_num_threads(1)
    net = MLP(1024, 9, depth, width, "tanh", "standard", seed=0)
    stream = shapeset.ShapesetStream(seed=7, batch_size=BATCH, chunk=SHAPESET_CHUNK, lookahead=lookahead)
    step = make_step(BatchedMLP([net]), [0.01], "nll", BATCH, 1024)
    start = time.perf_counter()  # the batches are drawn inside the timing, as the training loop draws them
    with torch.no_grad():
        feed(step, [stream], updates, torch.device("cpu"))
        step.read()
    return time.perf_counter() - start


def time_group_streams(k: int, batches: int, lookahead: bool) -> float:
    """Seconds to read ``batches`` batches from each of ``k`` fresh online streams in turn."""
    streams = [shapeset.ShapesetStream(seed=s, batch_size=BATCH, chunk=SHAPESET_CHUNK, lookahead=lookahead)
               for s in range(k)]
    start = time.perf_counter()
    for _ in range(batches):
        for stream in streams:
            next(stream)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--updates", type=int, default=30, help="training updates timed per repeat")
    parser.add_argument("--images", type=int, default=10_000, help="Shapeset images generated per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lookahead-width", type=int, default=200)
    parser.add_argument("--lookahead-updates", type=int, default=3000, help="3 chunks of 10,000 images at batch 10")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    threads = sorted({default_threads, 1}, reverse=True)

    data = load_data(build_config(valid_size=10, test_size=10))
    rng = np.random.default_rng(0)
    sets = {name: (rng.uniform(-1, 1, size=shape).astype(np.float32), rng.integers(0, 10, shape[0]))
            for name, shape in IMAGE_SETS.items()}
    # The stream generates whole chunks of SHAPESET_CHUNK images: time whole chunks.
    stream_batches = math.ceil(args.images / SHAPESET_CHUNK) * SHAPESET_CHUNK // BATCH

    time_generate(500, seed=1)  # warm-up
    time_training(args.depth, args.width, 3, default_threads)
    gen, stream, epoch = [], [], {name: [] for name in sets}
    train_times = {t: [] for t in threads}
    lookahead: dict[bool, list[float]] = {True: [], False: []}
    group_streams: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.repeats):
        gen.append(time_generate(args.images, seed=10 + r))
        # A fresh stream per repeat, so each repeat pays for generating its chunks.
        stream.append(time_stream(data.train_stream(100 + r, BATCH), stream_batches))
        for name, (x, y) in sets.items():
            # 2 passes' worth of batches: includes drawing the second pass's permutation.
            s = EpochStream(x, y, seed=r, batch_size=BATCH)
            epoch[name].append((time_stream(s, 2 * s.per_epoch), 2 * s.per_epoch))
        for t in threads:
            train_times[t].append(time_training(args.depth, args.width, args.updates, t))
        for ahead in (True, False):
            lookahead[ahead].append(time_stream_training(args.depth, args.lookahead_width, args.lookahead_updates,
                                                         ahead))
            group_streams[ahead].append(time_group_streams(4, args.lookahead_updates, ahead))
    torch.set_num_threads(default_threads)

    upd = {t: args.updates / min(ts) for t, ts in train_times.items()}
    consumed = max(upd.values()) * BATCH
    print(f"net 1024-{args.width}x{args.depth}-9, batch {BATCH}, best of {args.repeats}; "
          f"torch default threads {default_threads}")
    for t, u in upd.items():
        print(f"{f'training [t={t}]':34s} {u:9.1f} updates/s = {u * BATCH:.0f} images/s consumed")
    g = args.images / min(gen)
    s = stream_batches * BATCH / min(stream)
    print(f"{'shapeset.generate':34s} {g:9.0f} images/s   {g / consumed:8.1f}x training")
    print(f"{'shapeset train_stream':34s} {s:9.0f} images/s   {s / consumed:8.1f}x training")
    for name, runs in epoch.items():
        n = runs[0][1]
        bps = n / min(t for t, _ in runs)
        print(f"{'EpochStream ' + name:34s} {bps:9.0f} batches/s = {bps * BATCH:.0f} images/s   "
              f"{bps * BATCH / consumed:.1f}x training")
    on, off = (args.lookahead_updates / min(lookahead[a]) for a in (True, False))
    print(f"training on the online stream [t=1, 1024-{args.lookahead_width}x{args.depth}-9, "
          f"{args.lookahead_updates} updates]: lookahead {on:.1f} vs none {off:.1f} updates/s, {on / off:.2f}x")
    on, off = (4 * args.lookahead_updates * BATCH / min(group_streams[a]) for a in (True, False))
    print(f"4 online streams read in turn [{args.lookahead_updates} batches each]: lookahead {on:.0f} vs none "
          f"{off:.0f} images/s, {on / off:.2f}x")


if __name__ == "__main__":
    main()
