"""Trained models in MLflow: each child run's one logged model, and the registry's
``glorot-<study>-<dataset>`` models (:func:`model_name`) whose alias :data:`CHAMPION` follows
the paper's choice of network and learning rate (Section 2.3, :mod:`glorot.paper.selection`).
One registered model per study and data set, so that the alias compares like with like: a
300-update study never competes with a paper-width one. Load a champion with
``mlflow.pytorch.load_model("models:/glorot-quick-shapeset@champion")``. A part of
:class:`~glorot.pipeline.tracking.Tracker`."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
from mlflow.entities import LoggedModelStatus
from mlflow.tracking import MlflowClient

from glorot.errors import GlorotError
from glorot.paper.selection import Trial, choose_lr, rate_means

if TYPE_CHECKING:
    from glorot.paper.nets import MLP

CHAMPION = "champion"  # the alias of each study's and data set's best model so far (:func:`champions`)
CELL_ERROR_TAG = "cell_valid_error"  # a version's network's seed-mean validation error at its chosen rate
NETWORK = ("activation", "init", "depth", "width")  # what a network is, apart from its rate and seed
_MODEL_LOGGING = threading.Lock()  # mlflow.pytorch.log_model traces with process-global torch state
#: What ``mlflow.register_model`` prints on stderr as it goes: the sweep's own line names the versions.
_REGISTRATION_CHATTER = ("Successfully registered model", "Registered model", "Created version")


def _register_model(model_uri: str, name: str, tags: dict[str, str]) -> str:
    """``mlflow.register_model`` without its progress lines (:data:`_REGISTRATION_CHATTER`); any
    other line it prints still reaches stderr. Returns the new version."""
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        version = mlflow.register_model(model_uri, name, tags=tags).version
    sys.stderr.writelines(line for line in printed.getvalue().splitlines(keepends=True)
                          if not line.startswith(_REGISTRATION_CHATTER))
    return str(version)


def model_name(study: str, dataset: str) -> str:
    """The registered model of ``study``'s models on ``dataset``, e.g. ``glorot-quick-shapeset``."""
    return f"glorot-{study}-{dataset}"


def _trial(run: Any) -> Trial:
    p = run.data.params
    return Trial(float(p["lr"]), int(p["seed"]), run.data.metrics.get("final/valid_error"),
                 run.data.tags.get("status") == "completed")


def champions(runs: list[Any]) -> dict[str, tuple[Any, float]]:
    """Each data set's champion among the child runs ``runs`` (the latest attempt of each
    configuration), with its network's seed-mean validation error: per network (:data:`NETWORK`)
    the rate that :func:`~glorot.paper.selection.choose_lr` keeps; the network whose kept rate
    has the lowest mean wins (ties: the first network in sorted order), as in Table 1; of its seeds
    at that rate that carry a trained model, the run with the lowest validation error (ties: the
    smallest seed). Runs imported from an archive (:mod:`glorot.pipeline.archive`) carry none: they
    count towards the choice but are never crowned, and a data set whose winning network has no
    model at its rate has no champion."""
    cells: dict[tuple, list[Any]] = defaultdict(list)
    for run in runs:
        if {"lr", "seed"} <= run.data.params.keys():  # not a run killed before its params were logged
            cells[(run.data.params.get("dataset"), *(run.data.params.get(k) for k in NETWORK))].append(run)
    best: dict[str, tuple[float, float, list[tuple[Trial, Any]]]] = {}  # dataset -> (seed-mean, rate, its runs)
    for cell, members in sorted(cells.items(), key=lambda item: tuple(map(str, item[0]))):
        trials = [_trial(r) for r in members]
        try:
            lr, means = choose_lr(trials), rate_means(trials)
        except ValueError as e:
            raise GlorotError(f"cannot choose the champion of {cell[0]}: network {cell[1:]}: {e}") from None
        if lr is not None and (cell[0] not in best or means[lr] < best[cell[0]][0]):
            best[cell[0]] = (means[lr], lr, list(zip(trials, members)))
    crowned = {}
    for dataset, (mean, lr, members) in best.items():
        with_model = [(t.valid_error, t.seed, r) for t, r in members if t.lr == lr and "model_uri" in r.data.tags]
        if with_model:
            crowned[dataset] = (min(with_model, key=lambda c: c[:2])[2], mean)
    return crowned


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
        import mlflow.pytorch  # here, not above: reading runs (`glorot summary`) needs neither it nor torch
        import torch
        from mlflow.models import infer_signature

        net = net.cpu().eval()
        with torch.no_grad():
            logits = net(torch.from_numpy(example)).numpy()
        with _MODEL_LOGGING, mlflow.start_run(run_id=run_id, nested=True):
            info = mlflow.pytorch.log_model(
                net, name="model", signature=infer_signature(example, logits), input_example=example,
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"numpy=={np.__version__}"])
        return info.model_uri

    def register_best(self, parent_id: str) -> dict[str, str]:
        """Register each data set's champion run of the sweep (:func:`champions`: the paper's
        rule, Section 2.3) as model ``glorot-<study>-<dataset>`` (:func:`model_name`) and crown it
        if it beats the study's earlier sweeps; returns {dataset: "name/version"}."""
        latest = {r.data.tags.get("glorot.config_key", r.info.run_id): r for r in self.child_runs(parent_id)}
        registered = {}
        for dataset, (run, cell_error) in champions(list(latest.values())).items():
            name = model_name(self.study, dataset)
            tags = {"run_id": run.info.run_id, "study": self.study, CELL_ERROR_TAG: repr(cell_error)}
            known = self.client.search_model_versions(f"name = '{name}' and tags.run_id = '{run.info.run_id}'")
            version = str(known[0].version) if known else _register_model(run.data.tags["model_uri"], name, tags)
            self.client.set_model_version_tag(name, version, CELL_ERROR_TAG, repr(cell_error))
            self.crown(name, version, cell_error)
            registered[dataset] = f"{name}/{version}"
        return registered

    def crown(self, name: str, version: str, valid_error: float) -> bool:
        """Point the alias :data:`CHAMPION` of model ``name`` at ``version`` if there is no champion
        yet or ``valid_error`` (its network's seed-mean) is lower than the champion's (its tag
        :data:`CELL_ERROR_TAG`, else its run's validation error); returns whether it moved."""
        champion = self.client.get_registered_model(name).aliases.get(CHAMPION)
        if champion is not None:
            tags = self.client.get_model_version(name, champion).tags
            best = float(tags[CELL_ERROR_TAG]) if CELL_ERROR_TAG in tags else (
                self.client.get_run(tags["run_id"]).data.metrics.get("final/valid_error") if "run_id" in tags else None)
            if champion == version or (best is not None and best <= valid_error):
                return False
        self.client.set_registered_model_alias(name, CHAMPION, version)
        return True
