"""Weight initialisations compared by the paper (Section 4.2.2).

Both draw from a uniform distribution U[-a, a], whose variance is a^2 / 3:

* ``standard`` (paper, eq. 1):     a = 1 / sqrt(n_in)              -> Var(W) = 1 / (3 n_in)
* ``normalized`` (paper, eq. 16):  a = sqrt(6) / sqrt(n_in + n_out) -> Var(W) = 2 / (n_in + n_out)

``normalized`` is the compromise between n_in Var(W) = 1 (forward signal, eq. 10) and
n_out Var(W) = 1 (backward signal, eq. 11). ``he`` (a = sqrt(6 / n_in), for relu) is an
extension outside the paper. Biases always start at 0 (paper, Section 2.3).
"""

from __future__ import annotations

import math

import torch



def standard_bound(n_in: int, n_out: int) -> float:
    """Half-width of the paper's standard initialisation, eq. (1): 1 / sqrt(n_in)."""
    return 1.0 / math.sqrt(n_in)


def normalized_bound(n_in: int, n_out: int) -> float:
    """Half-width of the normalized ("Xavier") initialisation, eq. (16): sqrt(6 / (n_in + n_out))."""
    return math.sqrt(6.0 / (n_in + n_out))


def he_bound(n_in: int, n_out: int) -> float:
    """Half-width giving Var(W) = 2 / n_in (He et al., 2015): an extension, not in the paper."""
    return math.sqrt(6.0 / n_in)


INITS = {"standard": standard_bound, "normalized": normalized_bound, "he": he_bound}


def check_init(name: str) -> None:
    """Raise a one-line error listing the valid names if ``name`` is not an initialisation."""
    if name not in INITS:
        raise ValueError(f"unknown init {name!r}; valid: {', '.join(INITS)}")


def init_linear_(weight: torch.Tensor, bias: torch.Tensor, scheme: str, generator: torch.Generator) -> None:
    """Fill ``weight`` (n_out x n_in) from U[-a, a] of ``scheme`` and zero ``bias``, in place."""
    check_init(scheme)
    n_out, n_in = weight.shape
    a = INITS[scheme](n_in, n_out)
    with torch.no_grad():
        weight.uniform_(-a, a, generator=generator)
        bias.zero_()
