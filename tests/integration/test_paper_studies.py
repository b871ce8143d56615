"""The paper's depth and pre-training experiments end to end at a tiny scale: a Prefect sweep
into a real MLflow store, then `glorot report`, whose verdicts cover depth and pre-training.

One study holds both experiments (its grid is networks x depths, so the pre-trained net runs at
every depth too): one sweep and one report serve both tests, which only read what they made."""

import json
import sys

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, generate_shapeset, make_project, prefect_home, run

pytestmark = pytest.mark.integration

DEPTHS = (1, 2, 4, 5)
STUDY = {"description": "depth and pre-training, tiny", "datasets": ["shapeset"],
         "networks": ["Tanh", "Sigmoid", "Sigmoid DAE"], "depths": list(DEPTHS), "widths": [12], "lrs": [0.1],
         "seeds": [0], "updates": 40, "eval_every": 10, "probe_every": 10, "probe_size": 20, "device": "cpu",
         "group": 1, "pretrain_updates": 30, "pretrain_lr": 0.05, "pretrain_noise": 0.25}


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    """The study swept by Prefect into a SQLite MLflow store, then reported on."""
    tmp = tmp_path_factory.mktemp("paper")
    project = make_project(tmp / "project", STUDY)
    generate_shapeset(project)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    extra = {"MLFLOW_TRACKING_URI": uri, "PREFECT_HOME": prefect_home(tmp / "prefect-home")}
    run([sys.executable, "flows/sweep.py", "--study", "tiny", "--concurrency", "2"], project, **extra)
    run([str(BIN / "glorot"), "report", "--study", "tiny"], project, **extra)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("glorot-tiny")
    children = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("glorot.kind") == "config"]
    verdicts = {v["id"]: v for v in json.loads((project / "reports" / "tiny" / "verdicts.json").read_text())}
    return {"client": client, "children": children, "verdicts": verdicts, "project": project}


def test_a_depth_study_runs_every_depth_and_the_report_judges_depth(studied):
    children, verdicts = studied["children"], studied["verdicts"]
    assert sorted((r.data.params["activation"], r.data.params["init"], int(r.data.params["depth"]))
                  for r in children) == sorted((a, i, d) for a, i in (("tanh", "standard"), ("sigmoid", "standard"),
                                                                      ("sigmoid", "dae")) for d in DEPTHS)
    assert all(r.data.tags["status"] == "completed" for r in children)
    for key in ("depth_sigmoid_5_worse_than_4", "fig2_sigmoid_recovery_depth4", "fig2_sigmoid_no_recovery_depth5"):
        assert verdicts[key]["status"] != "not run", key
    assert (studied["project"] / "reports" / "tiny" / "figures").is_dir()


def test_a_pre_training_study_pre_trains_logs_it_and_judges_the_claim(studied):
    client, children = studied["client"], studied["children"]
    dae = {int(r.data.params["depth"]): r for r in children if r.data.params["init"] == "dae"}
    assert sorted(dae) == list(DEPTHS) and dae[4].data.tags["paper_cell"] == "Sigmoid DAE / Shapeset-3x2"
    for depth, child in dae.items():  # every layer pre-trained, each step logged
        history = client.get_metric_history(child.info.run_id, f"pretrain/L{depth}/reconstruction")
        assert history and max(m.step for m in history) == depth * STUDY["pretrain_updates"], depth
    plain = [r for r in children if r.data.params["init"] != "dae"]
    assert not any(k.startswith("pretrain/") for r in plain for k in r.data.metrics)  # only the DAE nets pre-train
    assert studied["verdicts"]["pretraining_dae_no_saturation"]["status"] != "not run"
