"""A run's metrics, logged to MLflow exactly once per step across kills and resumes: the
trainer's :class:`~glorot.engine.loop.Logger` for one child run (DESIGN.md: step-indexed
metrics, step = update count)."""

from __future__ import annotations

import time

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
    end), in ``log_batch`` calls whose last one also sets the run tag ``glorot.flushed_through``
    to the highest step sent. A resumed run re-creates the steps after its checkpoint; those
    already sent (up to that tag) are dropped instead of logged twice. A kill inside a flush
    can leave metrics sent that the tag does not count (between two calls, or inside one:
    MLflow's SQL store commits a call's metrics and its tag one after the other), so a new
    logger on a run that holds metrics leaves out of its first flush what the store holds
    already (:meth:`_not_sent`); a new run's logger skips that lookup. If the tracking
    server is unreachable, :meth:`flush` keeps the buffer and retries for ``patience``
    seconds, then fails the run with one line; rerunning it resumes from the last checkpoint.
    """

    TAG = "glorot.flushed_through"
    PRETRAIN_TAG = "glorot.pretrain_logged_through"

    def __init__(self, client: MlflowClient, run_id: str, patience: float = 600.0) -> None:
        self.client, self.run_id, self.patience = client, run_id, patience
        data = client.get_run(run_id).data
        self.flushed_through = int(data.tags.get(self.TAG, -1))
        self.pretrain_through = int(data.tags.get(self.PRETRAIN_TAG, -1))
        self._pending: list[Metric] = []
        # whose next metrics a killed process may have sent; none where the run holds no metric yet
        self._unchecked = {self.TAG, self.PRETRAIN_TAG} if data.metrics else set()

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        """Sent at once (pre-training has no checkpoints), each step once: the tag
        ``glorot.pretrain_logged_through`` marks the last step sent, in the same call."""
        if step <= self.pretrain_through:
            return
        now = int(time.time() * 1000)
        sent = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        if self.PRETRAIN_TAG in self._unchecked:
            sent = self._not_sent(sent)
        self.client.log_batch(self.run_id, metrics=sent, tags=[RunTag(self.PRETRAIN_TAG, str(step))])
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
                self._send(through)
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

    def _send(self, through: int) -> None:
        # Batches already sent by an earlier, failed attempt are sent again: MLflow keeps one
        # row per (key, timestamp, step, value), so a repeat of the same Metric adds nothing.
        if self.TAG in self._unchecked:
            self._pending = self._not_sent(self._pending)
        batches = [self._pending[i:i + METRICS_PER_BATCH] for i in range(0, len(self._pending), METRICS_PER_BATCH)]
        for batch in batches[:-1]:
            self.client.log_batch(self.run_id, metrics=batch)
        self.client.log_batch(self.run_id, metrics=batches[-1] if batches else [], tags=[RunTag(self.TAG, str(through))])

    def _not_sent(self, metrics: list[Metric]) -> list[Metric]:
        """``metrics`` less the (key, step) pairs the store holds already: what a killed process
        sent after the last tag it set."""
        held = {(m.key, m.step) for key in {m.key for m in metrics}
                for m in self.client.get_metric_history(self.run_id, key)}
        return [m for m in metrics if (m.key, m.step) not in held]
