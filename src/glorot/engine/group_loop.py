"""Training a group of configurations as one batched model, each on its own schedule.

:func:`train_group` is :func:`glorot.engine.loop.train` for K configurations that share a
:func:`~glorot.engine.stacked.group_key`: the paper's plain SGD on mini-batches (Section 2.3),
each configuration with its own data stream, learning rate, evaluations, diagnostics,
logger and checkpoints, and the same numbers as training it alone (up to float rounding).

Two loops drive the batched step:

* **eager** (the CPU default): one :meth:`BatchedMLP.sgd_step` per update, the costs read
  back after each update, so a diverging configuration is caught at its update;
* **sync-free** (the CUDA default): :class:`glorot.engine.steps.DeviceStep` keeps the
  divergence flags and cost sums on the device, captured in a CUDA graph on a GPU
  (:class:`~glorot.engine.steps.GraphedStep`), with the training batches prefetched to the
  device in chunks. The host synchronises only where some configuration has something to
  do (an evaluation, a probe, a checkpoint, its end): the loop runs exactly as many
  updates as lead to the nearest such point, then reads the flags. A configuration that
  diverged in between was frozen on the device at its diverging update (the update is not
  applied, as in ``train``), so its record is the same as the eager loop's.

A configuration that diverges or reaches its own ``updates`` leaves the group (its slice is
removed from the stacked tensors; on the sync-free path the step is rebuilt for the
others).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from glorot.engine.stacked import BATCHED_COSTS, GROUP_FIELDS, BatchedMLP, group_key
from glorot.engine.checkpoint import Checkpointer
from glorot.config import TrainConfig
from glorot.engine.steps import DeviceStep, GraphedStep, prefetch, run
from glorot.data.sources import DataBundle
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.engine.loop import (Logger, NullLogger, TrainResult, build_net, due, error_rate, record_evaluation, record_probe,
                          resolve_device, restore_state, train_state)

#: Updates of training batches moved to the device at once on the sync-free path.
PREFETCH = 256


class _Slice:
    """The bookkeeping of one configuration while its group trains: its own update count
    (slices resumed from checkpoints may be at different updates), stream, cost sums and
    checkpointer."""

    def __init__(self, index: int, config: TrainConfig, data: DataBundle, logger: Logger,
                 checkpointer: Checkpointer | None, device: torch.device) -> None:
        self.index, self.config, self.logger, self.checkpointer = index, config, logger, checkpointer
        self.net = build_net(config, data).to(device)
        self.stream = data.train_stream(config.seed, config.batch_size)
        self.probe_x = data.test.x[:config.probe_size].to(device)
        self.probe_y = data.test.y[:config.probe_size].to(device)
        self.result = TrainResult("completed", 0, None, math.nan, math.nan)
        self.nll_sum, self.nll_n, self.elapsed = 0.0, 0, 0.0
        self.saved = checkpointer.load(config) if checkpointer else None
        if self.saved:
            restore_state(self.saved, self.net, self.stream, self.result)
            self.nll_sum, self.nll_n, self.elapsed = self.saved.nll_sum, self.saved.nll_n, self.saved.seconds

    def to_next_action(self) -> int:
        """Updates until this configuration next evaluates, probes, checkpoints or ends."""
        u, c = self.result.updates, self.config
        points = [c.updates, (u // c.eval_every + 1) * c.eval_every]
        if c.probe_every > 0:
            points.append((u // c.probe_every + 1) * c.probe_every)
        if self.checkpointer:
            points.append((u // self.checkpointer.every + 1) * self.checkpointer.every)
        return min(points) - u

    def diverge(self, update: int) -> None:
        """Record that the cost of ``update`` was not finite (that update is not applied)."""
        self.result.status, self.result.diverged_at, self.result.updates = "diverged", update, update - 1
        self.logger.log_metrics({"diverged_at": float(update)}, update)

    def checkpoint(self, seconds: float) -> None:
        """Flush the logger, then save this slice's state (as :func:`glorot.engine.loop.train` does)."""
        self.logger.flush()
        self.checkpointer.save(self.config, train_state(self.result.updates, self.net, self.stream, self.result,
                                                        self.nll_sum, self.nll_n, self.elapsed + seconds))


def train_group(configs: list[TrainConfig], data: DataBundle, loggers: Sequence[Logger | None] | None = None,
                progress: bool = False, checkpointers: Sequence[Checkpointer | None] | None = None,
                sync_free: bool | None = None) -> list[tuple[MLP, TrainResult]]:
    """Train ``configs`` (one :func:`~glorot.engine.stacked.group_key`) together; the same results
    as :func:`glorot.engine.loop.train` on each, up to float rounding, in the order given.

    Each configuration keeps its own schedule: evaluation every ``eval_every`` updates and
    diagnostics every ``probe_every`` (and at the start and end), reported to its own
    logger; ``updates`` may differ. ``checkpointers`` (one per configuration, or None) work
    as in :func:`glorot.engine.loop.train`: each slice saves its own state, in the same format,
    every ``every`` of its updates, and a slice with a saved state resumes from it, so a
    configuration can resume in another group, or alone, from where any group left it.
    ``sync_free`` picks the loop (see the module docstring; None: sync-free on CUDA).
    ``TrainResult.seconds`` is the group's wall time while that slice was in it, plus
    what its checkpoint recorded.
    """
    if not configs:
        return []
    keys = {group_key(c) for c in configs}
    if len(keys) != 1:
        raise GlorotError(f"train_group needs configurations with one group_key ({', '.join(GROUP_FIELDS)}); "
                          f"got {len(keys)} different ones: use group_configs")
    loggers = list(loggers) if loggers is not None else [None] * len(configs)
    checkpointers = list(checkpointers) if checkpointers is not None else [None] * len(configs)
    if not len(loggers) == len(checkpointers) == len(configs):
        raise GlorotError(f"train_group got {len(loggers)} loggers and {len(checkpointers)} checkpointers "
                          f"for {len(configs)} configurations")
    device = resolve_device(configs[0].device)
    sync_free = device.type == "cuda" if sync_free is None else sync_free

    # Order the slices by activation, then rate (stable): each activation is one contiguous
    # view, and each rate within it one update call.
    order = sorted(range(len(configs)), key=lambda k: (configs[k].activation, configs[k].lr))
    group = _Group([_Slice(k, configs[k], data, loggers[k] or NullLogger(), checkpointers[k], device)
                    for k in order], data, device, progress)
    with torch.no_grad():
        group.run_sync_free() if sync_free else group.run_eager()
    return group.results(len(configs))


class _Group:
    """The slices still training, their batched model, and what each does between updates."""

    def __init__(self, slices: list[_Slice], data: DataBundle, device: torch.device, progress: bool) -> None:
        self.slices, self.data, self.device = slices, data, device
        self.cost = BATCHED_COSTS[slices[0].config.cost]
        self.model = BatchedMLP([s.net for s in slices])
        self.finished: list[_Slice] = []
        self.start = time.perf_counter()
        self.bar = tqdm(total=sum(s.config.updates for s in slices), initial=sum(s.result.updates for s in slices),
                        disable=not progress, unit="upd", dynamic_ncols=True)
        for s in slices:
            if not s.saved:
                self.evaluate(s, math.nan)
                self.diagnose(s)
        self.leave([k for k, s in enumerate(slices) if s.result.updates < s.config.updates])

    def evaluate(self, s: _Slice, train_nll: float) -> None:
        record_evaluation(s.net, self.data, self.device, s.result.updates, train_nll, s.result, s.logger)

    def diagnose(self, s: _Slice) -> None:
        record_probe(s.net, s.probe_x, s.probe_y, s.result.updates, s.config, s.result, s.logger)

    def leave(self, keep: list[int]) -> None:
        """Keep only slices ``keep``; the others are finished."""
        self.model.release(keep)
        now = time.perf_counter() - self.start
        for k, s in enumerate(self.slices):
            if k not in keep:
                s.result.seconds = s.elapsed + now
                self.finished.append(s)
        self.slices = [self.slices[k] for k in keep]

    def act(self) -> None:
        """What each slice does at its current update (evaluate, probe, checkpoint); the ones
        that reached their last update leave."""
        done = []
        for k, s in enumerate(self.slices):
            update = s.result.updates
            if due(update, s.config.eval_every, s.config.updates):
                self.evaluate(s, s.nll_sum / s.nll_n)
                s.nll_sum, s.nll_n = 0.0, 0
            if due(update, s.config.probe_every, s.config.updates):
                self.diagnose(s)
            if update == s.config.updates:
                done.append(k)
            elif s.checkpointer and s.checkpointer.due(update):
                s.checkpoint(time.perf_counter() - self.start)
        if done:
            self.leave([k for k in range(len(self.slices)) if k not in done])

    def run_eager(self) -> None:
        """One batched step per update; divergence is checked after each."""
        while self.slices:
            batches = [next(s.stream) for s in self.slices]
            x = torch.from_numpy(np.stack([b[0] for b in batches])).to(self.device)
            y = torch.from_numpy(np.stack([b[1] for b in batches])).to(self.device)
            while self.slices:
                zs = self.model.forward_trace(x)
                loss, grad_logits = self.cost(zs[-1], y)
                values = loss.tolist()
                keep = [k for k, v in enumerate(values) if math.isfinite(v)]
                if len(keep) == len(values):
                    break
                for k in set(range(len(values))) - set(keep):
                    self.slices[k].diverge(self.slices[k].result.updates + 1)
                self.leave(keep)
                x, y = x[keep], y[keep]
            if not self.slices:
                break
            self.model.sgd_step(zs, grad_logits, [s.config.lr for s in self.slices])
            for s, value in zip(self.slices, values):
                s.result.updates += 1
                s.nll_sum, s.nll_n = s.nll_sum + value, s.nll_n + 1
            self.bar.update(len(self.slices))
            self.act()

    def run_sync_free(self) -> None:
        """Steps with device-side bookkeeping, read back only where a slice has to act."""
        step = None
        while self.slices:
            if step is None:
                first = self.slices[0].config
                step = DeviceStep(self.model, [s.config.lr for s in self.slices], first.cost, first.batch_size,
                                  self.data.n_in)
                if self.device.type == "cuda":
                    step = GraphedStep(step)
                base = [s.result.updates for s in self.slices]
            n = min(s.to_next_action() for s in self.slices)
            for chunk in range(0, n, PREFETCH):
                run(step, *prefetch([s.stream for s in self.slices], min(PREFETCH, n - chunk), self.device))
            book = step.read()
            step.reset_nll()
            keep = []
            for k, s in enumerate(self.slices):
                s.nll_sum, s.nll_n = s.nll_sum + book["nll_sum"][k], s.nll_n + book["nll_n"][k]
                if book["alive"][k]:
                    s.result.updates = base[k] + book["updates"]
                    keep.append(k)
                else:
                    s.diverge(base[k] + book["diverged_at"][k])
            self.bar.update(n * len(keep))
            if len(keep) < len(self.slices):
                self.leave(keep)
                step = None
            size = len(self.slices)
            self.act()
            if len(self.slices) < size:
                step = None

    def results(self, n: int) -> list[tuple[MLP, TrainResult]]:
        """The finished slices' nets and results, in the original order of the configurations."""
        self.bar.close()
        for s in self.finished:
            s.result.valid_error = error_rate(s.net, self.data.valid, self.device)
            s.result.test_error = error_rate(s.net, self.data.test, self.device)
            s.logger.flush()
        by_index = {s.index: (s.net, s.result) for s in self.finished}
        return [by_index[k] for k in range(n)]
