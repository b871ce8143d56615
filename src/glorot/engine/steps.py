"""The training step with no host synchronisation, and its capture in a CUDA graph.

At mini-batch 10 a GPU finishes the paper's 1000x1000 products in microseconds, so an
eager step is bound by kernel launches (tens per update) and by the ``loss.item()`` that
:func:`glorot.engine.loop.train` does after every update to detect divergence. This module
removes both:

* :class:`DeviceStep` is one SGD step of a :class:`~glorot.engine.stacked.BatchedMLP` (K >= 1
  configurations) reading its batch from static buffers ``x`` ``(K, B, D)`` and ``y``
  ``(K, B)``, that keeps everything the trainer needs on the device: a per-slice ``alive``
  flag (cleared by a non-finite cost, after which the slice's update adds exactly 0, see
  :meth:`BatchedMLP.sgd_step`), the update at which each slice diverged, and the running
  sums of the training cost. The host reads them when it wants to (every N updates, at
  evaluations), not after every update. Its arithmetic is the eager step's, so it runs
  (and is tested) on CPU too.
* :class:`GraphedStep` captures one :meth:`DeviceStep.step` in a ``torch.cuda.CUDAGraph``
  and replays it: one launch per update. Training data are prefetched to the device in
  chunks (:func:`prefetch`) and copied into the static buffers before each replay.

Semantics match :func:`glorot.engine.loop.train` per slice: the update whose cost is not finite
is not applied and the slice stops there (``diverged_at`` is that update; its weights stay
as they were); the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from glorot.engine.stacked import BATCHED_COSTS, BatchedMLP
from glorot.errors import GlorotError


class DeviceStep:
    """One SGD step of ``model`` on the static batch buffers, with device-side bookkeeping.

    ``lrs`` are the slices' learning rates (floats: the exact per-rate update of
    :meth:`BatchedMLP.sgd_step`). After ``n`` calls of :meth:`step`, :meth:`read` gives,
    per slice, whether it is alive, the update at which it diverged (0 if alive), and the
    sum and count of its finite training costs since the last :meth:`reset_nll`.
    """

    def __init__(self, model: BatchedMLP, lrs: Sequence[float], cost: str, batch_size: int, n_in: int) -> None:
        if len(lrs) != len(model):
            raise GlorotError(f"DeviceStep got {len(lrs)} learning rates for {len(model)} slices")
        if cost not in BATCHED_COSTS:
            raise GlorotError(f"unknown cost {cost!r}; valid: {', '.join(BATCHED_COSTS)}")
        self.model, self.lrs, self.cost = model, [float(v) for v in lrs], BATCHED_COSTS[cost]
        device, k = model.weights[0].device, len(model)
        self.x = torch.zeros(k, batch_size, n_in, device=device, dtype=model.weights[0].dtype)
        self.y = torch.zeros(k, batch_size, device=device, dtype=torch.long)
        self.alive = torch.ones(k, device=device, dtype=torch.bool)
        self.diverged_at = torch.zeros(k, device=device, dtype=torch.long)
        self.updates = torch.zeros((), device=device, dtype=torch.long)
        self.nll_sum = torch.zeros(k, device=device, dtype=torch.float64)
        self.nll_n = torch.zeros(k, device=device, dtype=torch.long)

    @torch.no_grad()
    def step(self) -> None:
        """One update of every live slice from ``x``, ``y``; no host synchronisation."""
        self.updates.add_(1)
        zs = self.model.forward_trace(self.x)
        loss, grad = self.cost(zs[-1], self.y)
        ok = torch.isfinite(loss).logical_and_(self.alive)
        self.diverged_at.copy_(torch.where(self.alive & ~ok, self.updates, self.diverged_at))
        self.alive.copy_(ok)
        self.nll_sum.add_(torch.where(ok, loss.double(), 0.0))
        self.nll_n.add_(ok.long())
        self.model.sgd_step(zs, grad, self.lrs, alive=ok)

    def load(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Copy one batch ``(K, B, D)``, ``(K, B)`` (already on the device) into the static buffers."""
        self.x.copy_(x, non_blocking=True)
        self.y.copy_(y, non_blocking=True)

    def read(self) -> dict[str, list]:
        """The bookkeeping as host lists (one synchronisation)."""
        return {"alive": self.alive.tolist(), "diverged_at": self.diverged_at.tolist(),
                "nll_sum": self.nll_sum.tolist(), "nll_n": self.nll_n.tolist(), "updates": int(self.updates)}

    def reset_nll(self) -> None:
        self.nll_sum.zero_()
        self.nll_n.zero_()

    def state(self) -> list[torch.Tensor]:
        """Every tensor a step changes: the weights, biases and the bookkeeping."""
        return [*self.model.weights, *self.model.biases, self.alive, self.diverged_at, self.updates,
                self.nll_sum, self.nll_n]


class GraphedStep:
    """:meth:`DeviceStep.step` captured once in a CUDA graph; :meth:`step` replays it.

    Capturing needs a few warm-up steps on a side stream; they change the weights, so the
    state is saved before and restored after, and the first replay starts from the state
    the :class:`DeviceStep` had when this was built. ``x``/``y`` buffers and the weights
    keep their addresses, which is what the graph reads and writes.
    """

    def __init__(self, inner: DeviceStep, warmup: int = 3) -> None:
        if not torch.cuda.is_available() or inner.x.device.type != "cuda":
            raise GlorotError("invalid device: a CUDA graph needs a model on a CUDA device")
        self.inner = inner
        saved = [t.clone() for t in inner.state()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                inner.step()
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            inner.step()
        with torch.no_grad():
            for t, s in zip(inner.state(), saved):
                t.copy_(s)
        torch.cuda.synchronize()

    def load(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.inner.load(x, y)

    def step(self) -> None:
        self.graph.replay()

    def read(self) -> dict[str, list]:
        return self.inner.read()

    def reset_nll(self) -> None:
        self.inner.reset_nll()


def prefetch(streams: Sequence, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The next ``n`` batches of each of the K ``streams``, stacked to ``(n, K, B, D)`` and
    ``(n, K, B)`` on ``device`` in one transfer (from pinned memory, asynchronous, on CUDA)."""
    xs, ys = [], []
    for _ in range(n):
        batches = [next(s) for s in streams]
        xs.append(np.stack([b[0] for b in batches]))
        ys.append(np.stack([b[1] for b in batches]))
    x, y = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))
    if device.type == "cuda":
        x, y = x.pin_memory(), y.pin_memory()
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def run(step: DeviceStep | GraphedStep, x: torch.Tensor, y: torch.Tensor) -> None:
    """Apply ``step`` to each prefetched batch ``x[j]``, ``y[j]``, with no host synchronisation."""
    for xb, yb in zip(x, y):
        step.load(xb, yb)
        step.step()
