"""The written-out back-propagation and SGD step against autograd and torch.optim.SGD."""

import pytest
import torch
import torch.nn.functional as F

from glorot.paper.activations import ACTIVATIONS
from glorot.paper.backprop import deltas, sgd_step, weight_grad
from glorot.paper.costs import get_cost, nll, quadratic
from glorot.paper.nets import MLP


def _autograd_cost(name, logits, y):
    if name == "nll":
        return F.cross_entropy(logits, y)
    return ((torch.softmax(logits, 1) - F.one_hot(y, logits.shape[1])) ** 2).sum(1).mean()


@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_cost_gradient_matches_autograd(cost):
    logits = torch.randn(10, 9, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 9, (10,))
    loss, grad = get_cost(cost)(logits.detach(), y)
    ref = _autograd_cost(cost, logits, y)
    ref.backward()
    assert float(loss) == pytest.approx(float(ref.detach()))
    torch.testing.assert_close(grad, logits.grad)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_deltas_and_weight_grads_match_autograd(activation, cost):
    net = MLP(20, 4, depth=3, width=16, activation=activation, init="normalized", seed=0).double()
    x, y = torch.randn(10, 20, dtype=torch.float64), torch.randint(0, 4, (10,))
    zs = net.forward_trace(x)
    _, g = get_cost(cost)(zs[-1].detach(), y)
    ds = deltas(net, [z.detach() for z in zs], g)
    _autograd_cost(cost, net(x), y).backward()
    for i, layer in enumerate(net.layers):
        torch.testing.assert_close(weight_grad([z.detach() for z in zs], ds, i), layer.weight.grad)
        torch.testing.assert_close(ds[i].sum(0), layer.bias.grad)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softsign"])
def test_sgd_step_equals_torch_sgd(activation):
    kwargs = dict(depth=4, width=32, activation=activation, init="standard", seed=5)
    ours, ref = MLP(30, 9, **kwargs).double(), MLP(30, 9, **kwargs).double()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        x = torch.randn(10, 30, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 9, (10,), generator=gen)
        with torch.no_grad():
            zs = ours.forward_trace(x)
            sgd_step(ours, zs, nll(zs[-1], y)[1], lr=0.1)
        opt.zero_grad()
        F.cross_entropy(ref(x), y).backward()
        opt.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_quadratic_cost_is_flatter_than_nll_for_a_confident_wrong_answer():
    # Section 4.1 / Figure 5: saturated softmax gives the quadratic cost a vanishing gradient.
    logits, y = torch.tensor([[10.0, 0.0, 0.0]]), torch.tensor([1])
    assert quadratic(logits, y)[1].abs().max() < 1e-3 < nll(logits, y)[1].abs().max()


def test_unknown_cost_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown cost 'hinge'; valid: nll, quadratic"):
        get_cost("hinge")
