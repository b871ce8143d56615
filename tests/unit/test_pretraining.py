"""Greedy layer-wise denoising auto-encoder pre-training (glorot.paper.pretraining) against
autograd, and its corruption, progress, determinism, scope and argument checks."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glorot.data.shapeset import generate
from glorot.paper.activations import ACTIVATIONS
from glorot.paper.nets import MLP
from glorot.paper.pretraining import Reconstruction, corrupt, dae_gradients, pretrain

RANGES = [(-1.0, 1.0), (0.0, 1.0), (0.0, float("inf"))]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Small nets: one torch thread is fastest on a shared machine."""


@pytest.fixture(scope="module")
def shapeset_batches():
    """50 mini-batches of 10 Shapeset-3x2 images (1024 inputs in [-1, 1])."""
    x, _ = generate(500, seed=0)
    return np.split(x, 50)


def _autograd_cost(recon, r, z):
    """The reconstruction cost written with torch's own losses (cross-entropy or squared error)."""
    if recon.bounded:
        return F.binary_cross_entropy_with_logits(r, recon.target(z), reduction="sum") / len(z)
    return F.mse_loss(r, z, reduction="sum") / (2 * len(z))


def _sample(recon, shape, gen):
    """Clean inputs inside the reconstructed range (non-negative when it is unbounded)."""
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    return recon.lo + (recon.hi - recon.lo) * u if recon.bounded else 3 * u


@pytest.mark.parametrize("value_range", RANGES, ids=lambda r: f"{r[0]}..{r[1]}")
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dae_gradients_match_autograd(activation, value_range):
    act, recon, gen = ACTIVATIONS[activation], Reconstruction(*value_range), torch.Generator().manual_seed(1)
    w = (0.5 * torch.randn(6, 9, generator=gen, dtype=torch.float64)).requires_grad_()
    b = (0.1 * torch.randn(6, generator=gen, dtype=torch.float64)).requires_grad_()
    c = (0.1 * torch.randn(9, generator=gen, dtype=torch.float64)).requires_grad_()
    z = _sample(recon, (10, 9), gen)
    z_tilde = corrupt(z, 0.3, gen)
    ours = dae_gradients(w.detach(), b.detach(), c.detach(), act, recon, z, z_tilde)
    h = act.fn(z_tilde @ w.t() + b)  # the encoder's use of W ...
    cost = _autograd_cost(recon, h @ w + c, z)  # ... and the decoder's (tied, W' = W^T)
    cost.backward()
    torch.testing.assert_close(ours.cost, cost.detach())
    for mine, leaf in ((ours.weight, w), (ours.bias, b), (ours.decoder_bias, c)):
        torch.testing.assert_close(mine, leaf.grad)


@pytest.mark.parametrize("value_range", RANGES[:2], ids=lambda r: f"{r[0]}..{r[1]}")
def test_decoder_output_stays_in_the_reconstructed_range(value_range):
    recon = Reconstruction(*value_range)
    out = recon.output(torch.linspace(-30, 30, 101, dtype=torch.float64))
    assert recon.lo <= float(out.min()) and float(out.max()) <= recon.hi
    assert float(recon.target(torch.tensor(recon.lo))) == 0.0


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5, 0.9])
def test_masking_noise_zeroes_about_noise_of_the_inputs(noise):
    z = torch.rand(200, 100, generator=torch.Generator().manual_seed(0)) + 0.5  # no zeros of its own
    z_tilde = corrupt(z, noise, torch.Generator().manual_seed(3))
    zeroed = z_tilde == 0
    assert float(zeroed.float().mean()) == pytest.approx(noise, abs=0.01)
    assert torch.equal(z_tilde[~zeroed], z[~zeroed])
    if noise == 0:
        assert not zeroed.any()


def _reference_pretrain(net, batches, updates, lr, noise, seed):
    """Greedy DAE pre-training with autograd's gradients, the masks drawn by :func:`corrupt`."""
    gen, batches = torch.Generator().manual_seed(seed), iter(batches)
    for k, layer in enumerate(net.hidden):
        recon = Reconstruction(*((-1.0, 1.0) if k == 0 else net.act.output_range))
        w, b = layer.weight.detach().requires_grad_(), layer.bias.detach().requires_grad_()
        c = torch.zeros(w.shape[1], dtype=w.dtype, requires_grad=True)
        for _ in range(updates):
            z = next(batches)
            for below in net.hidden[:k]:
                z = net.act.fn(below(z)).detach()
            cost = _autograd_cost(recon, net.act.fn(corrupt(z, noise, gen) @ w.t() + b) @ w + c, z)
            with torch.no_grad():
                for p, g in zip((w, b, c), torch.autograd.grad(cost, (w, b, c))):
                    p.sub_(lr * g)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
def test_pretrain_equals_greedy_sgd_with_autograd(activation):
    kwargs = dict(depth=3, width=7, activation=activation, init="normalized", seed=4)
    ours, ref = MLP(12, 3, **kwargs).double(), MLP(12, 3, **kwargs).double()
    gen = torch.Generator().manual_seed(2)
    batches = [2 * torch.rand(10, 12, generator=gen, dtype=torch.float64) - 1 for _ in range(3 * 4)]
    pretrain(ours, batches, updates_per_layer=4, lr=0.05, noise=0.25, seed=9)
    _reference_pretrain(ref, batches, updates=4, lr=0.05, noise=0.25, seed=9)
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
def test_each_layers_reconstruction_cost_decreases(activation, shapeset_batches):
    net = MLP(1024, 9, depth=2, width=32, activation=activation, init="normalized", seed=0)
    history = pretrain(net, itertools.cycle(shapeset_batches), updates_per_layer=200, lr=0.01, noise=0.25, seed=0)
    assert [len(h) for h in history] == [200, 200]
    for costs in history:
        assert np.mean(costs[-20:]) < 0.95 * np.mean(costs[:20])


def _pretrained(seed, batches, **kwargs):
    net = MLP(1024, 9, depth=2, width=16, activation="tanh", init="standard", seed=0)
    pretrain(net, batches, updates_per_layer=10, lr=0.01, noise=0.3, seed=seed, **kwargs)
    return net


def test_same_seed_gives_identical_weights_another_seed_different(shapeset_batches):
    a, b, c = (_pretrained(s, shapeset_batches) for s in (5, 5, 6))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert all(not torch.equal(p, q) for p, q in zip(a.hidden.parameters(), c.hidden.parameters()))


def test_only_hidden_layers_change(shapeset_batches):
    before = MLP(1024, 9, depth=2, width=16, activation="tanh", init="standard", seed=0)
    after = _pretrained(5, shapeset_batches)
    for i, (old, new) in enumerate(zip(before.layers, after.layers)):
        changed = [not torch.equal(p, q) for p, q in zip(old.parameters(), new.parameters())]
        assert changed == ([True, True] if i < after.depth else [False, False]), f"layer {i}"


def test_inputs_as_tuples_or_a_function_and_zero_updates(shapeset_batches):
    pairs = [(x, np.zeros(len(x), dtype=np.int64)) for x in shapeset_batches]
    from_tuples = _pretrained(5, pairs)
    feed = iter(shapeset_batches)
    from_function = _pretrained(5, lambda: next(feed))
    assert all(torch.equal(p, q) for p, q in zip(from_tuples.parameters(), from_function.parameters()))
    net = MLP(1024, 9, depth=2, width=16, seed=0)
    untouched = MLP(1024, 9, depth=2, width=16, seed=0)
    assert pretrain(net, iter([]), updates_per_layer=0, lr=0.1, noise=0.1, seed=0) == [[], []]
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), untouched.parameters()))


def test_report_gives_the_mean_cost_of_each_stretch_of_updates(shapeset_batches):
    calls = []
    net = MLP(1024, 9, depth=2, width=16, activation="tanh", init="standard", seed=0)
    history = pretrain(net, iter(shapeset_batches), 10, 0.01, 0.3, 5,
                       report=lambda *a: calls.append(a), report_every=4)
    assert [(layer, update) for layer, update, _ in calls] == [(1, 4), (1, 8), (2, 4), (2, 8)]
    for layer, update, cost in calls:
        assert cost == pytest.approx(np.mean(history[layer - 1][update - 4:update]))


@pytest.mark.parametrize("kwargs, field", [
    (dict(noise=1.0), "noise"), (dict(noise=-0.1), "noise"), (dict(noise=float("nan")), "noise"),
    (dict(lr=0.0), "lr"), (dict(lr=float("inf")), "lr"), (dict(lr=-1), "lr"), (dict(lr="0.1"), "lr"),
    (dict(updates_per_layer=-1), "updates_per_layer"), (dict(updates_per_layer=2.5), "updates_per_layer"),
    (dict(seed=1.5), "seed"), (dict(report_every=0), "report_every"),
    (dict(input_range=(1, -1)), "input_range"), (dict(input_range=(0,)), "input_range"),
    (dict(net="not a net"), "net"),
])
def test_bad_arguments_are_one_line_value_errors(kwargs, field):
    args = dict(net=MLP(8, 2, depth=1, width=4), batches=iter([]), updates_per_layer=1, lr=0.1, noise=0.2,
                seed=0) | kwargs
    with pytest.raises(ValueError, match=field) as info:
        pretrain(**args)
    assert "\n" not in str(info.value)


def test_running_out_of_batches_or_wrong_shapes_are_one_line_value_errors():
    net = MLP(8, 2, depth=2, width=4)
    with pytest.raises(ValueError, match="batches ran out") as info:
        pretrain(net, [np.zeros((10, 8))] * 3, updates_per_layer=2, lr=0.1, noise=0.2, seed=0)
    with pytest.raises(ValueError, match=r"\(B, 8\)") as info:
        pretrain(net, [np.zeros((10, 7))] * 4, updates_per_layer=2, lr=0.1, noise=0.2, seed=0)
    assert "\n" not in str(info.value)


def test_divergence_is_reported_not_hidden():
    net = MLP(8, 2, depth=2, width=4, activation="relu", init="he")  # squared error on relu codes
    with pytest.raises(FloatingPointError, match="layer 2 diverged"):
        pretrain(net, [np.ones((10, 8))] * 40, updates_per_layer=20, lr=10.0, noise=0.0, seed=0)
