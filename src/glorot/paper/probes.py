"""The paper's diagnostics (Sections 3-4), measured on a fixed probe set of examples.

Per hidden layer i = 1..depth:

* activations z^i: mean, std, 98th percentile and histogram (Figures 2, 3, 4, 6, 10);
* back-propagated gradients dC/ds^i of each probe example's own cost: std and histogram
  (Figure 7);
* weight gradients dC/dW^i of the mean cost over the probe set: std and histogram
  (Figures 8, 9);
* the mean singular value of the layer Jacobian J^i = dz^i/dz^{i-1} = diag(f'(s^i)) W^i,
  averaged over ``jac_examples`` probe examples (Section 4.2.2: about 0.5 with the
  standard and 0.8 with the normalized initialisation, tanh, 1000 units). For layer 1
  the Jacobian is taken with respect to the input x = z^0;
* the std of the pre-activations s^i (He et al. 2015, Section 2.2, follow Var(s^i) through
  depth; LSUV, Mishkin & Matas 2016, sets it to 1).

Per network, at initialisation only (update 0), a diagnostic the paper did not have: the
singular values of the whole input-output Jacobian J = dz^D/dx = J^D ... J^1 on ``jac_examples``
probe examples (Pennington et al. 2017: dynamical isometry), their mean, std, max and min
(``net/jac_io_sv_*``) and a histogram of their log10.

Scalars go to a JSON-able dict; histograms (counts and bin edges) to arrays for an npz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from glorot.paper.backprop import deltas, weight_grad
from glorot.paper.costs import get_cost
from glorot.paper.nets import MLP, affine

HIST_BINS = 100


@dataclass
class ProbeRecord:
    """Diagnostics of one net at one update: ``layers[i-1]`` holds layer i's scalars,
    ``network`` the network-wide ones (:data:`NETWORK_SCALARS`, at update 0 only)."""

    update: int
    layers: list[dict[str, float]]
    histograms: dict[str, np.ndarray] = field(default_factory=dict)
    network: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat ``L{i}/{name}`` and ``net/{name}`` metrics, the names of the project's tracking conventions."""
        return {**{f"L{i}/{k}": v for i, layer in enumerate(self.layers, 1) for k, v in layer.items()},
                **{f"net/{k}": v for k, v in self.network.items()}}

    def to_json(self) -> dict:
        return {"update": self.update, "layers": self.layers, "network": self.network}


def _finite(values: torch.Tensor) -> torch.Tensor:
    """The finite entries, flattened: a blown-up layer's NaN and infinities are left out of its histogram."""
    return values[torch.isfinite(values)].float()


def _histogram(values: torch.Tensor, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    counts = torch.histc(_finite(values), bins=HIST_BINS, min=lo, max=hi)
    edges = torch.linspace(lo, hi, HIST_BINS + 1)
    return counts.to(torch.int64).numpy(), edges.numpy()


def _symmetric_histogram(values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    finite = _finite(values)
    m = (float(finite.abs().max()) if finite.numel() else 0.0) or 1.0
    return _histogram(finite, -m, m)


def _activation_range(net: MLP, z: torch.Tensor) -> tuple[float, float]:
    lo, hi = net.act.output_range
    finite = _finite(z)
    return lo, hi if np.isfinite(hi) else max(float(finite.max()) if finite.numel() else 0.0, 1e-12)


def jacobian_sv_mean(net: MLP, zs: list[torch.Tensor], layer: int, n_examples: int) -> float:
    """Mean singular value of J = dz^layer/dz^(layer-1) = diag(f'(s)) W over the first examples.

    The singular values are the square roots of the eigenvalues of the smaller Gram matrix:
    J J^T = diag(f') W W^T diag(f') shares W W^T across examples, which makes this several
    times cheaper than an SVD of each J. The Gram matrix is formed in float64: a layer whose
    weights have grown large (a learning rate too high) overflows W W^T in float32, and its
    saturated units (f' = 0) would turn that into NaN. Weights that are not finite give NaN.
    """
    w = net.layers[layer - 1].weight.detach().double()
    fprime = net.act.grad_from_output(zs[layer][:n_examples]).double()
    if w.shape[0] <= w.shape[1]:
        gram = (w @ w.t()) * fprime[:, :, None] * fprime[:, None, :]
    else:
        gram = w.t() @ (fprime.square()[:, :, None] * w)
    if not bool(torch.isfinite(gram).all()):
        return float("nan")
    return float(torch.linalg.eigvalsh(gram).clamp_min_(0).sqrt_().mean())


def io_jacobian_svs(net: MLP, zs: list[torch.Tensor], n_examples: int) -> torch.Tensor:
    """The singular values of J = dz^D/dx = diag(f'(s^D)) W^D ... diag(f'(s^1)) W^1 for each of
    the first ``n_examples`` (all of them, concatenated; Pennington et al. 2017, eq. 2).

    They are the square roots of the eigenvalues of J J^T, built outwards from W^1 W^1^T (shared by
    the examples) as M <- D^i W^i M W^i^T D^i, in float64; J has rank at most min(n_in, width),
    so only that many of the largest are kept. Weights that are not finite give NaN."""
    fprimes = [net.act.grad_from_output(z[:n_examples]).double() for z in zs[1:net.depth + 1]]
    w1 = net.layers[0].weight.detach().double()
    gram = (w1 @ w1.t()) * fprimes[0][:, :, None] * fprimes[0][:, None, :]
    for layer, fprime in zip(net.layers[1:net.depth], fprimes[1:]):
        w = layer.weight.detach().double()
        gram = (w @ gram @ w.t()) * fprime[:, :, None] * fprime[:, None, :]
    if not bool(torch.isfinite(gram).all()):
        return torch.full((1,), float("nan"), dtype=torch.float64)
    rank = min(w1.shape)
    return torch.linalg.eigvalsh(gram)[:, -rank:].clamp_min(0).sqrt().flatten()


def _network_diagnostics(net: MLP, zs: list[torch.Tensor], n_examples: int,
                         hists: dict[str, np.ndarray]) -> dict[str, float]:
    """The input-output Jacobian's singular values (:func:`io_jacobian_svs`): their summary and,
    into ``hists``, the histogram of their log10 (the spectrum spans decades with depth)."""
    svs = io_jacobian_svs(net, zs, n_examples)
    positive = svs[svs > 0].log10().float()
    lo, hi = (float(positive.min()), float(positive.max())) if positive.numel() else (-1.0, 1.0)
    counts, edges = _histogram(positive, lo, hi if hi > lo else lo + 1.0)
    hists["net/jac_io_log10sv_counts"], hists["net/jac_io_log10sv_edges"] = counts, edges
    return {"jac_io_sv_mean": float(svs.mean()), "jac_io_sv_std": float(svs.std()),
            "jac_io_sv_max": float(svs.max()), "jac_io_sv_min": float(svs.min())}


@torch.no_grad()
def probe(net: MLP, x: torch.Tensor, y: torch.Tensor, update: int, cost: str = "nll",
          jac_examples: int = 2) -> ProbeRecord:
    """All diagnostics of ``net`` on the probe examples ``x``, ``y`` at training step ``update``
    (the network-wide ones at update 0 only)."""
    zs = net.forward_trace(x)
    _, grad_logits = get_cost(cost)(zs[-1], y)
    ds = deltas(net, zs, grad_logits)
    layers, hists = [], {}
    for i in range(1, net.depth + 1):
        z, per_example_ds = zs[i], ds[i - 1] * len(y)
        dw = weight_grad(zs, ds, i - 1)
        layers.append({
            "act_mean": float(z.mean()),
            "act_std": float(z.std()),
            "act_p98": float(torch.quantile(z.flatten().float(), 0.98)),
            "dCds_std": float(per_example_ds.std()),
            "dCdW_std": float(dw.std()),
            "jac_sv_mean": jacobian_sv_mean(net, zs, i, jac_examples),
            "pre_std": float(affine(zs[i - 1], net.layers[i - 1].weight, net.layers[i - 1].bias).std()),
        })
        for name, (counts, edges) in {
            "act": _histogram(z, *_activation_range(net, z)),
            "dCds": _symmetric_histogram(per_example_ds),
            "dCdW": _symmetric_histogram(dw),
        }.items():
            hists[f"L{i}/{name}_counts"], hists[f"L{i}/{name}_edges"] = counts, edges
    network = _network_diagnostics(net, zs, jac_examples, hists) if update == 0 else {}
    return ProbeRecord(update=update, layers=layers, histograms=hists, network=network)
