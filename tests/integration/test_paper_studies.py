"""The paper's depth and pre-training experiments end to end at a tiny scale: a Prefect sweep
into a real MLflow store, then `glorot report`, whose verdicts cover depth and pre-training."""

import json
import sys

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, generate_shapeset, make_project, run

pytestmark = pytest.mark.integration

TINY = {"datasets": ["shapeset"], "widths": [12], "lrs": [0.1], "seeds": [0], "updates": 40, "eval_every": 10,
        "probe_every": 10, "probe_size": 20, "device": "cpu", "group": 1}
DEPTH = dict(TINY, description="depth, tiny", networks=["Tanh", "Sigmoid"], depths=[1, 2, 4, 5])
PRETRAINING = dict(TINY, description="pre-training, tiny", networks=["Sigmoid", "Sigmoid DAE"], depths=[4],
                   pretrain_updates=30, pretrain_lr=0.05, pretrain_noise=0.25)


def _sweep_and_report(tmp, study):
    project = make_project(tmp / "project", study)
    generate_shapeset(project)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    extra = {"MLFLOW_TRACKING_URI": uri, "PREFECT_HOME": str(tmp / "prefect-home")}
    run([sys.executable, "flows/sweep.py", "--study", "tiny", "--concurrency", "2"], project, **extra)
    run([str(BIN / "glorot"), "report", "--study", "tiny"], project, **extra)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("glorot-tiny")
    children = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("glorot.kind") == "config"]
    verdicts = {v["id"]: v for v in json.loads((project / "reports" / "tiny" / "verdicts.json").read_text())}
    return client, children, verdicts, project


def test_a_depth_study_runs_every_depth_and_the_report_judges_depth(tmp_path):
    client, children, verdicts, project = _sweep_and_report(tmp_path, DEPTH)
    assert sorted((r.data.params["activation"], int(r.data.params["depth"])) for r in children) == sorted(
        (a, d) for a in ("tanh", "sigmoid") for d in (1, 2, 4, 5))
    assert all(r.data.tags["status"] == "completed" for r in children)
    for key in ("depth_sigmoid_5_worse_than_4", "fig2_sigmoid_recovery_depth4", "fig2_sigmoid_no_recovery_depth5"):
        assert verdicts[key]["status"] != "not run", key
    assert (project / "reports" / "tiny" / "figures").is_dir()


def test_a_pre_training_study_pre_trains_logs_it_and_judges_the_claim(tmp_path):
    client, children, verdicts, _ = _sweep_and_report(tmp_path, PRETRAINING)
    dae = [r for r in children if r.data.params["init"] == "dae"]
    assert len(dae) == 1 and dae[0].data.tags["paper_cell"] == "Sigmoid DAE / Shapeset-3x2"
    history = client.get_metric_history(dae[0].info.run_id, "pretrain/L4/reconstruction")
    assert history and max(m.step for m in history) == 4 * PRETRAINING["pretrain_updates"]
    assert verdicts["pretraining_dae_no_saturation"]["status"] != "not run"
