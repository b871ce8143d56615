"""Many configurations at once: K networks of one shape trained as one batched model.

A sweep trains many networks that share a shape (depth, width, inputs, classes, batch
size, cost) and differ only in activation, initialisation, learning rate and seed. This
module stacks their weights, layer by layer, into ``(K, n_out, n_in)`` tensors and runs
the paper's SGD step (Section 2.3, back-propagation as in :mod:`glorot.paper.backprop`) for all
of them with batched matrix products:

    S^i   = Z^{i-1} W^i^T + b^i                        torch.baddbmm, (K, B, n_out)
    Z^i   = f_k(S^i)       for each slice k            one in-place call per run of one activation
    D^i   = (D^{i+1} W^{i+1}) * f_k'(Z^i)              torch.bmm
    W^i  <- W^i - lr_k D^i^T Z^{i-1}                   in-place torch.baddbmm_, one per run of one rate

Every configuration keeps its own data stream (its own seed, so its own batches, stacked
to ``(K, B, D)``), its own learning rate and its own initial weights, drawn exactly as
:class:`glorot.paper.nets.MLP` draws them for its seed. Each slice is therefore the same
computation as :func:`glorot.engine.loop.train` on that configuration alone. On CPU it is the
same arithmetic too: each slice of a batched product is the product the single step
computes, and the update uses ``alpha = -lr`` exactly as :func:`glorot.paper.backprop.sgd_step`
does, so the weights come out bit for bit equal (observed with MKL; the tests allow float
rounding, which other BLAS libraries or a GPU may introduce). Only the reported training
cost is summed differently (a few ulps). A configuration's numbers therefore do not depend
on which group a sweep put it in.

Activations may differ within a group: slices are ordered by activation so that each
activation (:mod:`glorot.paper.activations`, applied with ``out=``) runs once, in place,
on a contiguous view ``S[a:b]`` (no gather or scatter copies). The forward pass is the
paper's single definition, :func:`glorot.paper.nets.forward_trace`, on the stacked tensors,
and the costs are :mod:`glorot.paper.costs`, which take stacked logits. The element-wise work is ~0.1% of an update's arithmetic at width 1000,
so mixing activations costs nothing measurable (see ``docs/performance.md``).

Training a group, with each configuration's own schedule, divergence, checkpoints and
logger, is :func:`glorot.engine.loop.train_group`. Each slice is also an ordinary
:class:`~glorot.paper.nets.MLP` whose parameters are *views* of the stacked tensors, so
evaluation (:func:`glorot.engine.loop.error_rate`) and diagnostics (:func:`glorot.paper.probes.probe`)
read the current weights with no copy; :meth:`BatchedMLP.release` drops slices from the
stack (a slice that diverged or finished), giving their nets their own weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from glorot.config import TrainConfig
from glorot.errors import GlorotError
from glorot.paper.nets import MLP, forward_trace

#: The fields that must be equal for configurations to share a batched model and one data
#: bundle: the tensors' shapes (dataset -> inputs and classes, depth, width, batch size),
#: the cost, the device, and the fixed evaluation sets. Activation, init, lr, seed and the
#: schedule fields (updates, eval_every, probe_every, probe_size, jac_examples) may differ.
GROUP_FIELDS = ("dataset", "depth", "width", "batch_size", "cost", "device", "valid_size", "test_size")



def group_key(config: TrainConfig) -> tuple:
    """What configurations must share to be trained together (:data:`GROUP_FIELDS`)."""
    return tuple(getattr(config, name) for name in GROUP_FIELDS)


def group_configs(configs: Sequence[TrainConfig], max_group: int | None = None) -> list[list[TrainConfig]]:
    """Split ``configs`` into groups of equal :func:`group_key`, in order of first appearance.

    Within a group the input order is kept. ``max_group`` caps a group's size (a larger
    group is cut into consecutive pieces), e.g. to bound memory: K nets of the paper's
    shape hold K x 16.5 MB of weights.
    """
    if max_group is not None and max_group < 1:
        raise GlorotError(f"invalid max_group: must be >= 1 (got {max_group})")
    groups: dict[tuple, list[TrainConfig]] = {}
    for config in configs:
        groups.setdefault(group_key(config), []).append(config)
    out: list[list[TrainConfig]] = []
    for group in groups.values():
        step = max_group or len(group)
        out += [group[i:i + step] for i in range(0, len(group), step)]
    return out


def _runs(names: Sequence[str]) -> list[tuple[str, int, int]]:
    """Maximal runs ``(name, start, stop)`` of equal consecutive names."""
    runs: list[tuple[str, int, int]] = []
    for k, name in enumerate(names):
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1], k + 1)
        else:
            runs.append((name, k, k + 1))
    return runs


class BatchedMLP:
    """K :class:`MLP` s of one shape as stacked tensors, with a batched forward pass and SGD step.

    ``weights[i]`` is ``(K, n_out, n_in)`` and ``biases[i]`` is ``(K, 1, n_out)`` for
    ``layers[i]`` of every net; ``nets[k]``'s parameters are views of slice ``k``.
    """

    def __init__(self, nets: Sequence[MLP]) -> None:
        if not nets:
            raise GlorotError("BatchedMLP needs at least one net")
        shapes = {tuple(tuple(p.shape) for p in net.parameters()) for net in nets}
        if len(shapes) != 1:
            raise GlorotError("BatchedMLP needs nets of one shape (same depth, width, inputs and classes)")
        self.nets = list(nets)
        self.depth = nets[0].depth
        n_layers = len(nets[0].layers)
        with torch.no_grad():
            self.weights = [torch.stack([net.layers[i].weight.detach() for net in nets]) for i in range(n_layers)]
            self.biases = [torch.stack([net.layers[i].bias.detach() for net in nets]).unsqueeze(1)
                           for i in range(n_layers)]
        self._bind()
        self.runs = _runs([net.act.name for net in nets])

    def __len__(self) -> int:
        return len(self.nets)

    def _bind(self) -> None:
        """Point every net's parameters at its slice of the stacked tensors."""
        for k, net in enumerate(self.nets):
            for i, layer in enumerate(net.layers):
                layer.weight.data = self.weights[i][k]
                layer.bias.data = self.biases[i][k, 0]

    def release(self, keep: Sequence[int]) -> list[MLP]:
        """Keep only slices ``keep`` (in that order); the others' nets get their own weights and are returned."""
        keep = list(keep)
        gone = [net for k, net in enumerate(self.nets) if k not in keep]
        with torch.no_grad():
            for net in gone:
                for layer in net.layers:
                    layer.weight.data = layer.weight.data.clone()
                    layer.bias.data = layer.bias.data.clone()
            if keep:
                index = torch.tensor(keep, device=self.weights[0].device)
                self.weights = [w.index_select(0, index) for w in self.weights]
                self.biases = [b.index_select(0, index) for b in self.biases]
        self.nets = [self.nets[k] for k in keep]
        self.runs = _runs([net.act.name for net in self.nets])
        if keep:
            self._bind()
        else:
            self.weights, self.biases = [], []
        return gone

    def _activate_(self, s: torch.Tensor) -> torch.Tensor:
        """Each slice's activation, in place, one call per run of slices sharing it."""
        for _, a, b in self.runs:
            view = s[a:b]
            self.nets[a].act.fn(view, out=view)
        return s

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[Z^0 = x, Z^1, ..., Z^depth, logits], each ``(K, B, .)``: :func:`glorot.paper.nets.forward_trace`
        on the stacked weights, :meth:`MLP.forward_trace` per slice."""
        return forward_trace(self.weights, self.biases, self._activate_, x)

    @torch.no_grad()
    def sgd_step(self, zs: list[torch.Tensor], grad_logits: torch.Tensor,
                 lr: float | Sequence[float] | torch.Tensor, alive: torch.Tensor | None = None) -> None:
        """One SGD update of every slice, top layer down, as :func:`glorot.paper.backprop.sgd_step` per slice.

        ``lr`` is one float for all slices, a sequence of K floats, or a ``(K, 1, 1)`` tensor.
        With floats, each run of equal consecutive rates is one in-place ``baddbmm_`` with
        ``alpha = -lr``, the very arithmetic of ``addmm_(..., alpha=-lr)`` in
        :func:`~glorot.paper.backprop.sgd_step`, so on CPU every slice's weights come out bit for bit
        the same as training it alone. A tensor scales the deltas first (``lr * D``) and
        updates all slices in one call whatever their rates: fewer kernels (on a GPU with
        many distinct rates), but rounded differently from the single-configuration step.

        ``alive`` (K bools, on the device) freezes the slices where it is False without a
        host-side check: their deltas and layer inputs are replaced by exact zeros, so their
        update adds exactly 0 whatever NaN or inf their forward pass produced, and the others'
        arithmetic is unchanged. :mod:`glorot.engine.steps` uses it to check divergence on
        the device.
        """
        if isinstance(lr, torch.Tensor):
            runs = None
        else:
            rates = [float(lr)] * len(self) if isinstance(lr, (int, float)) else [float(v) for v in lr]
            if len(rates) != len(self):
                raise GlorotError(f"sgd_step got {len(rates)} learning rates for {len(self)} slices")
            runs = _runs(rates)
        mask = None if alive is None else alive.view(-1, 1, 1)
        delta = grad_logits if mask is None else torch.where(mask, grad_logits, 0)
        for i in range(self.depth, -1, -1):
            w, b = self.weights[i], self.biases[i]
            z = zs[i] if mask is None else torch.where(mask, zs[i], 0)
            below = None
            if i > 0:
                below = torch.bmm(delta, w)
                for _, a, c in self.runs:
                    below[a:c].mul_(self.nets[a].act.grad_from_output(z[a:c]))
                if mask is not None:
                    below = torch.where(mask, below, 0)
            if runs is None:
                scaled = delta * lr
                w.baddbmm_(scaled.transpose(1, 2), z, alpha=-1.0)
                b.sub_(scaled.sum(1, keepdim=True))
            elif len(runs) == 1:
                w.baddbmm_(delta.transpose(1, 2), z, alpha=-runs[0][0])
                b.sub_(delta.sum(1, keepdim=True), alpha=runs[0][0])
            else:
                for rate, a, c in runs:
                    w[a:c].baddbmm_(delta[a:c].transpose(1, 2), z[a:c], alpha=-rate)
                    b[a:c].sub_(delta[a:c].sum(1, keepdim=True), alpha=rate)
            delta = below

