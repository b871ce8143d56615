"""A sweep launched from a machine without the data, fanned out to a worker that has them, on
real servers (``prefect server start``, ``mlflow server``, a ``prefect worker start`` on a
``process`` pool), no mocks: what the launcher needs (no data), what a continued sweep keeps
(every flow-run id), how training flow runs are named (apart, sweep by sweep), and what a
configuration that the worker cannot run gives (one line, a failed child run with its ``error``).

Two copies of the project stand for two machines: the worker's (the deployment's source, with
Shapeset-3x2 generated there) and the launcher's (no ``data/shapeset``).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.integration import project as tiny
from tests.integration import servers
from tests.integration.test_prefect import _client, _run, _runs_of, _tail

pytestmark = pytest.mark.integration

POOL = "glorot-remote"
TRAIN = f"glorot-train-config/train-config-{POOL}"
NO_CUDA = "invalid device: 'cuda' requested but no CUDA device is available"


def _sweep(launcher: Path, env: dict, log: Path, *args: str) -> subprocess.CompletedProcess:
    """``flows/sweep.py`` of the launcher's copy, fanned out to the worker; both its streams go to ``log``."""
    cmd = [str(servers.BIN / "python"), str(launcher / "flows" / "sweep.py"), "--deployment", TRAIN,
           "--concurrency", "2", *args]
    with open(log, "wb") as out:
        return subprocess.run(cmd, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, timeout=420)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """Servers, a worker with the data, and four sweeps from a launcher without them: a study's
    first sweep, its rerun (continued), a fresh one, and a ``device: cuda`` study (no CUDA here)."""
    import torch

    tmp = tmp_path_factory.mktemp("remote")
    worker = tiny.make_project(tmp / "worker", dict(tiny.TINY_STUDY, group=2))
    params = yaml.safe_load((worker / "params.yaml").read_text())
    params["studies"]["gpu"] = dict(tiny.TINY_STUDY, group=2, device="cuda")
    (worker / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    tiny.generate_shapeset(worker)
    launcher = tiny.make_project(tmp / "launcher")
    (launcher / "params.yaml").write_text((worker / "params.yaml").read_text())
    with servers.mlflow_server(tmp) as uri, servers.prefect_server(tmp) as api:
        env = dict(servers.prefect_env(tmp, api), MLFLOW_TRACKING_URI=uri)
        _run([str(servers.BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"], env,
             tmp / "pool.log", 120)
        _run([str(servers.BIN / "python"), str(tiny.REPO / "flows" / "deploy.py"), "--pool", POOL,
              "--orchestration-pool", f"{POOL}-sweeps", "--source", str(worker)], env, tmp / "deploy.log", 180)
        with servers.process([str(servers.BIN / "prefect"), "worker", "start", "--pool", POOL], tmp / "worker.log",
                             env=dict(env, PREFECT_WORKER_QUERY_SECONDS="2")):
            sweeps = [("first", ("--study", "tiny")), ("rerun", ("--study", "tiny")),
                      ("fresh", ("--study", "tiny", "--fresh"))]
            sweeps += [] if torch.cuda.is_available() else [("gpu", ("--study", "gpu"))]
            done = {name: _sweep(launcher, env, tmp / f"{name}.log", *args) for name, args in sweeps}
        logs = "\n".join(_tail(tmp / f"{name}.log") for name in (*done, "worker"))
        yield {"tmp": tmp, "launcher": launcher, "worker": worker, "api": api, "uri": uri, "done": done, "logs": logs}


def _mlflow(remote, study: str):
    """The MLflow client, and the parent runs of ``study``'s sweeps, oldest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(remote["uri"])
    experiment = client.get_experiment_by_name(f"glorot-{study}")
    parents = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'sweep'",
                                 order_by=["attributes.start_time ASC"])
    return client, experiment, parents


def _children(client, experiment, parent):
    return client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")


def test_a_launcher_without_the_data_fans_out_and_the_worker_trains_on_its_own(remote):
    assert not (remote["launcher"] / "data" / "shapeset").exists()
    assert [remote["done"][name].returncode for name in ("first", "rerun", "fresh")] == [0, 0, 0], remote["logs"]
    client, experiment, parents = _mlflow(remote, "tiny")
    assert [p.info.status for p in parents] == ["FINISHED", "FINISHED"], remote["logs"]
    for parent in parents:
        children = _children(client, experiment, parent)
        assert len(children) == 2 and {c.data.tags["status"] for c in children} == {"completed"}
        worker_data = (remote["worker"] / "data" / "shapeset").resolve()
        assert {c.data.tags["data_source"] for c in children} == {str(worker_data)}


def test_a_continued_sweep_keeps_the_flow_run_ids_of_both_of_its_runs(remote):
    rerun = (remote["tmp"] / "rerun.log").read_text()
    assert "2 of 2 configurations already finished in this sweep: skipped" in rerun, remote["logs"]
    _, _, parents = _mlflow(remote, "tiny")
    tags = parents[0].data.tags
    ids = tags["prefect.flow_run_ids"].split(",")
    assert len(ids) == 2 and len(set(ids)) == 2 and all(len(i) == 36 for i in ids)
    assert tags["prefect.flow_run_id"] == ids[0]  # the flow run that opened it
    assert parents[1].data.tags["prefect.flow_run_ids"] == parents[1].data.tags["prefect.flow_run_id"]  # --fresh
    with _client(remote["api"]) as client:
        sweeps = {str(r.id): r.name for r in client.read_flow_runs() if r.name.startswith("tiny ")}
    assert set(ids) <= set(sweeps), sweeps


def test_training_flow_runs_of_two_sweeps_have_names_of_their_own(remote):
    with _client(remote["api"]) as client:
        trained = [r for r in _runs_of(client, client.read_deployment_by_name(TRAIN).id)
                   if r.parameters["study"] == "tiny"]
    names = [r.name for r in trained]
    assert len(trained) == 2 and len(set(names)) == 2, names  # the first sweep's group and the fresh one's
    for run in trained:
        label = re.escape(run.parameters["label"])
        assert re.fullmatch(rf"tiny: {label} \[{str(run.id).replace('-', '')[-8:]}\]", run.name), run.name
        assert f"flow run {run.name!r} ({run.id}) of {TRAIN} ended Completed" in "".join(
            (remote["tmp"] / f"{name}.log").read_text() for name in ("first", "fresh"))


def test_a_device_the_worker_lacks_fails_its_child_runs_in_one_line_without_a_retry(remote):
    if "gpu" not in remote["done"]:
        pytest.skip("this machine has CUDA: a device: cuda study trains")
    assert remote["done"]["gpu"].returncode == 2, remote["logs"]
    said = (remote["tmp"] / "gpu.log").read_text()
    assert said.strip().splitlines()[-1].startswith("glorot: error: 2 of 2 configurations failed;"), said
    assert re.search(r"flow run gpu: .* of .* ended Failed: " + re.escape(NO_CUDA), said), said  # the launcher's line
    worker_log = (remote["tmp"] / "worker.log").read_text()
    assert "Traceback" not in worker_log, worker_log[-6000:]
    assert NO_CUDA in worker_log
    client, experiment, [parent] = _mlflow(remote, "gpu")
    assert parent.info.status == "FAILED" and parent.data.tags["glorot.failed_configs"] == "2"
    children = _children(client, experiment, parent)
    assert len(children) == 2, remote["logs"]
    for child in children:
        assert child.info.status == "FAILED" and child.data.tags["status"] == "failed"
        assert NO_CUDA in child.data.tags["error"]
    with _client(remote["api"]) as prefect:
        runs = [r for r in _runs_of(prefect, prefect.read_deployment_by_name(TRAIN).id)
                if r.parameters["study"] == "gpu"]
    assert [r.state.type.value for r in runs] == ["FAILED"]  # a user error: not submitted again


def test_the_worker_log_names_each_mlflow_run_at_most_once(remote):
    views = Counter(re.findall(r"View run .* at: (\S+)", (remote["tmp"] / "worker.log").read_text()))
    assert all(n == 1 for n in views.values()), views
