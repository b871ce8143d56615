"""The paper's model family (Section 2.3): a feed-forward net of ``depth`` hidden layers of
``width`` units, z^i = f(s^i) with s^i = z^{i-1} W^i + b^i and z^0 = x, topped by a softmax
layer softmax(z^D V + c). The net returns the softmax's logits; costs live in
:mod:`glorot.paper.costs`.
"""

from __future__ import annotations

import torch
from torch import nn

from glorot.paper.activations import get_activation
from glorot.paper.init import check_init, init_linear_


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
        """Draw every layer's weights from the configured scheme with a generator seeded by ``seed``."""
        generator = torch.Generator().manual_seed(seed)
        for layer in self.layers:
            init_linear_(layer.weight, layer.bias, self.init_scheme, generator)

    @property
    def hidden(self) -> nn.ModuleList:
        """The ``depth`` hidden layers, without the softmax layer."""
        return self.layers[:-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the softmax layer for a batch ``x`` (B x n_in)."""
        return self.forward_trace(x)[-1]

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[z^0 = x, z^1, ..., z^depth, logits]: every layer's output, kept for back-propagation."""
        zs = [x]
        for layer in self.hidden:
            zs.append(self.act.fn(torch.addmm(layer.bias, zs[-1], layer.weight.t())))
        out = self.layers[-1]
        zs.append(torch.addmm(out.bias, zs[-1], out.weight.t()))
        return zs
