"""Integrity of whole sweeps, with real processes (``python flows/sweep.py`` on Prefect's temporary
local server, a SQLite MLflow store, DVC): a sweep whose configurations fail exits 2 in one line
without retrying a deterministic error; two sweeps of a study launched at once train it once; a
sweep killed with SIGKILL leaves no Prefect server behind, and the next sweep takes its lease over
and resumes it without logging any step twice."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, TINY_STUDY, env, generate_shapeset, make_project, prefect_home, run

pytestmark = pytest.mark.integration

#: Long enough to be running when a second launch or a SIGKILL arrives (a few seconds per configuration).
SLOW = dict(TINY_STUDY, widths=[48], updates=1500, eval_every=300, probe_every=300, group=1)


def _sweep_cmd(*args: str) -> list[str]:
    return [sys.executable, "flows/sweep.py", "--study", "tiny", *args]


def _client(project: Path) -> tuple[MlflowClient, str]:
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    return client, client.get_experiment_by_name("glorot-tiny").experiment_id


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("glorot: error: ")]


def _steps(client: MlflowClient, run_id: str, key: str = "valid/error") -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_a_sweep_whose_data_differ_from_dvc_lock_fails_in_one_line_without_retries(tmp_path):
    project = make_project(tmp_path / "project", git=True)
    run([str(BIN / "dvc"), "repro", "shapeset"], project)
    data = project / "data" / "shapeset" / "valid" / "data.npz"
    flipped = bytearray(data.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    data.unlink()  # a new file: DVC's cache, should the workspace link to it, stays intact
    data.write_bytes(bytes(flipped))
    proc = subprocess.run(_sweep_cmd(), cwd=project, env=env(PREFECT_HOME=prefect_home(tmp_path / "prefect-home")),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    client, experiment = _client(project)
    parents = client.search_runs([experiment], "tags.`glorot.kind` = 'sweep'")
    assert len(parents) == 1
    parent = parents[0]
    [last] = _errors(proc.stderr)
    assert last.startswith(f"glorot: error: 2 of 2 configurations failed; see MLflow parent run {parent.info.run_id} "
                           f"at sqlite:///{project / 'mlflow.db'} (every member of a failed group counts); the first: ")
    assert "Traceback" not in proc.stderr and "Retry" not in proc.stderr, proc.stderr[-3000:]
    assert "differs: the data differ from the version in dvc.lock" in last  # the cause, on the last line
    assert proc.stderr.count("differs: the data differ from the version in dvc.lock") >= 3  # and once per group
    assert parent.info.status == "FAILED" and parent.data.tags["glorot.failed_configs"] == "2"
    assert parent.data.metrics["failed_configs"] == 2
    refused = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")  # refused before training,
    assert len(refused) == 2 and all(r.data.tags["status"] == "failed" and "differs" in r.data.tags["error"]
                                     for r in refused)  # each configuration a failed child run with the cause
    assert (project / "results" / "tiny" / "summary.json").is_file()
    assert client.search_runs([experiment], "tags.`glorot.kind` = 'lock'") == []  # the lease was given back


def test_two_sweeps_of_a_study_launched_at_once_train_it_once(tmp_path):
    project = make_project(tmp_path / "project", SLOW)
    generate_shapeset(project)
    procs = [subprocess.Popen(_sweep_cmd("--concurrency", "1"), cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env=env(PREFECT_HOME=prefect_home(tmp_path / f"prefect-home-{i}")))  # as on two machines
             for i in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], "\n".join(err[-3000:] for _, err in outs)
    loser = outs[codes.index(2)][1]
    errors = _errors(loser)
    assert len(errors) == 1 and errors[0].startswith("glorot: error: a sweep of study tiny is already running "
                                                     "(MLflow parent run "), loser[-3000:]
    client, experiment = _client(project)
    parents = client.search_runs([experiment], "tags.`glorot.kind` = 'sweep'")
    children = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 2 and all(c.data.tags["status"] == "completed" for c in children)
    for child in children:
        assert child.data.tags["glorot.attempts"] == "1"
        assert _steps(client, child.info.run_id) == list(range(0, 1501, 300))
        assert _steps(client, child.info.run_id, "L2/act_std") == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256] + list(
            range(300, 1501, 300))
        models = client.search_logged_models([experiment], f"source_run_id = '{child.info.run_id}'")
        assert len(models) == 1, "a second model was logged for one run"
    assert len(client.search_model_versions("name = 'glorot-tiny-shapeset'")) == 1
    assert client.search_runs([experiment], "tags.`glorot.kind` = 'lock'") == []


def _children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``: {pid: command line}."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_killed_sweep_leaves_no_server_and_the_next_sweep_takes_over_and_resumes(tmp_path):
    project = make_project(tmp_path / "project", dict(SLOW, networks=["Tanh"], updates=3000))
    generate_shapeset(project)
    extra = {"PREFECT_HOME": prefect_home(tmp_path / "prefect-home")}
    with open(tmp_path / "killed.log", "wb") as log:
        sweep = subprocess.Popen(_sweep_cmd(), cwd=project, env=env(**extra), stdout=log, stderr=subprocess.STDOUT)
    servers: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 600
        while not list(project.glob("checkpoints/*/checkpoint.pt")) and time.monotonic() < deadline:
            assert sweep.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            time.sleep(0.2)
        servers = {p: c for p, c in _children_of(sweep.pid).items() if "prefect.server.api.server:create_app" in c}
        assert len(servers) == 1, f"expected Prefect's temporary server among {_children_of(sweep.pid)}"
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
        (server,) = servers
        deadline = time.monotonic() + 60
        while not _gone(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(server), f"Prefect's temporary server outlived the killed sweep: {servers[server]}"
    finally:
        if sweep.poll() is None:
            sweep.kill()
        for pid in servers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    client, experiment = _client(project)
    (child,) = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")
    flushed = int(child.data.tags["glorot.flushed_through"])
    assert child.info.status == "RUNNING" and 0 <= flushed < 3000

    again = subprocess.run(_sweep_cmd(), cwd=project, env=env(**extra), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"taking over the lease of study tiny from " in again.stderr and f"process {sweep.pid} " in again.stderr
    assert "continuing sweep" in again.stderr
    (parent,) = client.search_runs([experiment], "tags.`glorot.kind` = 'sweep'")
    (done,) = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")
    assert parent.info.status == "FINISHED" and done.info.run_id == child.info.run_id
    assert done.data.tags["status"] == "completed" and done.data.tags["glorot.attempts"] == "2"
    assert _steps(client, done.info.run_id) == list(range(0, 3001, 300))
    assert _steps(client, done.info.run_id, "L1/dCds_std") == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256] + list(range(300, 3001, 300))
