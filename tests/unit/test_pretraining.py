"""The maths of denoising auto-encoder pre-training (glorot.paper.pretraining) against autograd:
one DAE's gradients, its decoder's range, masking noise, one greedy pass, and the argument
checks. The pre-training runs themselves (order, progress, checkpoints, divergence) are the
engine's: tests/unit/test_pretrained_runs.py."""

import pytest
import torch
import torch.nn.functional as F

from glorot.paper.activations import ACTIVATIONS
from glorot.paper.nets import MLP
from glorot.paper.pretraining import INPUT_RANGE, Reconstruction, check_args, corrupt, dae_gradients, encode

RANGES = [(-1.0, 1.0), (0.0, 1.0), (0.0, float("inf"))]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Small nets: one torch thread is fastest on a shared machine."""


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


def _greedy(net, batches, updates, lr, noise, seed, gradients):
    """Greedy DAE pre-training of ``net`` (layer k on the clean codes of layers 1..k-1, one mask
    generator), each update's gradients of (w, b, c, recon, z, z_tilde) from ``gradients``."""
    gen, batches = torch.Generator().manual_seed(seed), iter(batches)
    for k, layer in enumerate(net.hidden):
        recon = Reconstruction(*(INPUT_RANGE if k == 0 else net.act.output_range))
        w, b = layer.weight.detach(), layer.bias.detach()
        c = torch.zeros(w.shape[1], dtype=w.dtype)
        for _ in range(updates):
            z = encode(net, k, next(batches))
            for p, g in zip((w, b, c), gradients(w, b, c, net.act, recon, z, corrupt(z, noise, gen))):
                p.sub_(lr * g)


def _autograd(w, b, c, act, recon, z, z_tilde):
    w, b, c = (p.clone().requires_grad_() for p in (w, b, c))
    return torch.autograd.grad(_autograd_cost(recon, act.fn(z_tilde @ w.t() + b) @ w + c, z), (w, b, c))


def _written_out(*args):
    g = dae_gradients(*args)
    return g.weight, g.bias, g.decoder_bias


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
def test_greedy_pass_with_written_out_gradients_equals_autograd(activation):
    kwargs = dict(depth=3, width=7, activation=activation, init="normalized", seed=4)
    ours, ref = MLP(12, 3, **kwargs).double(), MLP(12, 3, **kwargs).double()
    gen = torch.Generator().manual_seed(2)
    batches = [2 * torch.rand(10, 12, generator=gen, dtype=torch.float64) - 1 for _ in range(3 * 4)]
    with torch.no_grad():
        _greedy(ours, batches, updates=4, lr=0.05, noise=0.25, seed=9, gradients=_written_out)
    _greedy(ref, batches, updates=4, lr=0.05, noise=0.25, seed=9, gradients=_autograd)
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kwargs, field", [
    (dict(noise=1.0), "noise"), (dict(noise=-0.1), "noise"), (dict(noise=float("nan")), "noise"),
    (dict(lr=0.0), "lr"), (dict(lr=float("inf")), "lr"), (dict(lr=-1), "lr"), (dict(lr="0.1"), "lr"),
    (dict(updates_per_layer=-1), "updates_per_layer"), (dict(updates_per_layer=2.5), "updates_per_layer"),
    (dict(seed=1.5), "seed"), (dict(report_every=0), "report_every"),
    (dict(input_range=(1, -1)), "input_range"), (dict(input_range=(0,)), "input_range"),
    (dict(net="not a net"), "net"),
])
def test_bad_arguments_are_one_line_value_errors(kwargs, field):
    args = dict(net=MLP(8, 2, depth=1, width=4), updates_per_layer=1, lr=0.1, noise=0.2, seed=0, report_every=1,
                input_range=INPUT_RANGE) | kwargs
    with pytest.raises(ValueError, match=field) as info:
        check_args(**args)
    assert "\n" not in str(info.value)
