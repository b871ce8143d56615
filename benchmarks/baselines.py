"""The loops the benchmarks time, on the same weights and batches.

* naive:     the textbook nn.Sequential + torch.optim.SGD + nn.CrossEntropyLoss with autograd
* reference: MLP.forward_trace + costs.nll + backprop.sgd_step, the paper's written-out step
             (Section 4.2.1) on one net, which is what the trainer ran before the one engine
* glorot:    the training engine's own loop (glorot.engine.steps.feed: the batches drawn from
             the configurations' streams and prefetched, the device's step from make_step --
             the eager CPU step or the CUDA-graph step on a GPU -- on K >= 1 stacked nets, the
             bookkeeping read back), what glorot.engine.train_group runs between two actions
"""

from __future__ import annotations

import time

import torch
from torch import nn

from glorot.engine.stacked import BatchedMLP
from glorot.engine.steps import feed, make_step
from glorot.paper.backprop import sgd_step
from glorot.paper.costs import nll
from glorot.paper.nets import MLP

TORCH_ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softsign": nn.Softsign}


def naive_twin(net: MLP) -> nn.Sequential:
    """The textbook nn.Sequential with ``net``'s weights."""
    mods: list[nn.Module] = []
    for layer in net.hidden:
        mods += [nn.Linear(layer.in_features, layer.out_features), TORCH_ACTIVATIONS[net.act.name]()]
    mods.append(nn.Linear(net.layers[-1].in_features, net.layers[-1].out_features))
    seq = nn.Sequential(*mods)
    for dst, src in zip((m for m in seq if isinstance(m, nn.Linear)), net.layers):
        dst.load_state_dict(src.state_dict())
    return seq


def time_naive(net: MLP, batches, lr: float) -> float:
    """Seconds the naive loop takes over ``batches``, starting from ``net``'s weights."""
    seq = naive_twin(net)
    opt, loss_fn = torch.optim.SGD(seq.parameters(), lr=lr), nn.CrossEntropyLoss()
    start = time.perf_counter()
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(seq(x), y)
        loss.backward()
        loss.item()
        opt.step()
    return time.perf_counter() - start


def time_reference(net: MLP, batches, lr: float) -> float:
    """Seconds the paper's written-out step takes over ``batches`` (it updates ``net`` in place)."""
    start = time.perf_counter()
    with torch.no_grad():
        for x, y in batches:
            zs = net.forward_trace(x)
            loss, grad = nll(zs[-1], y)
            loss.item()
            sgd_step(net, zs, grad, lr)
    return time.perf_counter() - start


def engine_runner(nets: list[MLP], batches: list, lrs: list[float]):
    """A function that runs the engine's loop over ``batches`` (one list per net, of equal
    length, served as the nets' streams) for ``nets`` stacked as one model, and returns its
    seconds; the model, the step and the batches as arrays are made here, outside the timing."""
    x, device = batches[0][0][0], nets[0].layers[0].weight.device
    step = make_step(BatchedMLP(nets), lrs, "nll", x.shape[0], x.shape[1])
    arrays = [[(xb.numpy(), yb.numpy()) for xb, yb in b] for b in batches]

    def timed() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            feed(step, [iter(a) for a in arrays], len(arrays[0]), device)
            step.read()
        return time.perf_counter() - start
    return timed


def time_glorot(net: MLP, batches, lr: float) -> float:
    """Seconds the engine's step takes over ``batches`` for one net (it updates ``net`` in place)."""
    return engine_runner([net], [batches], [lr])()
