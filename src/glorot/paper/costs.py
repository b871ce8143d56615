"""Training costs (paper, Sections 2.3 and 4.1), each returning the mini-batch mean cost
and its gradient with respect to the softmax layer's logits a (so that the mean gradient
over the mini-batch falls out of back-propagation, as in the paper's SGD).

* ``nll``        C = -log P(y | x) = -log softmax(a)_y;      dC/da = softmax(a) - onehot(y)
* ``quadratic``  C = sum_k (softmax(a)_k - onehot(y)_k)^2;   dC/da = p * (g - <g, p>), g = 2 (p - d)

The quadratic cost is the one whose flatter plateaus the paper shows in Figure 5.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F



def nll(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean negative log-likelihood of ``y`` and its gradient w.r.t. ``logits``."""
    log_p = F.log_softmax(logits, dim=1)
    loss = F.nll_loss(log_p, y)
    grad = log_p.exp_()
    grad[torch.arange(len(y)), y] -= 1.0
    return loss, grad.div_(len(y))


def quadratic(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error between softmax outputs and one-hot targets, and its logit gradient."""
    p = torch.softmax(logits, dim=1)
    g = 2 * (p - F.one_hot(y, logits.shape[1]).to(p.dtype))
    loss = (g * g).sum(1).mean() / 4
    grad = p * (g - (g * p).sum(1, keepdim=True))
    return loss, grad.div_(len(y))


COSTS = {"nll": nll, "quadratic": quadratic}


def get_cost(name: str):
    """The cost function called ``name``; an unknown name is an error listing the valid ones."""
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"unknown cost {name!r}; valid: {', '.join(COSTS)}") from None
