"""The loops the benchmarks compare against, on the same weights and batches as glorot's.

* naive:  the textbook nn.Sequential + torch.optim.SGD + nn.CrossEntropyLoss with autograd
* glorot: MLP.forward_trace + costs.nll + backprop.sgd_step (the project's training step)
"""

from __future__ import annotations

import time

import torch
from torch import nn

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


def time_glorot(net: MLP, batches, lr: float) -> float:
    """Seconds glorot's training step takes over ``batches`` (it updates ``net`` in place)."""
    start = time.perf_counter()
    with torch.no_grad():
        for x, y in batches:
            zs = net.forward_trace(x)
            loss, grad = nll(zs[-1], y)
            loss.item()
            sgd_step(net, zs, grad, lr)
    return time.perf_counter() - start
