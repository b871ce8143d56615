"""Weight initialisations: the two the paper compares (Section 4.2.2) and those that followed it.

The paper's two draw from a uniform distribution U[-a, a], whose variance is a^2 / 3:

* ``standard`` (paper, eq. 1):     a = 1 / sqrt(n_in)              -> Var(W) = 1 / (3 n_in)
* ``normalized`` (paper, eq. 16):  a = sqrt(6) / sqrt(n_in + n_out) -> Var(W) = 2 / (n_in + n_out)

``normalized`` is the compromise between n_in Var(W) = 1 (forward signal, eq. 10) and
n_out Var(W) = 1 (backward signal, eq. 11). The extensions outside the paper:

* ``he`` (He et al. 2015, Section 2.2, eq. 10): n_in Var(W) / 2 = 1 for rectifiers, here as
  U[-a, a] with a = sqrt(6 / n_in)                                  -> Var(W) = 2 / n_in
* ``orthogonal`` (Saxe et al. 2014, Section 3): W = g Q with Q a random orthogonal matrix (Haar
  measure: the QR decomposition of a Gaussian matrix, signs fixed by diag(R)), so that
  W W^T = g^2 I (n_out <= n_in) or W^T W = g^2 I; the gain g is :data:`ORTHOGONAL_GAIN` of the
  activation (:func:`orthogonal_gain`).
* ``lsuv`` (Mishkin & Matas 2016, Algorithm 1): orthonormal (g = 1), then each layer rescaled on a
  batch of training data until its output variance is 1: data-dependent, see
  :mod:`glorot.paper.lsuv`; here it draws the orthonormal start.

Biases always start at 0 (paper, Section 2.3).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def standard_bound(n_in: int, n_out: int) -> float:
    """Half-width of the paper's standard initialisation, eq. (1): 1 / sqrt(n_in)."""
    return 1.0 / math.sqrt(n_in)


def normalized_bound(n_in: int, n_out: int) -> float:
    """Half-width of the normalized ("Xavier") initialisation, eq. (16): sqrt(6 / (n_in + n_out))."""
    return math.sqrt(6.0 / (n_in + n_out))


def he_bound(n_in: int, n_out: int) -> float:
    """Half-width giving Var(W) = 2 / n_in (He et al. 2015, Section 2.2, eq. 10: n_in Var(W) / 2 = 1
    keeps the forward signal's variance constant through rectifiers): an extension, not in the paper."""
    return math.sqrt(6.0 / n_in)


#: The initialisations drawn from U[-a, a], by their half-width a(n_in, n_out).
UNIFORM_BOUNDS: dict[str, Callable[[int, int], float]] = {
    "standard": standard_bound, "normalized": normalized_bound, "he": he_bound}

#: Orthogonal initialisation's gain per activation: 1 / f'(0), so that the layer Jacobian
#: diag(f'(s)) W is orthogonal near s = 0 (Saxe et al. 2014; tanh at Pennington et al. 2017's
#: criticality sigma_w = 1 with zero biases); sqrt(2) for relu, whose units pass half the signal
#: (He et al. 2015, Section 2.2).
ORTHOGONAL_GAIN = {"tanh": 1.0, "softsign": 1.0, "sigmoid": 4.0, "relu": math.sqrt(2.0)}

#: Every initialisation's name, in the order of :data:`glorot.paper.names.INIT_NAMES`.
INITS = (*UNIFORM_BOUNDS, "orthogonal", "lsuv")


def orthogonal_gain(scheme: str, activation: str) -> float:
    """The gain of ``scheme`` for hidden units of ``activation``: :data:`ORTHOGONAL_GAIN` for
    ``orthogonal``, 1 otherwise (LSUV starts orthonormal, Mishkin & Matas 2016, Algorithm 1)."""
    return ORTHOGONAL_GAIN[activation] if scheme == "orthogonal" else 1.0


def check_init(name: str) -> None:
    """Raise a one-line error listing the valid names if ``name`` is not an initialisation."""
    if name not in INITS:
        raise ValueError(f"unknown init {name!r}; valid: {', '.join(INITS)}")


def orthogonal_(weight: torch.Tensor, gain: float, generator: torch.Generator) -> None:
    """Fill ``weight`` (n_out x n_in) with g Q, Q orthogonal (Saxe et al. 2014): W W^T = g^2 I when
    n_out <= n_in, W^T W = g^2 I otherwise. Q is the QR decomposition of a standard Gaussian
    matrix (in float64), each column's sign set by diag(R) so that Q is Haar-distributed."""
    n_out, n_in = weight.shape
    gaussian = torch.randn(max(n_out, n_in), min(n_out, n_in), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))
    with torch.no_grad():
        weight.copy_(gain * (q.t() if n_out < n_in else q))


def init_linear_(weight: torch.Tensor, bias: torch.Tensor, scheme: str, generator: torch.Generator,
                 gain: float = 1.0) -> None:
    """Fill ``weight`` (n_out x n_in) by ``scheme`` and zero ``bias``, in place; ``gain`` scales
    the orthogonal schemes (:func:`orthogonal_gain`)."""
    check_init(scheme)
    n_out, n_in = weight.shape
    with torch.no_grad():
        if scheme in UNIFORM_BOUNDS:
            a = UNIFORM_BOUNDS[scheme](n_in, n_out)
            weight.uniform_(-a, a, generator=generator)
        else:
            orthogonal_(weight, gain, generator)
        bias.zero_()
