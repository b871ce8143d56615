"""Back-propagation written out as in the paper (Section 4.2.1, eqs. 2-3), without autograd.

For a net z^i = f(s^i), s^i = z^{i-1} W^i + b^i:

    dC/ds^i   = f'(s^i) * (dC/ds^{i+1} W^{i+1}^T)        (eq. 2)
    dC/dW^i   = z^{i-1}^T dC/ds^i                        (eq. 3)

Writing it out gives the diagnostics of :mod:`glorot.paper.probes` the exact quantities the
paper plots, and lets :func:`sgd_step` fuse each weight gradient into its update
(W <- W - eps dC/dW in one in-place matrix product) with no gradient buffers.
"""

from __future__ import annotations

import torch

from glorot.paper.nets import MLP


def deltas(net: MLP, zs: list[torch.Tensor], grad_logits: torch.Tensor) -> list[torch.Tensor]:
    """[dC/ds^1, ..., dC/ds^depth, dC/da] for the trace ``zs`` of :meth:`MLP.forward_trace`."""
    out = [grad_logits]
    for i in range(net.depth, 0, -1):
        back = out[0] @ net.layers[i].weight
        out.insert(0, back.mul_(net.act.grad_from_output(zs[i])))
    return out


def weight_grad(zs: list[torch.Tensor], ds: list[torch.Tensor], layer: int) -> torch.Tensor:
    """dC/dW of ``layers[layer]`` (shaped like its weight, out x in), eq. (3)."""
    return ds[layer].t() @ zs[layer]


@torch.no_grad()
def sgd_step(net: MLP, zs: list[torch.Tensor], grad_logits: torch.Tensor, lr: float) -> None:
    """One plain SGD update theta <- theta - lr * g from the top layer down (paper, Section 2.3).

    Each layer's delta for the layer below is computed before that layer's weights change,
    so the update equals the one from the gradient of the pre-update parameters.
    """
    delta = grad_logits
    for i in range(net.depth, -1, -1):
        layer = net.layers[i]
        below = (delta @ layer.weight).mul_(net.act.grad_from_output(zs[i])) if i > 0 else None
        layer.weight.addmm_(delta.t(), zs[i], alpha=-lr)
        layer.bias.sub_(delta.sum(0), alpha=lr)
        delta = below
