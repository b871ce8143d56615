"""The two initialisations against the paper's formulas (eq. 1 and eq. 16)."""

import math

import pytest
import torch

from glorot.paper.init import INITS, init_linear_
from glorot.paper.nets import MLP


@pytest.mark.parametrize("n_in,n_out", [(1024, 1000), (1000, 1000), (1000, 9)])
def test_standard_variance_is_one_over_three_fan_in(n_in, n_out):
    w, b = torch.empty(n_out, n_in), torch.ones(n_out)
    init_linear_(w, b, "standard", torch.Generator().manual_seed(1))
    assert w.abs().max() <= 1 / math.sqrt(n_in)
    assert float(w.var()) == pytest.approx(1 / (3 * n_in), rel=0.05 if n_out > 9 else 0.1)
    assert float(b.abs().max()) == 0.0


@pytest.mark.parametrize("n_in,n_out", [(1024, 1000), (1000, 1000), (1000, 9)])
def test_normalized_variance_is_two_over_fan_sum(n_in, n_out):
    w, b = torch.empty(n_out, n_in), torch.ones(n_out)
    init_linear_(w, b, "normalized", torch.Generator().manual_seed(1))
    assert w.abs().max() <= math.sqrt(6 / (n_in + n_out))
    assert float(w.var()) == pytest.approx(2 / (n_in + n_out), rel=0.05 if n_out > 9 else 0.1)
    assert float(w.mean()) == pytest.approx(0, abs=0.05 * math.sqrt(2 / (n_in + n_out)))


def test_normalized_variance_is_the_compromise_of_eqs_10_and_11():
    # Var = 2/(n_in+n_out): the harmonic mean of 1/n_in (forward) and 1/n_out (backward).
    n_in, n_out = 1024, 1000
    a = INITS["normalized"](n_in, n_out)
    assert a * a / 3 == pytest.approx(2 / (1 / (1 / n_in) + 1 / (1 / n_out)))


def test_net_layers_follow_the_scheme_and_the_seed():
    net = MLP(1024, 9, depth=3, width=200, activation="tanh", init="standard", seed=3)
    again = MLP(1024, 9, depth=3, width=200, activation="tanh", init="standard", seed=3)
    other = MLP(1024, 9, depth=3, width=200, activation="tanh", init="standard", seed=4)
    assert [tuple(layer.weight.shape) for layer in net.layers] == [(200, 1024), (200, 200), (200, 200), (9, 200)]
    for a, b, c in zip(net.layers, again.layers, other.layers):
        assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
        assert a.weight.abs().max() <= 1 / math.sqrt(a.weight.shape[1])


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown init 'xavier'; valid: standard, normalized"):
        MLP(10, 2, init="xavier")
    with pytest.raises(ValueError, match="unknown activation 'gelu'; valid: sigmoid, tanh, softsign"):
        MLP(10, 2, activation="gelu")
    with pytest.raises(ValueError, match="depth must be >= 1"):
        MLP(10, 2, depth=0)
