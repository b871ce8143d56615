"""The training step: one SGD update of K >= 1 stacked configurations, behind one small
interface, with an implementation per device.

A step reads its batch from :meth:`~Step.load` (``x`` ``(K, B, D)``, ``y`` ``(K, B)``),
applies one update of every live slice with :meth:`~Step.step`, and keeps the bookkeeping
the training loop needs: per slice, whether it is alive (a non-finite cost stops it, and
the update whose cost was not finite is not applied: the paper's SGD, Section 2.3, cannot
go on from there), the update at which it diverged, and the running sum and count of its
training costs. The loop calls :meth:`~Step.read` only when some configuration has
something to do (:mod:`glorot.engine.schedule`), never in between.

* :class:`EagerStep`, the CPU step: it reads each update's costs back (free on a CPU) and
  masks a slice only once it has diverged, so the update is the plain stacked step of
  :meth:`glorot.engine.stacked.BatchedMLP.sgd_step`.
* :class:`DeviceStep` keeps the bookkeeping on the device and masks every update, so it
  never synchronises; :class:`GraphedStep` captures it in a CUDA graph and replays it, one
  launch per update (at mini-batch 10 a GPU finishes the paper's 1000x1000 products in
  microseconds, so an eager GPU step is bound by launches and by reading the cost back).
  It runs, and is tested, on a CPU too.

All three do the same arithmetic, so a configuration's numbers do not depend on the step
(up to a GPU's own rounding). :func:`make_step` picks one for a device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from glorot.engine.stacked import BatchedMLP
from glorot.errors import GlorotError
from glorot.paper.costs import get_cost

#: Updates of training batches drawn from the streams (and moved to the device) at once.
PREFETCH = 256


@dataclass
class Book:
    """A step's bookkeeping as host values: per slice alive, the update (counted from the
    step's start) at which it diverged (0 if alive), and its finite costs' sum and count since
    the last :meth:`Step.reset_nll`; ``updates``: steps taken."""

    alive: list[bool]
    diverged_at: list[int]
    nll_sum: list[float]
    nll_n: list[int]
    updates: int


class Step(Protocol):
    """What the training loop needs of a step (see the module docstring)."""

    def load(self, x: torch.Tensor, y: torch.Tensor) -> None: ...

    def step(self) -> None: ...

    def read(self) -> Book: ...

    def reset_nll(self) -> None: ...


class EagerStep:
    """The CPU step: one stacked SGD update per call, the costs read back after each."""

    def __init__(self, model: BatchedMLP, lrs: Sequence[float], cost: str) -> None:
        if len(lrs) != len(model):
            raise GlorotError(f"EagerStep got {len(lrs)} learning rates for {len(model)} slices")
        self.model, self.lrs, self.cost = model, [float(v) for v in lrs], get_cost(cost)
        k = len(model)
        self.book = Book([True] * k, [0] * k, [0.0] * k, [0] * k, 0)
        self.mask: torch.Tensor | None = None  # set once a slice has diverged
        self.x = self.y = None

    def load(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    @torch.no_grad()
    def step(self) -> None:
        book = self.book
        book.updates += 1
        zs = self.model.forward_trace(self.x)
        loss, grad = self.cost(zs[-1], self.y)
        for k, value in enumerate(loss.tolist()):
            if not book.alive[k]:
                continue
            if math.isfinite(value):
                book.nll_sum[k] += value
                book.nll_n[k] += 1
            else:
                book.alive[k], book.diverged_at[k] = False, book.updates
                self.mask = torch.tensor(book.alive, device=grad.device)
        self.model.sgd_step(zs, grad, self.lrs, alive=self.mask)

    def read(self) -> Book:
        return Book(list(self.book.alive), list(self.book.diverged_at), list(self.book.nll_sum),
                    list(self.book.nll_n), self.book.updates)

    def reset_nll(self) -> None:
        k = len(self.book.alive)
        self.book.nll_sum, self.book.nll_n = [0.0] * k, [0] * k


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
        self.model, self.lrs, self.cost = model, [float(v) for v in lrs], get_cost(cost)
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

    def read(self) -> Book:
        """The bookkeeping as host values (one synchronisation)."""
        return Book(self.alive.tolist(), self.diverged_at.tolist(), self.nll_sum.tolist(), self.nll_n.tolist(),
                    int(self.updates))

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

    def read(self) -> Book:
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


def make_step(model: BatchedMLP, lrs: Sequence[float], cost: str, batch_size: int, n_in: int,
              sync_free: bool | None = None) -> Step:
    """The step for ``model``'s device: :class:`EagerStep` on a CPU, the CUDA-graph capture of
    :class:`DeviceStep` on a GPU. ``sync_free=True`` takes :class:`DeviceStep` on a CPU too
    (for tests), ``False`` :class:`EagerStep` on a GPU."""
    cuda = model.weights[0].device.type == "cuda"
    if not (cuda if sync_free is None else sync_free):
        return EagerStep(model, lrs, cost)
    step = DeviceStep(model, lrs, cost, batch_size, n_in)
    return GraphedStep(step) if cuda else step


def run(step: Step, x: torch.Tensor, y: torch.Tensor) -> None:
    """Apply ``step`` to each prefetched batch ``x[j]``, ``y[j]``, with no host synchronisation:
    the one loop over training updates, supervised (:mod:`glorot.engine.loop`) or pre-training
    (:mod:`glorot.engine.pretraining`)."""
    for xb, yb in zip(x, y):
        step.load(xb, yb)
        step.step()


def feed(step: Step, streams: Sequence, n: int, device: torch.device) -> None:
    """Run ``n`` updates of ``step`` on the next batches of its K ``streams``, :data:`PREFETCH`
    updates' batches moved to ``device`` at a time."""
    for done in range(0, n, PREFETCH):
        run(step, *prefetch(streams, min(PREFETCH, n - done), device))
