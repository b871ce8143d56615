"""``glorot ui`` serves the project's own MLflow store, even when the venv is not activated, and
prints the address of the latest sweep's training runs."""

import json
import os
import urllib.parse
import urllib.request

import pytest

from glorot.pipeline.tracking import Tracker

from .project import BIN, make_project
from .servers import free_port, process, wait_healthy

pytestmark = pytest.mark.integration


def test_ui_serves_the_project_store(tmp_path):
    project = make_project(tmp_path / "project")
    tracker = Tracker(f"sqlite:///{project / 'mlflow.db'}", "tiny", project)
    parent = tracker.start_parent({"note": "ui test"})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = "/usr/bin:/bin"  # not activated: the ui must not rely on `mlflow` being on PATH
    log = tmp_path / "ui.log"
    with process([str(BIN / "glorot"), "ui", "--port", str(port)], log, env=env, cwd=project) as proc:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, log)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name"
                                    f"?experiment_name=glorot-tiny", timeout=10) as r:
            assert json.load(r)["experiment"]["name"] == "glorot-tiny"
    assert f"MLflow UI on http://127.0.0.1:{port}" in log.read_text()
    url = f"http://127.0.0.1:{port}/#/experiments/{tracker.experiment_id}/runs?workflowType=machine_learning"
    search = urllib.parse.quote(f"tags.mlflow.parentRunId = '{parent}'")
    assert f"training runs of study tiny's latest sweep: {url}&searchFilter={search}\n" in log.read_text()
