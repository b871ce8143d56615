"""The only module that talks to MLflow.

Conventions (DESIGN.md): one experiment per study (``glorot-<study>``), one parent run per
sweep and one child run per configuration. A child run holds the configuration as params,
the learning curve and the per-layer diagnostics as step-indexed metrics (step = update
count), tags (paper cell, data version, git commit, status), the diagnostics and figures as
artifacts, and the trained model. The embedded default store is a SQLite file and an
artifact folder inside the project; ``MLFLOW_TRACKING_URI`` points elsewhere.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pytorch
import numpy as np
import torch
from mlflow.entities import Metric, Param, RunTag
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from glorot.pipeline import run_figures as plots
from glorot.config import TrainConfig
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.paper.probes import ProbeRecord
from glorot.pipeline.rundir import probe_arrays
from glorot.pipeline.store import (StoreUnavailable, artifact_root, check_reachable, first_line,  # noqa: F401
                                   resolve_uri, store_lock)  # check_reachable, resolve_uri: re-exported
from glorot.engine import TrainResult

PARAMS = ("dataset", "activation", "init", "depth", "width", "lr", "batch_size", "updates", "seed", "cost")
METRICS_PER_BATCH = 900  # under MLflow's 1000-metrics limit of one log_batch call
#: mlflow.pytorch.log_model traces the model with process-global torch state: one at a time.
_MODEL_LOGGING = threading.Lock()
#: MLflow error codes of a store that is away or overloaded for now (a REST call that got no answer is INTERNAL_ERROR).
_TRANSIENT_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED"}


def transient(error: BaseException) -> bool:
    """Whether ``error`` is the tracking store being away or overloaded, which trying again can fix,
    rather than a request it refuses."""
    if isinstance(error, StoreUnavailable):
        return True
    return isinstance(error, mlflow.exceptions.MlflowException) and error.error_code in _TRANSIENT_CODES


class MlflowLogger:
    """The trainer's :class:`~glorot.engine.loop.Logger` for one MLflow run, logging each metric step
    exactly once across kills and resumes.

    Metrics are buffered and sent only by :meth:`flush` (before each checkpoint and at the
    end), in ``log_batch`` calls whose last one also sets the run tag ``glorot.flushed_through``
    to the highest step sent. A resumed run re-creates the steps after its checkpoint; those
    already sent (up to that tag) are dropped instead of logged twice. If the tracking
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

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        """Sent at once (pre-training has no checkpoints), each step once: the tag
        ``glorot.pretrain_logged_through`` marks the last step sent, in the same call."""
        if step <= self.pretrain_through:
            return
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()],
                              tags=[RunTag(self.PRETRAIN_TAG, str(step))])
        self.pretrain_through = step

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

    def _send(self, through: int) -> None:
        # Batches already sent by an earlier, failed attempt are sent again: MLflow keeps one
        # row per (key, timestamp, step, value), so a repeat of the same Metric adds nothing.
        batches = [self._pending[i:i + METRICS_PER_BATCH] for i in range(0, len(self._pending), METRICS_PER_BATCH)]
        for batch in batches[:-1]:
            self.client.log_batch(self.run_id, metrics=batch)
        self.client.log_batch(self.run_id, metrics=batches[-1], tags=[RunTag(self.TAG, str(through))])


class Tracker:
    """A study's experiment on one tracking store: parent runs, child runs, models, registry."""

    def __init__(self, uri: str, study: str, root: str | Path = ".") -> None:
        """Open ``uri`` (a local SQLite store is created on first use, one process at a time) and the
        study's experiment; any failure (unreachable server, corrupt file, unknown scheme) is one line."""
        check_reachable(uri)
        self.uri, self.study = uri, study
        with store_lock(uri):
            try:
                mlflow.set_tracking_uri(uri)
                self.client = MlflowClient(uri)
                self.experiment_id = self._experiment(f"glorot-{study}", artifact_root(uri, root))
            except Exception as e:  # noqa: BLE001 - whatever the store's layers raise becomes one line
                kind = StoreUnavailable if transient(e) else GlorotError
                raise kind(f"cannot open the MLflow tracking store {uri}: {first_line(e)}") from None

    def _experiment(self, name: str, artifacts: str | None) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(name, artifact_location=artifacts)
        except mlflow.exceptions.MlflowException as e:  # another process created it meanwhile
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.client.get_experiment_by_name(name).experiment_id

    def find_parent(self, sweep_key: str) -> str | None:
        """The newest parent run of the sweep ``sweep_key`` (same study, data and code), if any."""
        runs = self.client.search_runs([self.experiment_id], f"tags.`glorot.sweep_key` = '{sweep_key}'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def start_parent(self, tags: dict[str, str]) -> str:
        """A new parent run for one sweep of the study; returns its id."""
        run = self.client.create_run(self.experiment_id, run_name=f"sweep-{time.strftime('%Y%m%d-%H%M%S')}",
                                     tags={"glorot.pipeline.study": self.study, "glorot.kind": "sweep", **tags})
        return run.info.run_id

    def continue_parent(self, parent_id: str) -> None:
        """Mark an earlier parent run RUNNING again: the same sweep runs again and continues it."""
        self.client.update_run(parent_id, status="RUNNING")

    def end_parent(self, parent_id: str, failed: int = 0) -> None:
        """Close a sweep's parent run, FAILED if any of its configurations failed; the count is its
        tag ``glorot.failed_configs`` and metric ``failed_configs``."""
        now = int(time.time() * 1000)
        self.client.log_batch(parent_id, metrics=[Metric("failed_configs", failed, now, 0)],
                              tags=[RunTag("glorot.failed_configs", str(failed))])
        self.client.set_terminated(parent_id, "FAILED" if failed else "FINISHED")

    def supersede(self, parent_id: str) -> list[str]:
        """Close the runs that the new sweep ``parent_id`` replaces: every other parent run of the
        study still RUNNING (a killed sweep's) and its RUNNING children become KILLED, tagged
        ``glorot.superseded_by``. Only while holding the study's lease: no live sweep is closed."""
        closed = []
        for parent in self.client.search_runs([self.experiment_id], "tags.`glorot.kind` = 'sweep' and "
                                              "attributes.status = 'RUNNING'", max_results=1000):
            if parent.info.run_id == parent_id:
                continue
            children = self.client.search_runs([self.experiment_id], f"tags.mlflow.parentRunId = "
                                               f"'{parent.info.run_id}' and attributes.status = 'RUNNING'",
                                               max_results=10_000)
            for run in [*children, parent]:
                self.client.log_batch(run.info.run_id, tags=[RunTag("glorot.superseded_by", parent_id)] + (
                    [RunTag("status", "superseded")] if run is not parent else []))
                self.client.set_terminated(run.info.run_id, "KILLED")
                closed.append(run.info.run_id)
        return closed

    def start_child(self, parent_id: str | None, config: TrainConfig, tags: dict[str, str]) -> str:
        """A child run for ``config`` under ``parent_id``, with params and tags logged."""
        run_tags = {"glorot.pipeline.study": self.study, "glorot.kind": "config", "paper_cell": config.paper_cell,
                    "status": "running", "glorot.attempts": "1", **tags}
        if parent_id:
            run_tags["mlflow.parentRunId"] = parent_id
        run_id = self.client.create_run(self.experiment_id, run_name=config.label, tags=run_tags).info.run_id
        params = config.model_dump()
        self.client.log_batch(run_id, params=[Param(k, str(params[k])) for k in PARAMS]
                              + [Param(k, str(v)) for k, v in params.items() if k not in PARAMS])
        return run_id

    def finish_child(self, run_id: str, config: TrainConfig, result: TrainResult, net: MLP,
                     example: np.ndarray) -> str:
        """Log the run's outcome, diagnostics, figures and model; returns the model's URI.

        Safe to repeat after a kill: final metrics already recorded are not logged twice,
        artifacts are overwritten, and the status tag is set last, with the run's end.
        """
        if "final/valid_error" not in self.client.get_run(run_id).data.metrics:
            now = int(time.time() * 1000)
            speed = result.updates / result.seconds if result.seconds else 0.0
            self.client.log_batch(run_id, metrics=[
                Metric("final/valid_error", result.valid_error, now, result.updates),
                Metric("final/test_error", result.test_error, now, result.updates),
                Metric("updates_per_s", speed, now, result.updates)])
        with tempfile.TemporaryDirectory() as tmp:
            self._log_diagnostics(run_id, config, result, Path(tmp))
        model_uri = self._log_model(run_id, net, example)
        tags = [RunTag("status", result.status), RunTag("model_uri", model_uri)]
        if result.diverged_at is not None:
            tags.append(RunTag("diverged_at", str(result.diverged_at)))
        self.client.log_batch(run_id, tags=tags)
        self.client.set_terminated(run_id, "FINISHED")
        return model_uri

    def runs_with_key(self, parent_id: str | None, key: str) -> list[Any]:
        """Earlier runs of the configuration ``key`` (under ``parent_id`` if given), newest first."""
        query = f"tags.`glorot.config_key` = '{key}'"
        if parent_id:
            query += f" and tags.mlflow.parentRunId = '{parent_id}'"
        return self.client.search_runs([self.experiment_id], query, order_by=["attributes.start_time DESC"])

    def reopen(self, run_id: str) -> None:
        """Mark an interrupted run RUNNING again, to continue it after a resume."""
        attempts = int(self.client.get_run(run_id).data.tags.get("glorot.attempts", 1))
        self.client.update_run(run_id, status="RUNNING")
        self.client.log_batch(run_id, tags=[RunTag("status", "running"), RunTag("glorot.attempts", str(attempts + 1))])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set (or overwrite) tags of a run, e.g. how an attempt was executed."""
        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def fail(self, run_id: str, message: str) -> None:
        """Mark a run FAILED with the error that stopped it."""
        self.client.set_tag(run_id, "status", "failed")
        self.client.set_tag(run_id, "error", message[:5000])
        self.client.set_terminated(run_id, "FAILED")

    def _log_diagnostics(self, run_id: str, config: TrainConfig, result: TrainResult, tmp: Path) -> None:
        np.savez_compressed(tmp / "diagnostics.npz", **probe_arrays(result.probes))
        (tmp / "diagnostics.json").write_text(json.dumps([r.to_json() for r in result.probes], indent=1))
        (tmp / "curve.json").write_text(json.dumps(result.curve, indent=1))
        if result.test_correct is not None:  # per test example, for paired tests (McNemar) in the report
            np.save(tmp / "test_correct.npy", result.test_correct)
        plots.learning_curve(result.curve, config.paper_cell, tmp / "learning_curve.png")
        figures = tmp / "figures"
        figures.mkdir()
        for record in (result.probes[0], result.probes[-1]) if result.probes else ():
            for quantity in ("act", "dCds", "dCdW"):
                plots.layer_histograms(record.histograms, quantity, config.depth,
                                       f"{config.paper_cell}: {quantity} at update {record.update}",
                                       figures / f"{quantity}_u{record.update}.png")
        self.client.log_artifacts(run_id, str(tmp))

    def _log_model(self, run_id: str, net: MLP, example: np.ndarray) -> str:
        net = net.cpu().eval()
        with torch.no_grad():
            logits = net(torch.from_numpy(example)).numpy()
        with _MODEL_LOGGING, mlflow.start_run(run_id=run_id, nested=True):
            info = mlflow.pytorch.log_model(
                net, name="model", signature=infer_signature(example, logits), input_example=example,
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"numpy=={np.__version__}"])
        return info.model_uri

    def start_lock(self, tags: dict[str, str]) -> str:
        """A run of kind ``lock`` in the study's experiment (:mod:`glorot.pipeline.lease`); returns its id."""
        return self.client.create_run(self.experiment_id, run_name="lease",
                                      tags={"glorot.kind": "lock", **tags}).info.run_id

    def locks(self) -> list[Any]:
        """The study's runs of kind ``lock`` that are not deleted."""
        return self.client.search_runs([self.experiment_id], "tags.`glorot.kind` = 'lock'", max_results=1000)

    def tags_of(self, run_id: str) -> dict[str, str] | None:
        """A run's tags; None once it is deleted."""
        try:
            run = self.client.get_run(run_id)
        except mlflow.exceptions.MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return None if run.info.lifecycle_stage == "deleted" else run.data.tags

    def delete_run(self, run_id: str) -> None:
        """Delete a run (kept in the store as deleted, hidden from searches); already deleted is fine."""
        try:
            self.client.delete_run(run_id)
        except mlflow.exceptions.MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise

    def child_runs(self, parent_id: str) -> list[Any]:
        """Every child run of a sweep, oldest first."""
        return self.client.search_runs([self.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'",
                                       order_by=["attributes.start_time ASC"], max_results=10_000)

    def latest_parent(self) -> str | None:
        """The most recent sweep's parent run id, or None if the study has none yet."""
        runs = self.client.search_runs([self.experiment_id], "tags.`glorot.kind` = 'sweep'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def register_best(self, parent_id: str) -> dict[str, str]:
        """Register each data set's best completed child run (lowest validation error) as
        model ``glorot-<dataset>``; returns {dataset: "name/version"}."""
        best: dict[str, Any] = {}
        for run in self.child_runs(parent_id):
            dataset, err = run.data.params.get("dataset"), run.data.metrics.get("final/valid_error")
            if run.data.tags.get("status") != "completed" or "model_uri" not in run.data.tags or err is None:
                continue
            if dataset not in best or err < best[dataset].data.metrics["final/valid_error"]:
                best[dataset] = run
        registered = {}
        for dataset, run in best.items():
            known = self.client.search_model_versions(f"name = 'glorot-{dataset}' and tags.run_id = '{run.info.run_id}'")
            if known:
                registered[dataset] = f"glorot-{dataset}/{known[0].version}"
                continue
            version = mlflow.register_model(run.data.tags["model_uri"], f"glorot-{dataset}",
                                            tags={"run_id": run.info.run_id, "study": self.study})
            registered[dataset] = f"glorot-{dataset}/{version.version}"
        return registered
