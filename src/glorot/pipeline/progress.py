"""Live progress of a training run: one :class:`Progress` event per evaluation (configuration,
update/total, validation error, updates/s, ETA), reported by :class:`ProgressLogger`, a
:class:`~glorot.engine.records.Logger` that wraps the run's own logger.

The wrapper also makes the inner logger durable at each evaluation (its ``flush``), so that
MLflow shows a point as soon as it is measured rather than at the next checkpoint. It flushes
only once every metric of that update was logged (the diagnostics, when due, come right after
the evaluation), because the exactly-once mechanism of
:class:`~glorot.pipeline.metrics_logger.MlflowLogger` drops steps up to the last one flushed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from glorot.config import TrainConfig
from glorot.engine import Logger
from glorot.engine.schedule import Schedule
from glorot.paper.probes import ProbeRecord


@dataclass(frozen=True)
class Progress:
    """Where one configuration stands at an evaluation. ``updates_per_s`` and ``eta_s`` are None
    until two evaluations of this process were seen; ``run_id`` is its MLflow run, if any, and
    ``run_url`` that run's page when the tracking store is a server."""

    label: str
    update: int
    total: int
    valid_error: float
    updates_per_s: float | None
    eta_s: float | None
    run_id: str | None = None
    run_url: str | None = None

    @property
    def fraction(self) -> float:
        """How far the run is, from 0 to 1."""
        return min(1.0, self.update / self.total) if self.total else 1.0

    def line(self) -> str:
        """The event as one line, e.g. ``Tanh N / Shapeset-3x2 d5 w250 lr=0.01 s0: update
        4500/9000 (50%), valid error 0.4120, 85.3 upd/s, ETA 0:00:53``."""
        speed = "- upd/s" if self.updates_per_s is None else f"{self.updates_per_s:.1f} upd/s"
        return (f"{self.label}: update {self.update}/{self.total} ({100 * self.fraction:.0f}%), "
                f"valid error {self.valid_error:.4f}, {speed}, ETA {format_eta(self.eta_s)}")


OnProgress = Callable[[Progress], None]


def format_eta(seconds: float | None) -> str:
    """``H:MM:SS`` (``-`` when unknown), e.g. 3725 s -> ``1:02:05``."""
    if seconds is None:
        return "-"
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def print_progress(event: Progress) -> None:
    """The default :data:`OnProgress`: the event's line on standard output, at once."""
    print(event.line(), flush=True)


class ProgressLogger:
    """A :class:`~glorot.engine.records.Logger` around ``inner`` (another one) that reports a
    :class:`Progress` to ``on_progress`` at every evaluation and flushes ``inner`` once the
    update's metrics are all logged. The rate is measured from the first evaluation this
    process saw (a resumed run's earlier updates do not count); ``clock`` is for tests."""

    def __init__(self, inner: Logger, config: TrainConfig, on_progress: OnProgress, run_id: str | None = None,
                 run_url: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner, self.config, self.on_progress, self.clock = inner, config, on_progress, clock
        self.run_id, self.run_url = run_id, run_url
        self.schedule = Schedule(config.updates, config.eval_every, config.probe_every)
        self._start: tuple[int, float] | None = None

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.inner.log_metrics(metrics, step)
        if "valid/error" in metrics:
            self.on_progress(self._event(step, metrics["valid/error"]))
            if not self.schedule.actions(step).probe:  # else the diagnostics of this update follow
                self.inner.flush()

    def log_probe(self, record: ProbeRecord) -> None:
        self.inner.log_probe(record)
        if self.schedule.actions(record.update).evaluate:
            self.inner.flush()

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        self.inner.log_pretraining(metrics, step)

    def flush(self) -> None:
        self.inner.flush()

    def _event(self, update: int, valid_error: float) -> Progress:
        now = self.clock()
        if self._start is None:
            self._start = (update, now)
        first, then = self._start
        rate = (update - first) / (now - then) if update > first and now > then else None
        eta = (self.config.updates - update) / rate if rate else None
        return Progress(self.config.label, update, self.config.updates, valid_error, rate, eta, self.run_id,
                        self.run_url)
