"""``glorot sweep``, the command users run, runs the flow of ``flows/sweep.py`` for real (Prefect's
temporary local server, a SQLite MLflow store): the tiny study trained, its rows printed, its
MLflow parent and child runs and its summary written, as ``python flows/sweep.py`` does."""

import json

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, generate_shapeset, make_project, prefect_home, run

pytestmark = pytest.mark.integration


def test_glorot_sweep_trains_the_study_through_the_flow(tmp_path):
    project = make_project(tmp_path / "project", git=True)
    generate_shapeset(project)
    proc = run([str(BIN / "glorot"), "sweep", "--study", "tiny", "--concurrency", "1"], project,
               PREFECT_HOME=prefect_home(tmp_path / "prefect-home"))
    assert "Tanh N" in proc.stdout and "Tanh" in proc.stdout
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("glorot-tiny").experiment_id
    parents = client.search_runs([experiment], "tags.`glorot.kind` = 'sweep'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")
    assert sorted(c.info.status for c in children) == ["FINISHED", "FINISHED"]
    assert json.loads((project / "results" / "tiny" / "summary.json").read_text())["runs"]
