"""``init: dae``: greedy layer-wise denoising auto-encoder pre-training as a phase of the engine.

The maths -- masking noise, the tied-weight auto-encoder's gradients and reconstruction cost,
the clean codes of the layers below -- is :mod:`glorot.paper.pretraining`'s (the paper contrasts
pre-trained sigmoid nets with its own initialisation, Section 3.1). This module runs it the way
the engine runs supervised training: :class:`DAEStep` is a :class:`~glorot.engine.steps.Step`
(one SGD update of one hidden layer as a DAE per call), fed by the engine's one loop over
prefetched batches (:func:`glorot.engine.steps.feed`) up to the next point where a
:class:`~glorot.engine.schedule.Schedule` says something is due: a report of the reconstruction
cost, a checkpoint, the end of a layer.

A configuration pre-trains its hidden layers one after the other before its first supervised
update, layer k for ``pretrain_updates`` updates on the clean codes of layers 1..k-1. Its
batches come from its own stream of the training data (:data:`PRETRAIN_STREAM_SEED`), its masks
from one generator seeded by ``seed``, drawn in update order across the layers. Every
``max(1, pretrain_updates // 20)``-th update of a layer, the mean reconstruction cost of those
updates goes to the logger as ``pretrain/L{k}/reconstruction`` at step ``(k - 1) *
pretrain_updates + update``. :meth:`Pretraining.state` is everything the rest of the phase
depends on (position, generator, the running layer's decoder bias, the costs of the running
report stretch): a checkpoint holds it, so a run killed while pre-training resumes with the
numbers of one never interrupted.
"""

from __future__ import annotations

from typing import Any

import torch

from glorot.config import PRETRAINED, TrainConfig
from glorot.data.sources import DataBundle
from glorot.engine.records import Logger
from glorot.engine.schedule import Actions, Schedule
from glorot.engine.steps import Book
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.paper.pretraining import INPUT_RANGE, Reconstruction, check_args, corrupt, dae_gradients, encode

#: Pre-training reads its own stream of the training data, seeded apart from the supervised one,
#: so that supervised training sees the same batches with or without pre-training.
PRETRAIN_STREAM_SEED = 1_000_003
#: Reports of the reconstruction cost per layer.
REPORTS_PER_LAYER = 20


def pretrain_updates(config: TrainConfig) -> int:
    """The pre-training updates of ``config``, all layers together (0 unless ``init: dae``)."""
    return config.depth * config.pretrain_updates if config.init == PRETRAINED else 0


class DAEStep:
    """One SGD update of hidden layer ``layer`` (1-based) of ``net``, trained in place as a
    tied-weight DAE with its own decoder bias (:func:`glorot.paper.pretraining.dae_gradients`),
    per :meth:`step`, on the batch of :meth:`load`. Each update's mean reconstruction cost stays
    on the device (room for ``capacity`` of them) until :meth:`read` or :meth:`mean_cost`."""

    def __init__(self, net: MLP, layer: int, lr: float, noise: float, generator: torch.Generator, capacity: int,
                 decoder_bias: torch.Tensor | None = None, costs: torch.Tensor | None = None) -> None:
        lin = net.hidden[layer - 1]
        self.net, self.layer, self.lr, self.noise, self.generator = net, layer, lr, noise, generator
        self.w, self.b = lin.weight, lin.bias
        like = dict(dtype=self.w.dtype, device=self.w.device)
        self.c = torch.zeros(self.w.shape[1], **like) if decoder_bias is None else decoder_bias.to(**like)
        self.recon = Reconstruction(*(INPUT_RANGE if layer == 1 else net.act.output_range))
        self.costs, self.n, self.updates, self.x = torch.empty(capacity, **like), 0, 0, None
        if costs is not None:
            self.n = len(costs)
            self.costs[:self.n] = costs.to(**like)

    def load(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The inputs of one configuration's batch, ``x`` ``(1, B, D)``; DAEs use no labels."""
        self.x = x[0]

    @torch.no_grad()
    def step(self) -> None:
        z = encode(self.net, self.layer - 1, self.x)
        g = dae_gradients(self.w, self.b, self.c, self.net.act, self.recon, z, corrupt(z, self.noise, self.generator))
        self.w.sub_(g.weight, alpha=self.lr)
        self.b.sub_(g.bias, alpha=self.lr)
        self.c.sub_(g.decoder_bias, alpha=self.lr)
        self.costs[self.n] = g.cost
        self.n, self.updates = self.n + 1, self.updates + 1

    def read(self) -> Book:
        """Whether every cost since :meth:`reset_nll` is finite (the first that is not: where
        it diverged), and the finite ones' sum and count."""
        costs = self.costs[:self.n]
        finite = torch.isfinite(costs)
        bad = (~finite).nonzero()
        diverged_at = self.updates - self.n + int(bad[0]) + 1 if len(bad) else 0
        return Book([not len(bad)], [diverged_at], [float(costs[finite].double().sum())], [int(finite.sum())],
                    self.updates)

    def mean_cost(self) -> float:
        """The mean reconstruction cost of the updates since :meth:`reset_nll` (what is reported)."""
        return float(self.costs[:self.n].mean())

    def reset_nll(self) -> None:
        self.n = 0

    def state(self) -> dict[str, torch.Tensor]:
        """The decoder bias and the costs since :meth:`reset_nll`, on the CPU."""
        return {"decoder_bias": self.c.cpu().clone(), "costs": self.costs[:self.n].cpu().clone()}


class Pretraining:
    """One configuration's pre-training phase: its position (``done`` updates of ``total``),
    stream, generator and the step of its running layer; ``saved`` (a :meth:`state`) resumes it."""

    def __init__(self, net: MLP, config: TrainConfig, data: DataBundle, checkpoint_every: int | None,
                 saved: dict[str, Any] | None = None) -> None:
        self.net, self.config, self.per_layer = net, config, config.pretrain_updates
        self.report_every = max(1, self.per_layer // REPORTS_PER_LAYER)
        check_args(net, self.per_layer, config.pretrain_lr, config.pretrain_noise, config.seed, self.report_every,
                   INPUT_RANGE)
        self.total = pretrain_updates(config)
        self.schedule = Schedule(self.per_layer, self.report_every, 0, checkpoint_every)
        self.stream = data.train_stream(config.seed + PRETRAIN_STREAM_SEED, config.batch_size)
        self.generator = torch.Generator(device=net.layers[0].weight.device).manual_seed(config.seed)
        self.done, self.step = 0, None
        if saved is not None:
            self.done = saved["done"]
            self.stream.skip(saved["batches_served"])
            self.generator.set_state(saved["generator"])
        if not self.finished:
            self._start_layer(saved)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def layer(self) -> int:
        """The hidden layer being trained (1-based)."""
        return self.done // self.per_layer + 1

    def _start_layer(self, saved: dict[str, Any] | None = None) -> None:
        c = self.config
        self.step = DAEStep(self.net, self.layer, c.pretrain_lr, c.pretrain_noise, self.generator, self.report_every,
                            *((saved["decoder_bias"], saved["costs"]) if saved else ()))

    def to_next_action(self) -> int:
        """Updates from here to the next report, checkpoint or end of a layer."""
        return self.schedule.to_next_action(self.done % self.per_layer)

    def advanced(self, n: int, logger: Logger) -> Actions:
        """Take the step's book after ``n`` more updates (which :meth:`to_next_action` gave):
        a one-line error if a cost was not finite, the report if one is due, the next layer's
        step at the end of one; returns what the schedule says is due now."""
        layer = self.layer
        if not self.step.read().alive[0]:
            raise GlorotError(f"{self.config.label}: pre-training of layer {layer} diverged (non-finite "
                              f"reconstruction cost); lower pretrain_lr ({self.config.pretrain_lr:g})")
        self.done += n
        update = self.done - (layer - 1) * self.per_layer
        if update % self.report_every == 0:
            logger.log_pretraining({f"pretrain/L{layer}/reconstruction": self.step.mean_cost()}, self.done)
            self.step.reset_nll()
        due = self.schedule.actions(update)
        if due.end and not self.finished:
            self._start_layer()
        return due

    def state(self) -> dict[str, Any]:
        """What the rest of the phase depends on (see the module docstring), for a checkpoint."""
        return {"done": self.done, "batches_served": self.stream.batches_served,
                "generator": self.generator.get_state(), **self.step.state()}
