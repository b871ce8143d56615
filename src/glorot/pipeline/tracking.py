"""A study's experiment on a tracking store: its parent and child runs (the MLflow side of DESIGN.md).

Conventions (DESIGN.md): one experiment per study (``glorot-<study>``), one parent run per sweep and
one child run per configuration. A child run holds the configuration as params, the learning curve
and the per-layer diagnostics as step-indexed metrics (step = update count,
:mod:`~glorot.pipeline.metrics_logger`), tags (paper cell, data version, git commit, status), the
diagnostics and figures as artifacts (:mod:`~glorot.pipeline.artifacts`), and the trained model
(:mod:`~glorot.pipeline.registry`). The embedded default store is a SQLite file and an artifact
folder inside the project; ``MLFLOW_TRACKING_URI`` points elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.environment_variables import MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING
from mlflow.tracking import MlflowClient

from glorot.config import TrainConfig
from glorot.errors import GlorotError
from glorot.pipeline.artifacts import RunArtifacts
from glorot.pipeline.provenance import source_tags
from glorot.pipeline.registry import ModelRegistry
from glorot.pipeline.store import (StoreUnavailable, artifact_root, check_reachable, first_line,  # noqa: F401
                                   resolve_uri, store_lock)  # check_reachable, resolve_uri: re-exported

if TYPE_CHECKING:  # names of annotations only: reading runs (`glorot summary`) loads no torch
    from glorot.engine import TrainResult
    from glorot.paper.nets import MLP

PARAMS = ("dataset", "activation", "init", "depth", "width", "lr", "batch_size", "updates", "seed", "cost")
#: MLflow error codes of a store that is away or overloaded for now (a REST call that got no answer is INTERNAL_ERROR).
_TRANSIENT_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED"}
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")  # training, not GenAI, in MLflow's UI


@contextlib.contextmanager
def system_metrics(tracker: Tracker, run_ids: list[str]):
    """MLflow's system metrics (CPU, memory, disk, network, GPU: ``system/*``) for the runs
    ``run_ids`` while the block runs, when asked for with MLflow's own switch
    ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true`` (or ``mlflow.enable_system_metrics_logging()``;
    off by default; ``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`` sets how often, 10 s by default).
    MLflow's public way: each run is made active with ``mlflow.start_run(log_system_metrics=True)``,
    which starts its monitor, and ``mlflow.end_run`` stops it; the runs are left RUNNING
    (:meth:`Tracker.finish_child` or :meth:`Tracker.fail` ends them)."""
    with contextlib.ExitStack() as active:
        if MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING.get():
            mlflow.set_tracking_uri(tracker.uri)
            for run_id in run_ids:
                mlflow.start_run(run_id=run_id, nested=True, log_system_metrics=True)
                active.callback(mlflow.end_run, "RUNNING")
        yield


def transient(error: BaseException) -> bool:
    """Whether ``error`` is the tracking store being away or overloaded, which trying again can fix,
    rather than a request it refuses."""
    if isinstance(error, StoreUnavailable):
        return True
    return isinstance(error, mlflow.exceptions.MlflowException) and error.error_code in _TRANSIENT_CODES


class Tracker(ModelRegistry, RunArtifacts):
    """A study's experiment on one tracking store: parent runs, child runs, the lease's runs
    (:mod:`~glorot.pipeline.lease`), and through its parts their artifacts and models."""

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
        """The experiment ``name``, created if needed, marked as model training (:data:`EXPERIMENT_KIND`)."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return self.client.create_experiment(name, artifact_location=artifacts, tags=dict([EXPERIMENT_KIND]))
            except mlflow.exceptions.MlflowException as e:  # another process created it meanwhile
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment = self.client.get_experiment_by_name(name)
        if experiment.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:  # a store made before the tag
            self.client.set_experiment_tag(experiment.experiment_id, *EXPERIMENT_KIND)
        return experiment.experiment_id

    def find_parent(self, sweep_key: str) -> str | None:
        """The newest parent run of the sweep ``sweep_key`` (same study, data and code), if any."""
        runs = self.client.search_runs([self.experiment_id], f"tags.`glorot.sweep_key` = '{sweep_key}'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def start_parent(self, tags: dict[str, str], params: dict[str, Any] | None = None) -> str:
        """A new parent run for one sweep of the study, with the study's settings ``params`` (lists
        as JSON); returns its id."""
        run = self.client.create_run(self.experiment_id, run_name=f"sweep-{time.strftime('%Y%m%d-%H%M%S')}",
                                     tags=source_tags({"glorot.pipeline.study": self.study, "glorot.kind": "sweep",
                                                       **tags}))
        self.client.log_batch(run.info.run_id, params=[
            Param(k, json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in (params or {}).items()])
        return run.info.run_id

    def continue_parent(self, parent_id: str) -> None:
        """Mark an earlier parent run RUNNING again: the same sweep runs again and continues it."""
        self.client.update_run(parent_id, status="RUNNING")

    def add_flow_run(self, parent_id: str, flow_run_id: str) -> None:
        """Record on a sweep's parent run the orchestrator's run (Prefect's flow run) that runs it:
        tag ``prefect.flow_run_id`` keeps the first, which opened the parent, and
        ``prefect.flow_run_ids`` lists every one in order, comma-separated (a continued sweep adds its own)."""
        tags = self.client.get_run(parent_id).data.tags
        known = tags.get("prefect.flow_run_ids", tags.get("prefect.flow_run_id", ""))
        ids = [i for i in known.split(",") if i]
        ids += [] if flow_run_id in ids else [flow_run_id]
        self.set_tags(parent_id, {"prefect.flow_run_id": ids[0], "prefect.flow_run_ids": ",".join(ids)})

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
        run_tags = source_tags({"glorot.pipeline.study": self.study, "glorot.kind": "config",
                                "paper_cell": config.paper_cell, "status": "running", "glorot.attempts": "1", **tags})
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
            self.log_diagnostics(run_id, config, result, Path(tmp))
        model_uri = self.log_model(run_id, net, example)
        tags = [RunTag("status", result.status), RunTag("model_uri", model_uri)]
        if result.diverged_at is not None:
            tags.append(RunTag("diverged_at", str(result.diverged_at)))
        self.client.log_batch(run_id, tags=tags)
        self.client.set_terminated(run_id, "FINISHED")
        return model_uri

    def log_dataset(self, run_id: str, name: str, digest: str, source: str) -> None:
        """Record the data set a run trains on as an MLflow dataset input: ``digest`` its version
        (DVC's md5), ``source`` where it lies."""
        dataset = DatasetInput(Dataset(name, digest, "local", json.dumps({"uri": source})),
                               [InputTag("mlflow.data.context", "training")])
        for attempt in (1, 2, 3):  # MLflow looks a data set up, then inserts it: runs starting at once can collide
            try:
                return self.client.log_inputs(run_id, [dataset])
            except mlflow.exceptions.MlflowException:
                if attempt == 3:
                    raise

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

    def stopped(self, run_id: str) -> None:
        """Mark a run KILLED, stopped on request (:mod:`glorot.pipeline.stopping`): a child at a
        checkpoint, or a sweep's parent. A stop is not a failed attempt: the count of attempts
        that :meth:`reopen` raised is lowered again. Called while the sweep is being interrupted:
        a store that fails now does not replace the interrupt, it is one line on stderr (the run
        stays RUNNING, and the same command still continues it)."""
        try:
            tags = self.client.get_run(run_id).data.tags
            stop = [RunTag("status", "stopped")]
            if "glorot.attempts" in tags:
                stop.append(RunTag("glorot.attempts", str(int(tags["glorot.attempts"]) - 1)))
            self.client.log_batch(run_id, tags=stop)
            self.client.set_terminated(run_id, "KILLED")
        except Exception as e:  # noqa: BLE001 -- any failure of the store; the interrupt goes on
            print(f"glorot: could not mark run {run_id} stopped in MLflow ({first_line(e)}); it stays RUNNING",
                  file=sys.stderr)

    def fail(self, run_id: str, message: str) -> None:
        """Mark a run FAILED with the error that stopped it."""
        self.client.set_tag(run_id, "status", "failed")
        self.client.set_tag(run_id, "error", message[:5000])
        self.client.set_terminated(run_id, "FAILED")

    def start_lock(self, tags: dict[str, str]) -> str:
        """A run of kind ``lock`` (:mod:`glorot.pipeline.lease`; :meth:`locks` lists the live ones); returns its id."""
        return self.client.create_run(self.experiment_id, run_name="lease",
                                      tags={"glorot.kind": "lock", **tags}).info.run_id

    def locks(self) -> list[Any]:
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
