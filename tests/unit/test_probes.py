"""The diagnostics at initialisation against the paper (Figures 6-8, Section 4.2.2)."""

import numpy as np
import pytest
import torch

from glorot.data import shapeset
from glorot.paper.backprop import deltas, weight_grad
from glorot.paper.costs import nll
from glorot.paper.nets import MLP
from glorot.paper.names import NETWORK_SCALARS, SCALARS
from glorot.paper.probes import io_jacobian_svs, jacobian_sv_mean, probe


@pytest.fixture(scope="module")
def probe_set():
    x, y = shapeset.generate(300, seed=11)
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.fixture(scope="module")
def paper_probes(probe_set):
    """tanh, 5 hidden layers of 1000 units, at initialisation: standard vs normalized."""
    x, y = probe_set
    return {init: probe(MLP(1024, 9, 5, 1000, "tanh", init, seed=0), x, y, 0, jac_examples=3)
            for init in ("standard", "normalized")}


def test_record_has_every_scalar_per_layer_and_histograms(paper_probes):
    record = paper_probes["standard"]
    assert len(record.layers) == 5
    assert all(set(layer) == set(SCALARS) for layer in record.layers)
    assert set(record.metrics()) == ({f"L{i}/{k}" for i in range(1, 6) for k in SCALARS}
                                     | {f"net/{k}" for k in NETWORK_SCALARS})
    # 3 examples x rank 1000; the few below float64's reach in J J^T (about 1e-8 of the largest) are 0, left out
    assert 0.99 * 3 * 1000 <= record.histograms["net/jac_io_log10sv_counts"].sum() <= 3 * 1000
    for i in range(1, 6):
        for name in ("act", "dCds", "dCdW"):
            counts, edges = record.histograms[f"L{i}/{name}_counts"], record.histograms[f"L{i}/{name}_edges"]
            assert len(edges) == len(counts) + 1 and np.all(np.diff(edges) > 0)
        assert record.histograms[f"L{i}/act_counts"].sum() == 300 * 1000
        assert record.histograms[f"L{i}/dCdW_counts"].sum() == 1000 * (1024 if i == 1 else 1000)


def test_backpropagated_gradients_shrink_towards_input_with_standard_init(paper_probes):
    # Figure 7 (top): with eq. (1), Var(dC/ds) decays going down by n Var(W) = 1/3 per layer
    # (times f'^2 <= 1), so the std at layer 1 is far below the one at layer 5.
    std = [layer["dCds_std"] for layer in paper_probes["standard"].layers]
    assert all(lower < upper for lower, upper in zip(std, std[1:]))
    assert std[0] / std[4] < 0.25


def test_backpropagated_gradients_stay_much_flatter_with_normalized_init(paper_probes):
    # Figure 7 (bottom): with eq. (16), n Var(W) = 1, so only the f'(s)^2 < 1 factors of the
    # tanh units remain: the decay from layer 5 to layer 1 is mild, and far weaker than with eq. (1).
    def decay(init):
        std = [layer["dCds_std"] for layer in paper_probes[init].layers]
        return std[0] / std[4]
    assert decay("normalized") > 0.5
    assert decay("normalized") > 4 * decay("standard")


def test_activations_shrink_with_depth_under_standard_init(paper_probes):
    # Figure 6 (top): the activation distribution narrows towards 0 going up.
    std = [layer["act_std"] for layer in paper_probes["standard"].layers]
    assert all(upper < lower for lower, upper in zip(std, std[1:]))
    flat = [layer["act_std"] for layer in paper_probes["normalized"].layers]
    assert min(flat) / max(flat) > 0.5 > 4 * std[4] / std[0]


def test_weight_gradients_do_not_shrink_towards_input(paper_probes):
    # Figure 8 / Section 4.2.2: Var(dC/dW) is roughly independent of the layer even with
    # the standard initialisation (the two products of eq. 14 cancel).
    std = np.array([layer["dCdW_std"] for layer in paper_probes["standard"].layers])
    assert std.max() / std.min() < 3


def test_jacobian_mean_singular_value_is_half_vs_point_eight(paper_probes):
    # Section 4.2.2: about 0.5 with the standard and 0.8 with the normalized initialisation.
    standard = np.mean([layer["jac_sv_mean"] for layer in paper_probes["standard"].layers[1:]])
    normalized = np.mean([layer["jac_sv_mean"] for layer in paper_probes["normalized"].layers[1:]])
    assert standard == pytest.approx(0.5, abs=0.06)
    assert normalized == pytest.approx(0.8, abs=0.08)


def test_jacobian_singular_values_match_a_full_svd():
    net = MLP(50, 3, depth=2, width=40, activation="tanh", init="standard", seed=1)
    x = torch.randn(3, 50)
    with torch.no_grad():
        zs = net.forward_trace(x)
        for layer in (1, 2):
            fprime = net.act.grad_from_output(zs[layer])
            full = torch.linalg.svdvals(fprime[:, :, None] * net.layers[layer - 1].weight).mean()
            assert jacobian_sv_mean(net, zs, layer, 3) == pytest.approx(float(full), rel=1e-4)
    # A layer with more outputs than inputs takes the other Gram matrix.
    wide = MLP(10, 3, depth=1, width=40, activation="softsign", init="normalized", seed=1)
    with torch.no_grad():
        zs = wide.forward_trace(torch.randn(2, 10))
        fprime = wide.act.grad_from_output(zs[1])
        full = torch.linalg.svdvals(fprime[:, :, None] * wide.layers[0].weight).mean(1)
        # the Gram route averages min(out, in) = 10 singular values, as the SVD does
        assert jacobian_sv_mean(wide, zs, 1, 2) == pytest.approx(float(full.mean()), rel=1e-4)


def test_a_blown_up_layer_gives_its_jacobian_spectrum_not_a_crash():
    """A learning rate too high grows a layer's weights until W W^T overflows float32, while its
    tanh units saturate (f' = 0): the MNIST sweep's Tanh N at lr 0.1 crashed LAPACK there (NaN
    Gram matrix). The spectrum is still defined: every unit saturated, every singular value 0.
    Weights that are infinite give NaN, and the whole probe still returns."""
    net = MLP(50, 3, depth=2, width=40, activation="tanh", init="standard", seed=1)
    x, y = torch.randn(3, 50), torch.tensor([0, 1, 2])
    with torch.no_grad():
        net.layers[0].weight.mul_(1e20)
        net.layers[1].weight.mul_(1e20)
        zs = net.forward_trace(x)
        assert bool((net.act.grad_from_output(zs[2]) == 0).all())
        assert jacobian_sv_mean(net, zs, 2, 3) == 0.0
        net.layers[1].weight[0, 0] = float("inf")
        assert np.isnan(jacobian_sv_mean(net, zs, 2, 3))
    assert len(probe(net, x, y, 0, jac_examples=3).layers) == 2


TORCH_ACTIVATION = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "softsign": torch.nn.functional.softsign}


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATION))
def test_gradients_match_autograd_values(activation):
    """dC/ds (each example's own cost) and dC/dW (mean cost) against torch autograd on the same net,
    value by value, not only as ratios across layers (Figures 7-9)."""
    net = MLP(30, 5, depth=3, width=12, activation=activation, init="standard", seed=3)
    gen = torch.Generator().manual_seed(4)
    x, y = torch.randn(40, 30, generator=gen), torch.randint(0, 5, (40,), generator=gen)
    z, pre = x, []
    for layer in net.hidden:  # torch's own forward and activation, so nothing of ours is on the autograd side
        s = layer(z)
        s.retain_grad()
        pre.append(s)
        z = TORCH_ACTIVATION[activation](s)
    logits = net.layers[-1](z)
    torch.nn.functional.cross_entropy(logits, y, reduction="sum").backward(retain_graph=True)
    dcds = [s.grad.clone() for s in pre]  # the sum's gradient w.r.t. s^i: each example's own dC/ds^i
    net.zero_grad()
    torch.nn.functional.cross_entropy(logits, y).backward()
    record = probe(net, x, y, 0)
    with torch.no_grad():
        zs = net.forward_trace(x)
        ds = deltas(net, zs, nll(zs[-1], y)[1])
    for i, layer in enumerate(net.hidden, 1):
        dcdw = layer.weight.grad
        torch.testing.assert_close(ds[i - 1] * len(y), dcds[i - 1], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(weight_grad(zs, ds, i - 1), dcdw, rtol=1e-5, atol=1e-8)
        assert record.layers[i - 1]["dCds_std"] == pytest.approx(float(dcds[i - 1].std()), rel=1e-5)
        assert record.layers[i - 1]["dCdW_std"] == pytest.approx(float(dcdw.std()), rel=1e-5)
        bound = float(dcds[i - 1].abs().max())
        counts, edges = record.histograms[f"L{i}/dCds_counts"], record.histograms[f"L{i}/dCds_edges"]
        assert edges[-1] == pytest.approx(bound, rel=1e-5) and counts.sum() == dcds[i - 1].numel()
        expected = np.histogram(dcdw.numpy(), bins=len(record.histograms[f"L{i}/dCdW_counts"]),
                                range=(-float(dcdw.abs().max()), float(dcdw.abs().max())))[0]
        assert np.abs(record.histograms[f"L{i}/dCdW_counts"] - expected).sum() <= 2  # bin-edge rounding only


@pytest.mark.parametrize("n_in,width", [(12, 8), (6, 8)])
def test_io_jacobian_singular_values_are_those_of_the_autograd_jacobian(n_in, width):
    net = MLP(n_in, 3, depth=3, width=width, activation="tanh", init="normalized", seed=2).double()
    x = torch.randn(2, n_in, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        svs = io_jacobian_svs(net, net.forward_trace(x), 2)
    expected = []
    for example in x:
        jac = torch.autograd.functional.jacobian(lambda v: net.forward_trace(v[None])[net.depth][0], example)
        expected.append(torch.linalg.svdvals(jac).sort().values)
    assert torch.allclose(svs, torch.cat(expected), atol=1e-10)  # rank min(n_in, width) each


def test_pre_activation_std_and_the_network_diagnostics_at_update_0_only(probe_set):
    x, y = probe_set
    net = MLP(1024, 9, 2, 50, "relu", "he", seed=0)
    first, later = probe(net, x, y, 0), probe(net, x, y, 10)
    with torch.no_grad():
        s1 = x @ net.layers[0].weight.t()
    assert first.layers[0]["pre_std"] == pytest.approx(float(s1.std()), rel=1e-6)
    assert set(first.network) == set(NETWORK_SCALARS) and later.network == {}
    assert not any(k.startswith("net/") for k in later.metrics()) and "net/jac_io_log10sv_counts" not in later.histograms
    assert first.network["jac_io_sv_min"] <= first.network["jac_io_sv_mean"] <= first.network["jac_io_sv_max"]


def test_orthogonal_tanh_keeps_the_io_jacobian_spectrum_concentrated_and_uniform_does_not(probe_set):
    # Pennington et al. 2017, Figure 1 / Section 4: at depth, orthogonal weights near criticality keep
    # the singular values of J near 1; i.i.d. weights (here eq. 16) spread them.
    x, y = probe_set
    spread = {}
    for init in ("orthogonal", "normalized"):
        net = MLP(1024, 9, 30, 128, "tanh", init, seed=0)
        with torch.no_grad():
            svs = io_jacobian_svs(net, net.forward_trace(x[:50] * 0.05), 3)
        spread[init] = float(svs.std() / svs.mean())
    assert spread["orthogonal"] < 0.5 * spread["normalized"]
