"""The paper's model family (Section 2.3): a feed-forward net of ``depth`` hidden layers of
``width`` units, z^i = f(s^i) with s^i = z^{i-1} W^i + b^i and z^0 = x, topped by a softmax
layer softmax(z^D V + c). The net returns the softmax's logits; costs live in
:mod:`glorot.paper.costs`.

:func:`forward_trace` is the forward pass, written once: for one net's weights ``(n_out,
n_in)`` and a batch ``(B, n_in)``, and for K nets' weights stacked to ``(K, n_out, n_in)``
and their batches ``(K, B, n_in)``, which is how the training engine runs many
configurations at once (:mod:`glorot.engine.stacked`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from glorot.paper.activations import get_activation
from glorot.paper.init import check_init, init_linear_, orthogonal_gain


def affine(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """s = z W^T + b for one net (2-D ``weight``) or K stacked nets (3-D ``weight``, ``bias`` (K, 1, n_out))."""
    if weight.dim() == 2:
        return torch.addmm(bias, z, weight.t())
    return torch.baddbmm(bias, z, weight.transpose(1, 2))


def forward_trace(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
                  activate: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """[z^0 = x, z^1, ..., z^D, a]: z^i = f(s^i), s^i = z^{i-1} W^i^T + b^i for the hidden layers
    (``activate`` applies f), then the softmax layer's logits a; every layer's output is kept
    for back-propagation (Section 4.2.1)."""
    zs = [x]
    for w, b in zip(weights[:-1], biases[:-1]):
        zs.append(activate(affine(zs[-1], w, b)))
    zs.append(affine(zs[-1], weights[-1], biases[-1]))
    return zs


class MLP(nn.Module):
    """``n_in`` -> ``depth`` x ``width`` hidden units of ``activation`` -> ``n_classes`` logits.

    ``layers[i]`` for i < depth are the hidden layers W^{i+1}; ``layers[depth]`` is the
    softmax layer. Weights follow ``init`` (see :mod:`glorot.paper.init`), biases are zero.
    """

    def __init__(
        self,
        n_in: int,
        n_classes: int,
        depth: int = 5,
        width: int = 1000,
        activation: str = "tanh",
        init: str = "standard",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1 hidden layer, got {depth}")
        if width < 1:
            raise ValueError(f"width must be >= 1 unit, got {width}")
        check_init(init)
        self.act = get_activation(activation)
        self.depth, self.width, self.init_scheme = depth, width, init
        sizes = [n_in] + [width] * depth + [n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        """Draw every layer's weights from the configured scheme with a generator seeded by ``seed``
        (an orthogonal scheme's hidden layers with the activation's gain, the softmax layer's with 1)."""
        generator = torch.Generator().manual_seed(seed)
        gain = orthogonal_gain(self.init_scheme, self.act.name)
        for i, layer in enumerate(self.layers):
            init_linear_(layer.weight, layer.bias, self.init_scheme, generator, gain if i < self.depth else 1.0)

    @property
    def hidden(self) -> nn.ModuleList:
        """The ``depth`` hidden layers, without the softmax layer."""
        return self.layers[:-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the softmax layer for a batch ``x`` (B x n_in)."""
        return self.forward_trace(x)[-1]

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[z^0 = x, z^1, ..., z^depth, logits] (:func:`forward_trace`)."""
        return forward_trace([layer.weight for layer in self.layers], [layer.bias for layer in self.layers],
                             self.act.fn, x)
