"""Layer-sequential unit-variance initialisation (LSUV; Mishkin & Matas 2016, Algorithm 1).

Start from orthonormal weights (``init: lsuv`` draws them, :mod:`glorot.paper.init`), then, layer
by layer from the input, feed a batch of training data and divide the layer's weights by the
standard deviation of its output s = z W^T + b until Var(s) is 1 within ``tolerance`` (the
paper's Tol_var = 0.1) or ``max_iterations`` rescalings (its T_max = 10) have been made. Each
layer is rescaled on the outputs of the layers below it, already rescaled. The softmax layer is
a layer like the others (the paper rescales every convolution and inner-product layer).

With biases at 0 (Section 2.3) one rescaling gives Var(s) = 1 up to rounding; the loop is the
paper's, for the general case.
"""

from __future__ import annotations

import torch

from glorot.paper.nets import MLP, affine

#: Mishkin & Matas (2016), Section 2: Tol_var = 0.1 and T_max = 10.
TOLERANCE = 0.1
MAX_ITERATIONS = 10
#: The initialisation's name (:data:`glorot.paper.names.INIT_NAMES`) and the training examples of
#: its batch (the paper rescales on one mini-batch of its training data).
LSUV = "lsuv"
LSUV_BATCH = 100


@torch.no_grad()
def lsuv_(net: MLP, x: torch.Tensor, tolerance: float = TOLERANCE,
          max_iterations: int = MAX_ITERATIONS) -> list[float]:
    """Rescale ``net``'s layers in place on the batch ``x`` (Algorithm 1); returns each layer's
    output variance on ``x`` after its rescaling, hidden layers first, the softmax layer last."""
    z, variances = x, []
    for i, layer in enumerate(net.layers):
        s = affine(z, layer.weight, layer.bias)
        for _ in range(max_iterations):
            var = float(s.var())
            if abs(var - 1.0) < tolerance or not var > 0:
                break
            layer.weight.div_(var ** 0.5)
            s = affine(z, layer.weight, layer.bias)
        variances.append(float(s.var()))
        z = net.act.fn(s) if i < net.depth else s
    return variances
