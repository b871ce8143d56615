"""A run's metrics, logged to MLflow exactly once per step across kills and resumes: the
trainer's :class:`~glorot.engine.loop.Logger` for one child run (DESIGN.md: step-indexed
metrics, step = update count)."""

from __future__ import annotations

import time
from itertools import groupby

import mlflow
from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient

from glorot.paper.probes import ProbeRecord
from glorot.pipeline.store import StoreUnavailable

METRICS_PER_BATCH = 900  # under MLflow's 1000-metrics limit of one log_batch call


class MlflowLogger:
    """The trainer's :class:`~glorot.engine.loop.Logger` for one MLflow run, logging each metric step
    exactly once across kills and resumes.

    Metrics are buffered and sent only by :meth:`flush` (before each checkpoint and at the
    end), in ``log_batch`` calls of whole steps, each of which also sets the run tag
    ``glorot.flushed_through`` to the last step it holds: a step's metrics and the tag that counts
    it go in one call, so a kill between two calls leaves the tag on the last step sent. A
    resumed run re-creates the steps after its checkpoint; those already sent (up to that tag)
    are dropped instead of logged twice. MLflow's SQL store commits one call's metrics and its
    tag one after the other, so a kill between the two leaves a batch sent but not counted: a new
    logger's first flush is therefore looked up before it is sent (:meth:`_log_once`). If the tracking
    server is unreachable, :meth:`flush` keeps the buffer and retries for ``patience``
    seconds, then fails the run with one line; rerunning it resumes from the last checkpoint.
    """

    TAG = "glorot.flushed_through"
    PRETRAIN_TAG = "glorot.pretrain_logged_through"

    def __init__(self, client: MlflowClient, run_id: str, patience: float = 600.0) -> None:
        self.client, self.run_id, self.patience = client, run_id, patience
        tags = client.get_run(run_id).data.tags
        self.flushed_through = int(tags.get(self.TAG, -1))
        self.pretrain_through = int(tags.get(self.PRETRAIN_TAG, -1))
        self._pending: list[Metric] = []
        self._unchecked = {self.TAG, self.PRETRAIN_TAG}  # whose next metrics a killed run may have sent

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        """Sent at once (pre-training has no checkpoints), each step once: the tag
        ``glorot.pretrain_logged_through`` marks the last step sent, in the same call."""
        if step <= self.pretrain_through:
            return
        now = int(time.time() * 1000)
        self._log_once([Metric(k, float(v), now, step) for k, v in metrics.items()], self.PRETRAIN_TAG)
        self.pretrain_through = step
        self._unchecked.discard(self.PRETRAIN_TAG)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if step <= self.flushed_through:
            return
        now = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now, step) for k, v in metrics.items()]

    def log_probe(self, record: ProbeRecord) -> None:
        self.log_metrics(record.metrics(), record.update)

    def flush(self) -> None:
        if not self._pending:
            return
        through = max(m.step for m in self._pending)
        deadline, delay = time.monotonic() + self.patience, 1.0
        while True:
            try:
                self._send()
                break
            except (mlflow.exceptions.MlflowException, OSError) as e:
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(f"cannot log to the MLflow tracking store {self.client.tracking_uri} for "
                                      f"{self.patience:.0f}s ({str(e).splitlines()[0][:200]}); rerun to resume "
                                      f"from the last checkpoint") from None
                time.sleep(delay)
                delay = min(2 * delay, 30.0)
        self.flushed_through, self._pending = through, []
        self._unchecked.discard(self.TAG)

    def _send(self) -> None:
        # Batches already sent by an earlier, failed attempt are sent again: MLflow keeps one
        # row per (key, timestamp, step, value), so a repeat of the same Metric adds nothing.
        for batch in _whole_steps(self._pending):
            self._log_once(batch, self.TAG)

    def _log_once(self, metrics: list[Metric], tag: str) -> None:
        """One ``log_batch`` of ``metrics`` (whole steps) that sets ``tag`` to their last step.
        The first flush (or pre-training step) of a new logger may repeat what a killed process
        sent without its tag: the (key, step) pairs the store holds already are left out of it."""
        last = metrics[-1].step
        if tag in self._unchecked:
            held = {(m.key, m.step) for key in {m.key for m in metrics}
                    for m in self.client.get_metric_history(self.run_id, key)}
            metrics = [m for m in metrics if (m.key, m.step) not in held]
        self.client.log_batch(self.run_id, metrics=metrics, tags=[RunTag(tag, str(last))])


def _whole_steps(metrics: list[Metric]) -> list[list[Metric]]:
    """``metrics``, in step order, cut into batches of at most ``METRICS_PER_BATCH`` that never
    split a step. A step has 7 metrics per layer and a few for the network, so even at
    ``MAX_DEPTH`` layers it fits one batch."""
    batches: list[list[Metric]] = [[]]
    for _, step in groupby(sorted(metrics, key=lambda m: m.step), key=lambda m: m.step):
        step_metrics = list(step)
        if len(batches[-1]) + len(step_metrics) > METRICS_PER_BATCH:
            batches.append([])
        batches[-1] += step_metrics
    return [b for b in batches if b]

