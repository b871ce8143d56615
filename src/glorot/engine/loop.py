"""The training loop of the paper (Section 2.3): plain SGD on mini-batches, no momentum,
no weight decay, theta <- theta - eps * g with g the mean gradient over the mini-batch.

There is one loop, :func:`train_group`, and it trains K >= 1 configurations that share a
:func:`~glorot.engine.stacked.group_key` as one stacked model
(:class:`~glorot.engine.stacked.BatchedMLP`); :func:`train` is a group of one. Each
configuration keeps its own data stream, learning rate, schedule (:mod:`glorot.engine.schedule`),
logger and checkpoints, and gets the same numbers as it would alone.

The loop runs as many updates as lead to the nearest point where some configuration has
something to do (evaluate, probe, checkpoint, end), through the step of its device
(:mod:`glorot.engine.steps`), then reads the step's bookkeeping once and acts. A
configuration whose cost becomes NaN or infinite stops with status ``diverged`` at that
update (which is not applied) instead of raising; the others go on. One that diverges or
reaches its own ``updates`` leaves the group (its slice leaves the stacked tensors).

A configuration with ``init: dae`` first runs its pre-training phase
(:mod:`glorot.engine.pretraining`) through the same loop, schedule, checkpoints, progress bar
and logger, one configuration after the other, before the group's first evaluation.

The loop reports to a :class:`~glorot.engine.records.Logger` and knows nothing of MLflow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from glorot.config import PRETRAINED, TrainConfig
from glorot.data.sources import DataBundle
from glorot.engine.checkpoint import Checkpointer, restore_state, train_state
from glorot.engine.records import (Logger, NullLogger, TrainResult, correct, error_rate, record_evaluation,
                                  record_probe)
from glorot.engine.schedule import Schedule
from glorot.engine.stacked import GROUP_FIELDS, BatchedMLP, group_key
from glorot.engine.pretraining import Pretraining, pretrain_updates
from glorot.engine.steps import feed, make_step
from glorot.errors import GlorotError
from glorot.paper.lsuv import LSUV, LSUV_BATCH, lsuv_
from glorot.paper.nets import MLP
from glorot.paper.selection import Trial, choose_lr


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise GlorotError("invalid device: 'cuda' requested but no CUDA device is available")
    return torch.device(name)


#: LSUV (``init: lsuv``) reads its batch from a stream of the training data seeded apart from the
#: supervised one, as pre-training does, so that supervised training sees the same batches either way.
LSUV_STREAM_SEED = 2_000_003


def build_net(config: TrainConfig, data: DataBundle) -> MLP:
    """The configured net for ``data``'s input size and classes, initialised from ``config.seed``
    (``init: dae`` starts from the standard initialisation, then pre-trains:
    :mod:`glorot.engine.pretraining`; ``init: lsuv`` is rescaled on a batch of its own training
    stream, :func:`glorot.paper.lsuv.lsuv_`)."""
    init = "standard" if config.init == PRETRAINED else config.init
    net = MLP(data.n_in, data.n_classes, config.depth, config.width, config.activation, init, seed=config.seed)
    if config.init == LSUV:
        lsuv_(net, torch.as_tensor(next(data.train_stream(config.seed + LSUV_STREAM_SEED, LSUV_BATCH))[0]))
    return net


class _Member:
    """One configuration while its group trains: its net (a slice of the stacked model), its
    stream, schedule, result, running cost sums, logger and checkpointer, and with ``init:
    dae`` its pre-training phase until that ends. Members resumed from checkpoints may be at
    different updates."""

    def __init__(self, index: int, config: TrainConfig, data: DataBundle, logger: Logger,
                 checkpointer: Checkpointer | None, device: torch.device) -> None:
        self.index, self.config, self.logger, self.checkpointer = index, config, logger, checkpointer
        self.schedule = Schedule(config.updates, config.eval_every, config.probe_every,
                                 checkpointer.every if checkpointer else None)
        self.net = build_net(config, data).to(device)
        self.stream = data.train_stream(config.seed, config.batch_size)
        self.probe_x = data.test.x[:config.probe_size].to(device)
        self.probe_y = data.test.y[:config.probe_size].to(device)
        self.result = TrainResult("completed", 0, None, math.nan, math.nan)
        self.nll_sum, self.nll_n, self.elapsed = 0.0, 0, 0.0
        saved = checkpointer.load(config) if checkpointer else None
        if saved is not None:
            restore_state(saved, self.net, self.stream, self.result)
            self.nll_sum, self.nll_n, self.elapsed = saved.nll_sum, saved.nll_n, saved.seconds
        self.started = saved is not None and saved.pretrain is None  # past update 0's evaluation
        self.pretraining = None
        if config.init == PRETRAINED and not self.started:
            self.pretraining = Pretraining(self.net, config, data, self.schedule.checkpoint_every,
                                           saved.pretrain if saved else None)

    @property
    def update(self) -> int:
        return self.result.updates

    @property
    def progress(self) -> int:
        """Updates done, pre-training's included (:func:`~glorot.engine.pretraining.pretrain_updates`)."""
        return self.update + (self.pretraining.done if self.pretraining else pretrain_updates(self.config))

    def evaluate(self, data: DataBundle, device: torch.device) -> dict[str, float]:
        """Validation and test error now, with the mean training cost since the last evaluation."""
        train_nll = self.nll_sum / self.nll_n if self.nll_n else math.nan
        self.nll_sum, self.nll_n = 0.0, 0
        return record_evaluation(self.net, data, device, self.update, train_nll, self.result, self.logger)

    def diagnose(self) -> None:
        record_probe(self.net, self.probe_x, self.probe_y, self.update, self.config, self.result, self.logger)

    def diverge(self, update: int) -> None:
        """Record that the cost of ``update`` was not finite (that update was not applied)."""
        self.result.status, self.result.diverged_at, self.result.updates = "diverged", update, update - 1
        self.logger.log_metrics({"diverged_at": float(update)}, update)

    def checkpoint(self, seconds: float) -> None:
        """Flush the logger, then save this member's state (:mod:`glorot.engine.checkpoint`)."""
        self.logger.flush()
        self.checkpointer.save(self.config, train_state(
            self.update, self.net, self.stream, self.result, self.nll_sum, self.nll_n, self.elapsed + seconds,
            self.pretraining.state() if self.pretraining else None))


@dataclass
class _Group:
    """The members still training, their stacked model and step, and the finished ones."""

    members: list[_Member]
    data: DataBundle
    device: torch.device
    bar: tqdm
    sync_free: bool | None

    def __post_init__(self) -> None:
        self.start = time.perf_counter()
        for m in self.members:
            if m.pretraining:
                self.pretrain(m)
        self.model = BatchedMLP([m.net for m in self.members])
        self.finished: list[_Member] = []
        self.step = None
        for m in self.members:
            if not m.started:
                self.evaluate(m)
                m.diagnose()
        self.leave([k for k, m in enumerate(self.members) if m.update < m.config.updates])

    def pretrain(self, m: _Member) -> None:
        """Run ``m``'s pre-training phase (:mod:`glorot.engine.pretraining`) to its end, as the
        supervised updates run: up to the next action, then the book, reports and checkpoints."""
        phase = m.pretraining
        while not phase.finished:
            n = phase.to_next_action()
            feed(phase.step, [phase.stream], n, self.device)
            self.bar.update(n)
            if phase.advanced(n, m.logger).checkpoint:
                m.checkpoint(time.perf_counter() - self.start)
        m.pretraining = None

    def evaluate(self, m: _Member) -> None:
        point = m.evaluate(self.data, self.device)
        if len(self.members) == 1:
            self.bar.set_postfix(valid=f"{point['valid/error']:.3f}", nll=f"{point['train/nll']:.3f}")

    def leave(self, keep: list[int]) -> None:
        """Keep only members ``keep``; the others are finished (their step is rebuilt)."""
        if len(keep) == len(self.members):
            return
        self.model.release(keep)
        now = time.perf_counter() - self.start
        for k, m in enumerate(self.members):
            if k not in keep:
                m.result.seconds = m.elapsed + now
                self.finished.append(m)
        self.members = [self.members[k] for k in keep]
        self.step = None

    def advance(self) -> None:
        """Run the updates up to the nearest action of any member, then take the step's book."""
        if self.step is None:
            first = self.members[0].config
            self.step = make_step(self.model, [m.config.lr for m in self.members], first.cost, first.batch_size,
                                  self.data.n_in, self.sync_free)
            self.base = [m.update for m in self.members]
        n = min(m.schedule.to_next_action(m.update) for m in self.members)
        feed(self.step, [m.stream for m in self.members], n, self.device)
        book = self.step.read()
        self.step.reset_nll()
        keep = []
        for k, m in enumerate(self.members):
            m.nll_sum, m.nll_n = m.nll_sum + book.nll_sum[k], m.nll_n + book.nll_n[k]
            if book.alive[k]:
                m.result.updates = self.base[k] + book.updates
                keep.append(k)
            else:
                m.diverge(self.base[k] + book.diverged_at[k])
        self.bar.update(n * len(keep))
        self.leave(keep)

    def act(self) -> None:
        """What each member does at its current update; the ones that reached their end leave."""
        keep = []
        for k, m in enumerate(self.members):
            due = m.schedule.actions(m.update)
            if due.evaluate:
                self.evaluate(m)
            if due.probe:
                m.diagnose()
            if due.checkpoint:
                m.checkpoint(time.perf_counter() - self.start)
            if not due.end:
                keep.append(k)
        self.leave(keep)

    def results(self, n: int) -> list[tuple[MLP, TrainResult]]:
        """The finished members' nets and results, in the order of the configurations given."""
        self.bar.close()
        for m in self.finished:
            m.result.valid_error = error_rate(m.net, self.data.valid, self.device)
            m.result.test_correct = correct(m.net, self.data.test, self.device)
            m.result.test_error = error_rate(m.net, self.data.test, self.device, m.result.test_correct)
            m.logger.flush()
        by_index = {m.index: (m.net, m.result) for m in self.finished}
        return [by_index[k] for k in range(n)]


def _check_group(configs: Sequence[TrainConfig], loggers: list, checkpointers: list) -> None:
    if len({group_key(c) for c in configs}) != 1:
        raise GlorotError(f"train_group needs configurations with one group_key ({', '.join(GROUP_FIELDS)}); "
                          f"got {len({group_key(c) for c in configs})} different ones: use group_configs")
    if not len(loggers) == len(checkpointers) == len(configs):
        raise GlorotError(f"train_group got {len(loggers)} loggers and {len(checkpointers)} checkpointers "
                          f"for {len(configs)} configurations")


def train_group(configs: Sequence[TrainConfig], data: DataBundle, loggers: Sequence[Logger | None] | None = None,
                progress: bool = False, checkpointers: Sequence[Checkpointer | None] | None = None,
                sync_free: bool | None = None) -> list[tuple[MLP, TrainResult]]:
    """Train ``configs`` (one :func:`~glorot.engine.stacked.group_key`) together; returns each
    one's net and :class:`TrainResult`, in the order given, the same as training it alone.

    Each configuration evaluates every ``eval_every`` updates and takes the diagnostics every
    ``probe_every`` (and both at the start and the end), reported to its own logger;
    ``updates`` may differ. With a checkpointer (one per configuration, or None), a
    configuration saves its state every ``checkpointer.every`` of its updates, after
    flushing its logger, and one with a saved state resumes from it, so a killed run, in
    any group or alone, finishes with the numbers of one never interrupted. ``sync_free``
    picks the step (:func:`glorot.engine.steps.make_step`; None: the device's own).
    ``TrainResult.seconds`` is the group's wall time while that configuration was in it
    (pre-training included), plus what its checkpoint recorded.
    """
    if not configs:
        return []
    loggers = list(loggers) if loggers is not None else [None] * len(configs)
    checkpointers = list(checkpointers) if checkpointers is not None else [None] * len(configs)
    _check_group(configs, loggers, checkpointers)
    device = resolve_device(configs[0].device)
    # Members ordered by activation, then rate (stable): each activation is one contiguous
    # slice of the stacked tensors, and each rate within it one update call.
    order = sorted(range(len(configs)), key=lambda k: (configs[k].activation, configs[k].lr))
    members = [_Member(k, configs[k], data, loggers[k] or NullLogger(), checkpointers[k], device) for k in order]
    bar = tqdm(total=sum(m.config.updates + pretrain_updates(m.config) for m in members),
               initial=sum(m.progress for m in members),
               disable=not progress, unit="upd", dynamic_ncols=True)
    with torch.no_grad():
        group = _Group(members, data, device, bar, sync_free)
        while group.members:
            group.advance()
            if group.members:
                group.act()
    return group.results(len(configs))


def train(config: TrainConfig, data: DataBundle, logger: Logger | None = None, progress: bool = True,
          checkpointer: Checkpointer | None = None) -> tuple[MLP, TrainResult]:
    """Train the configured net for ``config.updates`` SGD updates on ``data``'s stream: a
    group of one (:func:`train_group`), with a progress bar by default."""
    return train_group([config], data, [logger], progress, [checkpointer])[0]


@dataclass
class LRSelection:
    """The learning rate the paper's rule keeps (:func:`glorot.paper.selection.choose_lr`), and
    every run tried."""

    best_lr: float | None
    results: dict[float, TrainResult]


def select_lr(config: TrainConfig, grid: list[float], data: DataBundle,
              progress: bool = False) -> LRSelection:
    """Train ``config`` once per learning rate in ``grid`` (one seed, ``config.seed``) and keep
    the rate that :func:`glorot.paper.selection.choose_lr` chooses, as the paper chose its
    learning rate per model (Section 2.3): the lowest final validation error, ties to the
    smaller rate, a diverged run never; ``best_lr`` is None when every run diverged."""
    if not grid or any(not lr > 0 for lr in grid):
        raise GlorotError(f"invalid lr grid: need one or more values > 0, got {grid}")
    results = {lr: train(config.model_copy(update={"lr": lr}), data, progress=progress)[1] for lr in grid}
    trials = [Trial(lr, config.seed, r.valid_error, r.status == "completed") for lr, r in results.items()]
    return LRSelection(choose_lr(trials), results)
