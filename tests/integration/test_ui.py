"""``glorot ui`` serves the project's own MLflow store, even when the venv is not activated, and
prints the address of the latest sweep's training runs; stopped in any way, it stops its server."""

import json
import os
import signal
import socket
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from glorot.pipeline.tracking import Tracker

from .project import BIN, make_project
from .servers import free_port, own_environ, process, wait_healthy

pytestmark = pytest.mark.integration


def test_ui_serves_the_project_store(tmp_path):
    project = make_project(tmp_path / "project")
    tracker = Tracker(f"sqlite:///{project / 'mlflow.db'}", "tiny", project)
    parent = tracker.start_parent({"note": "ui test"})
    port = free_port()
    env = own_environ()
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


def _group_alive(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _server_of(ui_pid: int) -> int:
    """The pid of the ``mlflow server`` that ``glorot ui`` started (its child leading a group)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == ui_pid and b"mlflow\x00server" in cmdline:
            return int(stat.parent.name)
    raise AssertionError(f"no mlflow server child of {ui_pid}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_ui_stopped_in_any_way_stops_its_server(tmp_path, sig):
    """A plain ``subprocess.call`` left the server (about 16 processes, the port bound) running
    after ``glorot ui`` got SIGTERM or SIGKILL."""
    project = make_project(tmp_path / "project")
    port = free_port()
    log = tmp_path / "ui.log"
    with process([str(BIN / "glorot"), "ui", "--port", str(port)], log, cwd=project) as proc:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, log)
        server = _server_of(proc.pid)
        assert server != proc.pid and _group_alive(server)
        os.kill(proc.pid, sig)  # glorot ui alone, as a service manager or a closed terminal would
        proc.wait(timeout=60)
        deadline = time.monotonic() + 60
        while _group_alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group_alive(server), f"the server outlived glorot ui ({sig.name})"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    if sig != signal.SIGKILL:
        assert proc.returncode == 128 + sig
