"""Live progress of a training run: one :class:`Progress` event per evaluation (configuration,
update/total, validation error, updates/s, ETA), reported by :class:`ProgressLogger`, a
:class:`~glorot.engine.records.Logger` that wraps the run's own logger; and of a whole sweep,
shown by one :class:`SweepDisplay` (a bar per running group and an overall one on a terminal,
plain lines at a bounded rate elsewhere), its groups named by :func:`group_label`.

The wrapper also makes the inner logger durable at each evaluation (its ``flush``), so that
MLflow shows a point as soon as it is measured rather than at the next checkpoint. It flushes
only once every metric of that update was logged (the diagnostics, when due, come right after
the evaluation), because the exactly-once mechanism of
:class:`~glorot.pipeline.metrics_logger.MlflowLogger` drops steps up to the last one flushed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm

from glorot.config import DATASET_TITLES, TrainConfig
from glorot.engine import Logger
from glorot.engine.schedule import Schedule
from glorot.paper.probes import ProbeRecord
from glorot.pipeline.links import runs_url


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


def _values(values: Sequence[float], shown: int = 4) -> str:
    """Distinct numbers in increasing order, comma-separated: the first ``shown`` and a count of the rest."""
    distinct = sorted(set(values))
    text = ",".join(f"{v:g}" for v in distinct[:shown])
    return text + (f",+{len(distinct) - shown}" if len(distinct) > shown else "")


def group_label(configs: Sequence[TrainConfig]) -> str:
    """A group's name (its Prefect task, its bar): what it contains, whatever order it trains in, e.g.
    ``Tanh, Tanh N / Shapeset-3x2 d5 w250 lr=0.01,0.1 s0 (4 configurations)``; a group of one is
    its configuration's label. The members share data set, depth and width (the group key)."""
    if len(configs) == 1:
        return configs[0].label
    first = configs[0]
    return (f"{', '.join(sorted({c.paper_name for c in configs}))} / {DATASET_TITLES[first.dataset]} "
            f"d{first.depth} w{first.width} lr={_values([c.lr for c in configs])} "
            f"s{_values([c.seed for c in configs])} "
            f"({len(configs)} configurations)")


def ui_line(tracking_uri: str, experiment_id: str, parent_id: str | None, study: str) -> str:
    """Where to watch a sweep in MLflow: its runs' page on a server, else the command that serves
    the local store's UI."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"MLflow: {runs_url(tracking_uri, experiment_id, parent_id)}"
    return f"MLflow UI: run `glorot ui --study {study}` (http://127.0.0.1:5000) to watch the runs"


# MLflow's logs of creating or migrating its database (and alembic's): set-up noise, not the user's concern.
SETUP_LOGGERS = ("mlflow.store.db.utils", "alembic")


def hush_tracking_setup() -> None:
    """Keep MLflow's chatter out of the user's view: its database set-up ("Creating initial MLflow
    database tables...", alembic's migrations; warnings and errors still show) and, on a server,
    the two lines naming a run's and its experiment's pages that it prints as each run ends (a
    sweep names its page once, :func:`ui_line`; a user's own ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``
    wins)."""
    for name in SETUP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


@dataclass
class _Group:
    """A group's configurations (label -> updates in all), the update each was first and last seen
    at in this process, and its bar while it runs on a terminal."""

    label: str
    totals: dict[str, int]
    first: dict[str, int]
    update: dict[str, int]
    bar: tqdm | None = None

    def trained(self) -> tuple[int, int]:
        """Updates trained in this process, and to train in all (less what resumed runs had done)."""
        before = sum(self.first.values())
        return sum(self.update.values()) - before, sum(self.totals.values()) - before


_active: SweepDisplay | None = None


def active_display() -> SweepDisplay | None:
    """The display of the sweep that this process runs (its groups' tasks run in threads of it), if any."""
    return _active


class SweepDisplay:
    """One view of a sweep's progress, fed :class:`Progress` events from every group (from any
    thread) and, as groups end, how many configurations they held (:meth:`groups_ended`); open it
    with ``with`` to make it the process's :func:`active_display`.

    On a terminal (``stream.isatty()``): an overall bar (updates trained out of the sweep's, with
    tqdm's ETA, and k of n configurations done) and a bar per running group. Elsewhere (a DVC or CI
    log): a line as each configuration finishes training and, at most every ``every_s`` seconds,
    one overall line: k of n configurations, share of updates, ETA. A configuration is done once its
    last evaluation is reported or its group has ended (a diverged one: when its group ends).
    Updates that a resumed configuration had trained before count neither in the rate nor the ETA.
    Groups trained by a deployment's workers report no evaluations here: they count as they end.
    """

    def __init__(self, groups: Sequence[Sequence[TrainConfig]], n_configs: int, done_before: int = 0,
                 stream: TextIO | None = None, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.stream, self.every_s, self.clock = stream or sys.stdout, every_s, clock
        self.live = self.stream.isatty()
        self.n_configs, self.done_before, self.ended, self.failed = n_configs, done_before, 0, 0
        self.groups = [_Group(group_label(g), {c.label: c.updates for c in g}, {}, {}) for g in groups]
        self.group_of = {label: group for group in self.groups for label in group.totals}
        self.finished: set[str] = set()
        self.lock = threading.Lock()
        self.started, self.last_line = clock(), None
        self.overall = tqdm(total=self._trained()[1], file=self.stream, unit="upd", dynamic_ncols=True,
                            desc=self._counts(), disable=not self.live)

    def progress(self, event: Progress) -> None:
        """An :data:`OnProgress`: one configuration's evaluation."""
        with self.lock:
            group = self.group_of.get(event.label) or self._adopt(event)
            group.first.setdefault(event.label, event.update)
            group.update[event.label] = event.update
            if event.update >= event.total and event.label not in self.finished:
                self.finished.add(event.label)
                if not self.live:
                    self._write(f"finished {event.label}: valid error {event.valid_error:.4f}")
            self._show(group)

    def groups_ended(self, ended: int, failed: int) -> None:
        """``on_done`` of flows/sweep.py's ``count_failed``: ``ended`` configurations are in groups
        that ended, ``failed`` of them failed."""
        with self.lock:
            self.ended, self.failed = ended, failed
            self.overall.set_description_str(self._counts())

    def close(self) -> None:
        """Close the bars; not on a terminal, write the overall line a last time."""
        with self.lock:
            for group in self.groups:
                if group.bar is not None:
                    group.bar.close()
            self.overall.set_description_str(self._counts(), refresh=False)
            self.overall.close()
            if not self.live:
                self._write(self._summary())

    def __enter__(self) -> SweepDisplay:
        """Open as this process's display (:func:`active_display`) until the ``with`` ends."""
        global _active
        _active = self
        return self

    def __exit__(self, *exc) -> None:
        global _active
        _active = None
        self.close()

    def _adopt(self, event: Progress) -> _Group:
        """A configuration that no planned group holds: a group of its own."""
        group = _Group(event.label, {event.label: event.total}, {}, {})
        self.groups.append(group)
        self.group_of[event.label] = group
        return group

    def _trained(self) -> tuple[int, int]:
        """Updates trained in this process, and to train in all, over every group."""
        counts = [g.trained() for g in self.groups]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def _counts(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        done = self.done_before + max(self.ended, len(self.finished))
        return f"{done}/{self.n_configs} configurations done{failed}"

    def _show(self, group: _Group) -> None:
        if not self.live:
            now = self.clock()
            if self.last_line is None or now - self.last_line >= self.every_s:
                self.last_line = now
                self._write(self._summary())
            return
        if group.bar is None:
            group.bar = tqdm(file=self.stream, unit="upd", desc=group.label, leave=False, dynamic_ncols=True)
        group.bar.n, group.bar.total = group.trained()
        group.bar.refresh()
        self.overall.n, self.overall.total = self._trained()
        self.overall.set_description_str(self._counts())
        if all(label in self.finished for label in group.totals):
            group.bar.close()

    def _summary(self) -> str:
        """The overall line, e.g. ``sweep: 5/15 configurations done, 41% of updates, ETA 0:01:30``."""
        done, total = self._trained()
        elapsed = self.clock() - self.started
        eta = (total - done) * elapsed / done if done and elapsed > 0 else None
        return f"sweep: {self._counts()}, {100 * done / total if total else 100:.0f}% of updates, ETA {format_eta(eta)}"

    def _write(self, line: str) -> None:
        if self.live:
            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
