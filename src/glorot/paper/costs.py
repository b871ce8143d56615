"""Training costs (paper, Sections 2.3 and 4.1), each returning the mini-batch mean cost
and its gradient with respect to the softmax layer's logits a (so that the mean gradient
over the mini-batch falls out of back-propagation, as in the paper's SGD).

* ``nll``        C = -log P(y | x) = -log softmax(a)_y;      dC/da = softmax(a) - onehot(y)
* ``quadratic``  C = sum_k (softmax(a)_k - onehot(y)_k)^2;   dC/da = p * (g - <g, p>), g = 2 (p - d)

The quadratic cost is the one whose flatter plateaus the paper shows in Figure 5.

Each cost takes the logits of one net, ``(B, C)`` with labels ``(B,)``, or of K nets
trained together, ``(K, B, C)`` with labels ``(K, B)``; it returns the mean cost (a scalar,
or one per net) and the gradient shaped like the logits. Every net's numbers are those it
would get alone: the element-wise parts act row by row either way, and the mean of
``nll`` is taken per net by the same reduction as for a single net.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _per_net(loss_of_one, *tensors: torch.Tensor) -> torch.Tensor:
    """``loss_of_one`` of a single net's tensors, or of each of K nets stacked along dim 0."""
    if tensors[0].dim() == 2:
        return loss_of_one(*tensors)
    return torch.stack([loss_of_one(*parts) for parts in zip(*tensors)])


def _minus_one_at_labels_(grad: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``grad - onehot(y)`` in place, along the last dimension."""
    return grad.scatter_add_(-1, y.unsqueeze(-1), torch.full_like(y, -1, dtype=grad.dtype).unsqueeze(-1))


def nll(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean negative log-likelihood of ``y`` and its gradient w.r.t. ``logits``."""
    log_p = F.log_softmax(logits, dim=-1)
    loss = _per_net(F.nll_loss, log_p, y)
    grad = _minus_one_at_labels_(log_p.exp_(), y)
    return loss, grad.div_(y.shape[-1])


def quadratic(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error between softmax outputs and one-hot targets, and its logit gradient."""
    p = torch.softmax(logits, dim=-1)
    g = _minus_one_at_labels_(p.clone(), y).mul_(2)
    loss = (g * g).sum(-1).mean(-1) / 4
    grad = p * (g - (g * p).sum(-1, keepdim=True))
    return loss, grad.div_(y.shape[-1])


COSTS = {"nll": nll, "quadratic": quadratic}


def get_cost(name: str):
    """The cost function called ``name``; an unknown name is an error listing the valid ones."""
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"unknown cost {name!r}; valid: {', '.join(COSTS)}") from None
