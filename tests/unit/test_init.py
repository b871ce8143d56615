"""Each initialisation against its formula: the paper's (eq. 1 and eq. 16), He et al. 2015's,
Saxe et al. 2014's orthogonal one and LSUV (Mishkin & Matas 2016)."""

import math

import pytest
import torch

from glorot.config import build_config
from glorot.data.sources import load_data
from glorot.engine import build_net
from glorot.engine.loop import LSUV_STREAM_SEED
from glorot.paper.init import ORTHOGONAL_GAIN, UNIFORM_BOUNDS, init_linear_
from glorot.paper.lsuv import LSUV_BATCH, lsuv_
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
    a = UNIFORM_BOUNDS["normalized"](n_in, n_out)
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
    with pytest.raises(ValueError, match="unknown init 'xavier'; valid: standard, normalized, he, orthogonal, lsuv"):
        MLP(10, 2, init="xavier")
    with pytest.raises(ValueError, match="unknown activation 'gelu'; valid: sigmoid, tanh, softsign"):
        MLP(10, 2, activation="gelu")
    with pytest.raises(ValueError, match="depth must be >= 1"):
        MLP(10, 2, depth=0)


@pytest.mark.parametrize("n_in,n_out", [(1024, 256), (256, 256), (256, 9)])
def test_he_variance_is_two_over_fan_in(n_in, n_out):
    # He et al. 2015, Section 2.2, eq. 10: n_in Var(W) / 2 = 1.
    w, b = torch.empty(n_out, n_in), torch.ones(n_out)
    init_linear_(w, b, "he", torch.Generator().manual_seed(1))
    assert w.abs().max() <= math.sqrt(6 / n_in)
    assert float(w.var()) == pytest.approx(2 / n_in, rel=0.05 if n_out > 9 else 0.1)
    assert float(b.abs().max()) == 0.0


@pytest.mark.parametrize("n_in,n_out", [(1024, 256), (256, 256), (256, 1024), (256, 9)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2), 4.0])
def test_orthogonal_rows_or_columns_are_orthogonal_with_norm_gain(n_in, n_out, gain):
    # Saxe et al. 2014: W W^T = g^2 I (n_out <= n_in), else W^T W = g^2 I.
    w, b = torch.empty(n_out, n_in), torch.ones(n_out)
    init_linear_(w, b, "orthogonal", torch.Generator().manual_seed(1), gain)
    gram = w @ w.t() if n_out <= n_in else w.t() @ w
    assert torch.allclose(gram, gain ** 2 * torch.eye(min(n_in, n_out)), atol=1e-5 * gain ** 2)
    assert float(b.abs().max()) == 0.0


def test_orthogonal_hidden_layers_carry_the_activation_gain_and_the_softmax_layer_none():
    for activation, gain in ORTHOGONAL_GAIN.items():
        net = MLP(1024, 9, depth=3, width=64, activation=activation, init="orthogonal", seed=0)
        for layer in net.hidden:
            w = layer.weight
            assert torch.allclose(w @ w.t(), gain ** 2 * torch.eye(64), atol=1e-4 * gain ** 2)
        out = net.layers[-1].weight
        assert torch.allclose(out @ out.t(), torch.eye(9), atol=1e-5)
    lsuv_start = MLP(1024, 9, depth=2, width=64, activation="relu", init="lsuv", seed=0)
    assert torch.allclose(lsuv_start.layers[1].weight @ lsuv_start.layers[1].weight.t(), torch.eye(64), atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_lsuv_leaves_every_layer_at_unit_output_variance_on_its_batch(activation):
    # Mishkin & Matas 2016, Algorithm 1: |Var(B_L) - 1| < Tol_var after the rescaling, every layer.
    torch.manual_seed(0)
    x = torch.rand(200, 1024)
    net = MLP(1024, 9, depth=6, width=128, activation=activation, init="lsuv", seed=0)
    variances = lsuv_(net, x, tolerance=1e-4)
    assert len(variances) == 7 and all(abs(v - 1) < 1e-4 for v in variances)
    z = x.detach()
    for i, layer in enumerate(net.layers):  # measured again, independently, layer by layer
        s = z @ layer.weight.detach().t() + layer.bias.detach()
        assert float(s.var()) == pytest.approx(1, abs=1e-4)
        z = net.act.fn(s) if i < net.depth else s


LSUV_SMALL = dict(depth=3, width=32, updates=0, probe_size=20, valid_size=50, test_size=50, device="cpu",
                  init="lsuv")


def test_an_lsuv_net_is_rescaled_on_its_own_seeded_stream_and_is_reproducible():
    config = build_config(**LSUV_SMALL)
    data = load_data(config)
    net, again = build_net(config, data), build_net(config, data)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters()))
    start = MLP(data.n_in, data.n_classes, 3, 32, "tanh", "lsuv", seed=0)
    x = torch.as_tensor(next(data.train_stream(config.seed + LSUV_STREAM_SEED, LSUV_BATCH))[0])
    assert lsuv_(start, x) and all(torch.equal(p, q) for p, q in zip(net.parameters(), start.parameters()))
    # the supervised stream is untouched: its first batch is the same whatever the init
    first = torch.as_tensor(next(data.train_stream(config.seed, config.batch_size))[0])
    assert not torch.equal(first, x[:config.batch_size])
