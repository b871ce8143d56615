"""Hidden-unit non-linearities of the paper (Section 2.3) and their derivatives.

Each activation keeps its derivative written in terms of its *output* z = f(s), which
is what back-propagation (paper, Section 4.2.1) needs and saves storing s:

* sigmoid   f(s) = 1 / (1 + exp(-s))   f'(s) = z (1 - z)
* tanh      f(s) = tanh(s)             f'(s) = 1 - z^2
* softsign  f(s) = s / (1 + |s|)       f'(s) = 1 / (1 + |s|)^2 = (1 - |z|)^2

``relu`` is an extension outside the paper, available by name only.

Each non-linearity is written once, as ``fn(s, out=None)``: out of place (differentiable, for
autograd checks) or, with ``out=s``, in place, which is how the training engine applies it
to a slice of stacked pre-activations without a copy. Both give the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Activation:
    """A non-linearity ``fn(s, out=None)`` with its derivative ``grad_from_output`` (f' as a function of z)."""

    name: str
    fn: Callable[..., torch.Tensor]
    grad_from_output: Callable[[torch.Tensor], torch.Tensor]
    output_range: tuple[float, float]


def _softsign(s: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.div(s, s.abs().add_(1), out=out)


def _relu(s: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.clamp(s, min=0, out=out)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", torch.sigmoid, lambda z: z * (1 - z), (0.0, 1.0)),
    "tanh": Activation("tanh", torch.tanh, lambda z: 1 - z * z, (-1.0, 1.0)),
    "softsign": Activation("softsign", _softsign, lambda z: (1 - z.abs()).square(), (-1.0, 1.0)),
    "relu": Activation("relu", _relu, lambda z: (z > 0).to(z.dtype), (0.0, float("inf"))),
}

PAPER_ACTIVATIONS = ("sigmoid", "tanh", "softsign")


def get_activation(name: str) -> Activation:
    """The activation called ``name``; an unknown name is an error listing the valid ones."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}"
        ) from None
