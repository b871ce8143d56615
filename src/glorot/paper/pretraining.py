"""Greedy layer-wise denoising auto-encoder pre-training, an initialisation the paper contrasts
with its own (Section 3.1: sigmoid nets initialised by unsupervised pre-training do not show the
saturation of the top hidden layer).

The pre-training is that of the authors' group: each hidden layer is trained as a denoising
auto-encoder (DAE; Vincent, Larochelle, Bengio & Manzagol 2008, "Extracting and composing
robust features with denoising autoencoders", ICML), greedily, one layer after the other
(Bengio, Lamblin, Popovici & Larochelle 2007, "Greedy layer-wise training of deep networks",
NIPS): layer 1 on the inputs x, then layer k on the clean (uncorrupted) codes z^{k-1} of the
layers already trained, for all ``depth`` hidden layers. The softmax layer is left as
initialised. For one layer with weights W (n_out x n_in, as ``nn.Linear`` holds them) and
bias b, on a clean input z (what the layer receives; z^0 = x):

    corruption   z~ = m * z,  m_j ~ Bernoulli(1 - noise)      (masking noise, Vincent 2008, 2.3)
    encoder      h  = f(s),   s = z~ W^T + b                   (the net's own layer and f)
    decoder      r  = h W + c,  z^ = g(r)                      (tied weights W' = W^T, own bias c)
    cost         C  = mean over the mini-batch of L(z^, z), summed over the n_in units

* **Corruption**: masking noise, each component of the DAE's input set to 0 with probability
  ``noise``, independently (Vincent et al. 2008, Section 2.3, "destroyed" components). The
  target is the clean input. Inputs fed to the net are in [-1, 1] (every data set of this
  project), and tanh and softsign codes in (-1, 1): there 0 is the middle of the range, a
  value that says nothing of the sign; for sigmoid codes in (0, 1) it is the "off" value,
  as for the [0, 1] inputs of Vincent et al.
* **Decoder**: tied weights W' = W^T with its own bias c (zero at the start, discarded
  afterwards), as in Vincent et al. 2008, Section 2.2. Both uses of W enter its gradient.
* **Cost**, chosen by the range [lo, hi] of what is reconstructed (the inputs' range for
  layer 1, ``net.act.output_range`` above):

  - bounded (inputs, sigmoid, tanh, softsign codes): the target rescaled to t = (z - lo) /
    (hi - lo) in [0, 1], a sigmoid decoder z^ = lo + (hi - lo) sigmoid(r) and the
    cross-entropy L = -sum_j t_j log sigmoid(r_j) + (1 - t_j) log(1 - sigmoid(r_j)), the
    "reconstruction cross-entropy" of Vincent et al. 2008 (Section 2.2) for values in
    [0, 1]. Why not squared error through the sigmoid: its gradient carries the factor
    sigmoid'(r), which vanishes where the decoder saturates -- the plateaus the paper shows
    for the quadratic cost (Section 4.1, Figure 5); the cross-entropy's is sigmoid(r) - t.
    Its minimum is the targets' entropy, not 0, when t is not 0 or 1.
  - unbounded (relu codes, an extension): an affine decoder z^ = r and the squared error
    L = 1/2 sum_j (r_j - z_j)^2, the pairing for real-valued inputs (Vincent, Larochelle,
    Lajoie, Bengio & Manzagol 2010, "Stacked denoising autoencoders", JMLR 11); its gradient
    is r - z.

  Either way dC/dr is (sigmoid(r) - t) / B or (r - z) / B over a mini-batch of B: one
  back-propagation serves both.
* **Optimiser**: plain SGD on mini-batches, theta <- theta - lr * mean gradient (the paper's,
  Section 2.3), with the gradients written out as in :mod:`glorot.paper.backprop`:

      dC/dr  (above)                 dC/dc = sum_batch dC/dr
      dC/ds = f'(s) * (dC/dr W^T)    dC/db = sum_batch dC/ds
      dC/dW = dC/ds^T z~  +  h^T dC/dr        (encoder use + decoder use of the tied W)

This module holds the maths of one update; the training engine runs the updates, layer after
layer, as a phase of a training run (:mod:`glorot.engine.pretraining`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from glorot.paper.activations import Activation
from glorot.paper.nets import MLP, affine

#: The range of the inputs fed to the net: [-1, 1] for every data set of this project.
INPUT_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class Reconstruction:
    """How a DAE reconstructs values in [``lo``, ``hi``]: sigmoid decoder and cross-entropy when
    the range is bounded, affine decoder and squared error when it is not (module docstring)."""

    lo: float
    hi: float

    @property
    def bounded(self) -> bool:
        """Whether the range is finite, which selects the sigmoid decoder and cross-entropy."""
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def target(self, z: torch.Tensor) -> torch.Tensor:
        """t: the clean input rescaled to [0, 1] when the range is bounded, else itself."""
        return (z - self.lo) / (self.hi - self.lo) if self.bounded else z

    def output(self, r: torch.Tensor) -> torch.Tensor:
        """The reconstruction z^ = g(r), in the range of the reconstructed values."""
        return self.lo + (self.hi - self.lo) * torch.sigmoid(r) if self.bounded else r

    def cost_and_grad(self, r: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mini-batch mean of the per-example cost L (summed over units) and dC/dr."""
        if self.bounded:  # -t log sigma(r) - (1 - t) log(1 - sigma(r)) = softplus(r) - t r
            cost, grad = F.softplus(r) - t * r, torch.sigmoid(r) - t
        else:
            cost, grad = 0.5 * (r - t).square(), r - t
        return cost.sum(1).mean(), grad.div_(r.shape[0])


@dataclass(frozen=True)
class DAEGradients:
    """The mean reconstruction cost of a mini-batch and its gradients for W, b and c."""

    cost: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    decoder_bias: torch.Tensor


def corrupt(z: torch.Tensor, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Masking noise (Vincent et al. 2008, Section 2.3): each component set to 0 with
    probability ``noise``, independently, the mask drawn from ``generator``."""
    keep = torch.rand(z.shape, generator=generator, device=z.device, dtype=z.dtype) >= noise
    return z * keep


def dae_gradients(weight: torch.Tensor, bias: torch.Tensor, decoder_bias: torch.Tensor, act: Activation,
                  recon: Reconstruction, z: torch.Tensor, z_tilde: torch.Tensor) -> DAEGradients:
    """Written-out gradients of one tied-weight DAE (module docstring) for the clean input
    ``z`` and its corruption ``z_tilde``; ``weight`` is W (n_out x n_in)."""
    h = act.fn(affine(z_tilde, weight, bias))
    r = affine(h, weight.t(), decoder_bias)
    cost, d_r = recon.cost_and_grad(r, recon.target(z))
    d_s = (d_r @ weight.t()).mul_(act.grad_from_output(h))
    d_w = torch.addmm(d_s.t() @ z_tilde, h.t(), d_r)
    return DAEGradients(cost, d_w, d_s.sum(0), d_r.sum(0))


def encode(net: MLP, layers: int, x: torch.Tensor) -> torch.Tensor:
    """The clean code z^``layers`` of the first ``layers`` hidden layers (z^0 = x)."""
    z = x
    for layer in net.hidden[:layers]:
        z = net.act.fn(affine(z, layer.weight, layer.bias))
    return z


def _is_int(value) -> bool:
    """Whether ``value`` is an integer (numpy's included), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_args(net: MLP, updates_per_layer: int, lr: float, noise: float, seed: int, report_every: int,
               input_range: tuple[float, float]) -> None:
    """One-line ``ValueError`` for the first bad argument of a pre-training of ``net``:
    ``updates_per_layer`` SGD updates per hidden layer at rate ``lr``, masking ``noise``, masks
    seeded by ``seed``, a report every ``report_every`` updates, inputs in ``input_range``."""
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an MLP, got {type(net).__name__}")
    for name, value, low in (("updates_per_layer", updates_per_layer, 0), ("report_every", report_every, 1)):
        if not _is_int(value) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not _is_int(seed):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < 1:
        raise ValueError(f"noise must be in [0, 1), got {noise!r}")
    bounds = tuple(input_range) if isinstance(input_range, (tuple, list)) else ()
    if not (len(bounds) == 2 and all(isinstance(v, numbers.Real) and math.isfinite(v) for v in bounds)
            and bounds[0] < bounds[1]):
        raise ValueError(f"input_range must be finite (lo, hi) with lo < hi, got {input_range!r}")
