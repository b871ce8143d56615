"""A mini-sweep through Prefect's local API into a real ``mlflow server`` (SQLite backend)."""

import os
import sys

import mlflow
import mlflow.pytorch
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from glorot.paper.names import SCALARS

from .project import generate_shapeset, make_project, run
from .servers import mlflow_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow")
    project = make_project(tmp / "project", git=True)  # a commit, for the runs' commit tags
    generate_shapeset(project)
    # mlflow.set_tracking_uri also sets MLFLOW_TRACKING_URI in os.environ: restored at the end,
    # so that later tests' subprocesses do not look for this stopped server.
    with mlflow_server(tmp) as uri, pytest.MonkeyPatch.context() as mp:
        proc = run([sys.executable, "flows/sweep.py", "--study", "tiny", "--concurrency", "2"], project,
                   MLFLOW_TRACKING_URI=uri, PREFECT_HOME=str(tmp / "prefect-home"))
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name("glorot-tiny")
        runs = client.search_runs([experiment.experiment_id])
        yield {"uri": uri, "client": client, "runs": runs, "stdout": proc.stdout, "stderr": proc.stderr,
               "project": project, "experiment": experiment}


def test_two_child_runs_under_one_parent(sweep):
    parents = [r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "sweep"]
    children = [r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "config"]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {c.data.tags["paper_cell"] for c in children} == {"Tanh / Shapeset-3x2", "Tanh N / Shapeset-3x2"}
    assert all(r.info.status == "FINISHED" for r in sweep["runs"])
    assert "Tanh N       Shapeset-3x2" in sweep["stdout"]


def test_child_runs_hold_params_curves_diagnostics_and_tags(sweep):
    client = sweep["client"]
    for child in (r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "config"):
        params = child.data.params
        assert {k: params[k] for k in ("dataset", "depth", "width", "lr", "batch_size", "updates", "seed")} == {
            "dataset": "shapeset", "depth": "2", "width": "16", "lr": "0.1", "batch_size": "10",
            "updates": "40", "seed": "0"}
        assert params["init"] in {"standard", "normalized"} and params["activation"] == "tanh"
        curve = client.get_metric_history(child.info.run_id, "valid/error")
        assert [m.step for m in curve] == [0, 20, 40]
        assert [m.step for m in client.get_metric_history(child.info.run_id, "train/nll")] == [20, 40]
        for i in (1, 2):
            for name in SCALARS:
                steps = [m.step for m in client.get_metric_history(child.info.run_id, f"L{i}/{name}")]
                assert steps == [0, 1, 2, 4, 8, 16, 20, 40]  # the log-spaced early probes, then every 20
        tags = child.data.tags
        assert tags["status"] == "completed" and len(tags["git_commit"]) >= 7 and tags["data_version"]
        # --concurrency 2: the cores split between two groups; the group size was measured (study.group: auto).
        assert tags["torch_threads"] == str(max(1, os.cpu_count() // 2)) and tags["glorot.group_size"] in {"1", "2"}
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"diagnostics.npz", "diagnostics.json", "curve.json", "learning_curve.png", "figures"} <= artifacts
        figures = {a.path for a in client.list_artifacts(child.info.run_id, "figures")}
        assert "figures/dCds_u0.png" in figures and "figures/act_u40.png" in figures


def test_model_loads_back_and_predicts(sweep):
    child = next(r for r in sweep["runs"] if r.data.tags.get("paper_cell") == "Tanh N / Shapeset-3x2")
    model = mlflow.pytorch.load_model(child.data.tags["model_uri"])
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (7, 1024)).astype(np.float32))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (7, 9) and torch.isfinite(logits).all()
    pyfunc = mlflow.pyfunc.load_model(child.data.tags["model_uri"])
    assert list(pyfunc.metadata.signature.inputs.to_dict()[0]["tensor-spec"]["shape"]) == [-1, 1024]
    np.testing.assert_allclose(pyfunc.predict(x.numpy()), logits.numpy(), rtol=1e-5, atol=1e-6)


def test_best_model_is_registered(sweep):
    versions = sweep["client"].search_model_versions("name = 'glorot-tiny-shapeset'")
    assert len(versions) == 1
    best = min((r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "config"),
               key=lambda r: r.data.metrics["final/valid_error"])
    assert versions[0].tags["run_id"] == best.info.run_id


def test_the_sweep_says_where_to_watch_it_and_shows_its_progress_in_few_lines(sweep):
    out = sweep["stdout"] + sweep["stderr"]
    assert f"MLflow: {sweep['uri']}/#/experiments/{sweep['experiment'].experiment_id}/runs?" in out
    for cell in ("Tanh / Shapeset-3x2", "Tanh N / Shapeset-3x2"):  # not a line per evaluation: one as each ends
        mine = [line for line in out.splitlines() if f"{cell} d2 w16 lr=0.1 s0" in line and "valid error" in line]
        assert len(mine) == 1 and mine[0].startswith(f"finished {cell} d2 w16 lr=0.1 s0: valid error ")
    assert "sweep: 2/2 configurations done, 100% of updates, ETA 0:00:00" in sweep["stdout"]
    assert "View run" not in out  # MLflow's own address of each run as it ends: the sweep's page is named once


def test_the_sweep_follows_mlflows_conventions(sweep):
    client, experiment = sweep["client"], sweep["experiment"]
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    parent = next(r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "sweep")
    children = [r for r in sweep["runs"] if r.data.tags.get("glorot.kind") == "config"]
    assert parent.data.params["lrs"] == "[0.1]" and parent.data.params["updates"] == "40"
    for network in ("Tanh", "Tanh N"):
        child = next(c for c in children if c.data.tags["paper_cell"].split(" / ")[0] == network)
        assert parent.data.metrics[f"test_error/shapeset/{network}"] == child.data.metrics["final/test_error"]
    table = mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/results.json")
    assert sorted(row[table["columns"].index("run_id")] for row in table["data"]) == sorted(
        c.info.run_id for c in children)
    for run in [parent, *children]:
        assert run.data.tags["mlflow.source.git.commit"] == run.data.tags["git_commit"].removesuffix("+dirty")
    for child in children:
        (dataset,) = child.inputs.dataset_inputs
        assert (dataset.dataset.name, dataset.dataset.digest) == ("shapeset", child.data.tags["data_version"])
        assert len(child.data.tags["prefect.flow_run_id"]) == 36  # a UUID
    assert len(parent.data.tags["prefect.flow_run_id"]) == 36  # the sweep's own flow run
    best = client.get_model_version_by_alias("glorot-tiny-shapeset", "champion")
    assert best.tags["run_id"] == min(children, key=lambda r: r.data.metrics["final/valid_error"]).info.run_id
