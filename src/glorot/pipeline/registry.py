"""Trained models in MLflow: each child run's one logged model, and the registry's
``glorot-<dataset>`` models with their alias :data:`CHAMPION`. A part of
:class:`~glorot.pipeline.tracking.Tracker`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import mlflow
import mlflow.pytorch
import numpy as np
import torch
from mlflow.entities import LoggedModelStatus
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from glorot.paper.nets import MLP

CHAMPION = "champion"  # the registry alias of each data set's best model so far (lowest validation error)
_MODEL_LOGGING = threading.Lock()  # mlflow.pytorch.log_model traces with process-global torch state


class ModelRegistry:
    """Models of a study's runs on the tracking store that ``client`` opens."""

    client: MlflowClient
    study: str
    experiment_id: str

    child_runs: Callable[[str], list[Any]]  # Tracker.child_runs

    def log_model(self, run_id: str, net: MLP, example: np.ndarray) -> str:
        """Log ``net`` as the run's one model and return its URI. A model that an earlier, killed
        attempt of the run logged whole (READY) is kept and its URI returned: the resumed run
        trained the same weights; one left half-logged (PENDING, killed inside ``log_model``) is
        marked FAILED and deleted before logging again, so the run keeps exactly one model."""
        models = self.client.search_logged_models([self.experiment_id], f"source_run_id = '{run_id}'")
        for model in models:
            if model.status == LoggedModelStatus.PENDING:
                self.client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
            if model.status != LoggedModelStatus.READY:
                self.client.delete_logged_model(model.model_id)
        if ready := [m for m in models if m.status == LoggedModelStatus.READY]:
            return ready[0].model_uri
        net = net.cpu().eval()
        with torch.no_grad():
            logits = net(torch.from_numpy(example)).numpy()
        with _MODEL_LOGGING, mlflow.start_run(run_id=run_id, nested=True):
            info = mlflow.pytorch.log_model(
                net, name="model", signature=infer_signature(example, logits), input_example=example,
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"numpy=={np.__version__}"])
        return info.model_uri

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
            name = f"glorot-{dataset}"
            known = self.client.search_model_versions(f"name = '{name}' and tags.run_id = '{run.info.run_id}'")
            version = known[0].version if known else mlflow.register_model(
                run.data.tags["model_uri"], name, tags={"run_id": run.info.run_id, "study": self.study}).version
            self.crown(name, str(version), run.data.metrics["final/valid_error"])
            registered[dataset] = f"{name}/{version}"
        return registered

    def crown(self, name: str, version: str, valid_error: float) -> bool:
        """Point the alias :data:`CHAMPION` of model ``name`` at ``version`` if there is no champion
        yet or ``valid_error`` is lower than the champion's run's; returns whether it moved."""
        champion = self.client.get_registered_model(name).aliases.get(CHAMPION)
        if champion is not None:
            run_id = self.client.get_model_version(name, champion).tags.get("run_id")
            best = self.client.get_run(run_id).data.metrics.get("final/valid_error") if run_id else None
            if champion == version or (best is not None and best <= valid_error):
                return False
        self.client.set_registered_model_alias(name, CHAMPION, version)
        return True
