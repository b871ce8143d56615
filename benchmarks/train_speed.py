"""Speed of the project's trainer against a naive PyTorch loop, measured in one process.

The net is the paper's 1024-1000x5-9 tanh network at mini-batch 10. Both loops consume
the same pre-generated Shapeset batches, so the ratio isolates the training step:

* naive:     nn.Sequential + torch.optim.SGD + nn.CrossEntropyLoss, autograd backward
* reference: MLP.forward_trace + costs.nll + backprop.sgd_step, the paper's written-out
             step on one net (what the trainer ran before the one engine)
* glorot:    the engine's loop (glorot.engine.steps.feed), what ``glorot train`` runs

Repeats are interleaved and the fastest of each is kept. Also printed: the probe overhead at the default probe interval (one probe's cost over the
cost of the updates between two probes) and the Shapeset generator's images/s.

    .venv/bin/python benchmarks/train_speed.py [--updates 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from baselines import time_glorot, time_naive, time_reference

from glorot.config import TrainConfig
from glorot.data import shapeset
from glorot.paper.nets import MLP
from glorot.paper.probes import probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = TrainConfig()
    x, y = shapeset.generate(args.updates * cfg.batch_size, seed=0)
    batches = list(zip(torch.from_numpy(x).split(cfg.batch_size), torch.from_numpy(y).split(cfg.batch_size)))
    make = lambda: MLP(1024, 9, cfg.depth, cfg.width, "tanh", "standard", seed=0)  # noqa: E731
    time_glorot(make(), batches[:20], cfg.lr)  # warm-up
    naive_times, ref_times, our_times = [], [], []
    for _ in range(args.repeats):  # interleaved, so that a burst of load hits all three
        naive_times.append(time_naive(make(), batches, cfg.lr))
        ref_times.append(time_reference(make(), batches, cfg.lr))
        our_times.append(time_glorot(make(), batches, cfg.lr))
    naive, ref, ours = min(naive_times), min(ref_times), min(our_times)
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"naive loop:    {args.updates / naive:8.1f} updates/s")
    print(f"reference:     {args.updates / ref:8.1f} updates/s   ratio {naive / ref:.2f}x")
    print(f"glorot:        {args.updates / ours:8.1f} updates/s   ratio {naive / ours:.2f}x   "
          f"({ref / ours:.2f}x the reference step)")

    net, px, py = make(), torch.from_numpy(x[:cfg.probe_size]), torch.from_numpy(y[:cfg.probe_size])
    start = time.perf_counter()
    probe(net, px, py, 0, cfg.cost, cfg.jac_examples)
    one_probe = time.perf_counter() - start
    between = ours / args.updates * cfg.probe_every
    print(f"probe:         {one_probe:8.3f} s each, every {cfg.probe_every} updates "
          f"-> overhead {one_probe / between:.1%}")

    n = 20_000
    shapeset.generate(1000, seed=1)
    start = time.perf_counter()
    shapeset.generate(n, seed=2)
    gen = n / (time.perf_counter() - start)
    print(f"shapeset:      {gen:8.0f} images/s   ({gen / (cfg.batch_size * args.updates / ours):.0f}x what training consumes)")


if __name__ == "__main__":
    main()
