"""The scale-out path with real components, no mocks: ``prefect server start``, a ``process``
work pool, the deployments of flows/deploy.py, ``prefect worker start``, and a sweep that fans
a tiny study out to the ``train-config`` deployment, recorded in MLflow (a SQLite store).

The project is copied into a temp folder (tests/integration/project.py: a params.yaml with a
tiny study, the Shapeset-3x2 splits generated there) and deployed from there, so that the
flows' ROOT is that folder and nothing is written into the repository.
"""

from __future__ import annotations

import datetime
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration import project as tiny
from tests.integration import servers

pytestmark = pytest.mark.integration

POOL = "glorot-test"
TRAIN = "glorot-train-config/train-config"
NIGHTLY = "glorot-sweep/nightly"


def _tail(path: Path, n: int = 4000) -> str:
    return f"--- {path.name} ---\n{path.read_text(errors='replace')[-n:]}" if path.exists() else f"(no {path.name})"


def _run(cmd: list[str], env: dict, log: Path, timeout: float, cwd: Path | None = None) -> None:
    with open(log, "wb") as out:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited with {proc.returncode}\n{_tail(log)}"


@pytest.fixture(scope="module")
def scaled_out(tmp_path_factory):
    """Server, pool, deployments, worker, and one sweep through them; yields what the tests check."""
    tmp = tmp_path_factory.mktemp("prefect")
    project = tiny.make_project(tmp / "project", dict(tiny.TINY_STUDY, group=2))  # both configurations in one group
    tiny.generate_shapeset(project)
    # A nightly hour half a day away: the worker must not pick a scheduled run up during the test.
    cron = f"0 {(datetime.datetime.now(datetime.timezone.utc).hour + 12) % 24} * * *"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "5")  # read by the server only
        with servers.prefect_server(tmp) as api:
            env = servers.prefect_env(tmp, api)
            prefect = str(servers.BIN / "prefect")
            _run([prefect, "work-pool", "create", POOL, "--type", "process"], env, tmp / "pool.log", 120)
            _run([str(servers.BIN / "python"), str(tiny.REPO / "flows" / "deploy.py"), "--pool", POOL, "--cron", cron,
                  "--study", "tiny", "--source", str(project)], env, tmp / "deploy.log", 180)
            worker_env = dict(env, PREFECT_WORKER_QUERY_SECONDS="2")
            with servers.process([prefect, "worker", "start", "--pool", POOL], tmp / "worker.log", env=worker_env):
                uri = f"sqlite:///{tmp / 'mlflow.db'}"
                sweep_log = tmp / "sweep.log"
                try:
                    _run([str(servers.BIN / "python"), str(project / "flows" / "sweep.py"), "--study", "tiny",
                          "--deployment", TRAIN, "--concurrency", "2"],
                         dict(env, MLFLOW_TRACKING_URI=uri), sweep_log, 300, cwd=tmp)
                except (AssertionError, subprocess.TimeoutExpired) as e:
                    raise AssertionError(f"{e}\n{_tail(tmp / 'worker.log')}\n{_tail(sweep_log)}") from None
                yield {"tmp": tmp, "project": project, "api": api, "cron": cron, "mlflow_uri": uri,
                       "logs": "\n".join(_tail(tmp / name) for name in ("deploy.log", "worker.log", "sweep.log"))}


@contextmanager
def _client(api: str):
    """A synchronous Prefect client of the test's server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        yield client


def _runs_of(client, deployment_id, state_type=None):
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType)

    flow_runs = (FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[state_type])))
                 if state_type else None)
    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                                 flow_run_filter=flow_runs)


def test_the_group_of_configurations_ran_as_one_completed_flow_run_of_train_config(scaled_out):
    with _client(scaled_out["api"]) as client:
        deployment = client.read_deployment_by_name(TRAIN)
        assert deployment.work_pool_name == POOL
        runs = [r for r in _runs_of(client, deployment.id) if r.parameters["study"] == "tiny"]
    assert len(runs) == 1, f"{len(runs)} flow runs of {TRAIN}\n{scaled_out['logs']}"
    assert runs[0].state.type.value == "COMPLETED", runs[0].state.name
    assert {c["init"] for c in runs[0].parameters["configs"]} == {"standard", "normalized"}


def test_mlflow_holds_one_completed_child_run_per_configuration_under_one_parent(scaled_out):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(scaled_out["mlflow_uri"])
    experiment = client.get_experiment_by_name("glorot-tiny")
    assert experiment is not None
    parents = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'sweep'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = client.search_runs([experiment.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parents[0].info.run_id}'")
    assert len(children) == 2, scaled_out["logs"]
    assert {(c.data.params["activation"], c.data.params["init"]) for c in children} == {
        ("tanh", "standard"), ("tanh", "normalized")}
    for child in children:
        assert child.data.tags["status"] == "completed" and child.info.status == "FINISHED"
        assert child.data.tags["glorot.group_size"] == "2"
        assert child.data.params["updates"] == str(tiny.TINY_STUDY["updates"])
        assert "final/test_error" in child.data.metrics
    assert (scaled_out["project"] / "results" / "tiny" / "summary.json").is_file()


def test_the_nightly_sweep_is_scheduled_by_the_server(scaled_out):
    from prefect.client.schemas.objects import StateType

    hour = int(scaled_out["cron"].split()[1])
    with _client(scaled_out["api"]) as client:
        deployment = client.read_deployment_by_name(NIGHTLY)
        assert deployment.work_pool_name == POOL
        assert [s.schedule.cron for s in deployment.schedules] == [scaled_out["cron"]]
        assert deployment.parameters == {"study": "tiny", "deployment": TRAIN}
        deadline = time.monotonic() + 90
        while not (scheduled := _runs_of(client, deployment.id, StateType.SCHEDULED)) and time.monotonic() < deadline:
            time.sleep(2)
    assert scheduled, f"the scheduler made no runs of {NIGHTLY}\n{_tail(scaled_out['tmp'] / 'prefect-server.log')}"
    now = datetime.datetime.now(datetime.timezone.utc)
    for run in scheduled:
        start = run.expected_start_time.astimezone(datetime.timezone.utc)
        assert start > now and (start.hour, start.minute) == (hour, 0)


def _flow_run_processes() -> list[int]:
    """Process ids of flow runs that the worker started (``python -m prefect.engine``)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect.engine" in args:
            pids.append(int(cmdline.parent.name))
    return pids


def test_a_killed_flow_run_is_retried_and_resumes_from_its_checkpoint(scaled_out):
    """SIGKILL the worker's process of a configuration mid-training: the worker reports the
    flow run crashed, the sweep's task retries it, and the new flow run resumes the same
    MLflow run from the checkpoint instead of starting again."""
    import os
    import signal

    import yaml
    from mlflow.tracking import MlflowClient

    tmp, project = scaled_out["tmp"], scaled_out["project"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["studies"]["slow"] = dict(tiny.TINY_STUDY, networks=["Softsign N"], widths=[64], updates=4000,
                                     eval_every=400, probe_every=400)
    (project / "slow.yaml").write_text(yaml.safe_dump(params))
    env = dict(servers.prefect_env(tmp, scaled_out["api"]), MLFLOW_TRACKING_URI=scaled_out["mlflow_uri"])
    log = tmp / "slow-sweep.log"
    with open(log, "wb") as out:
        sweep = subprocess.Popen([str(servers.BIN / "python"), str(project / "flows" / "sweep.py"), "--params",
                                  "slow.yaml", "--study", "slow", "--deployment", TRAIN], env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not list(project.glob("checkpoints/*/checkpoint.pt")) and time.monotonic() < deadline:
            assert sweep.poll() is None, _tail(log)
            time.sleep(0.3)
        victims = _flow_run_processes()
        assert len(victims) == 1, f"expected one running flow run, found {victims}\n{_tail(log)}"
        os.kill(victims[0], signal.SIGKILL)
        assert sweep.wait(timeout=420) == 0, f"{_tail(log)}\n{_tail(tmp / 'worker.log')}"
    finally:
        if sweep.poll() is None:
            sweep.kill()
    client = MlflowClient(scaled_out["mlflow_uri"])
    children = client.search_runs([client.get_experiment_by_name("glorot-slow").experiment_id],
                                  "tags.`glorot.kind` = 'config'")
    assert len(children) == 1, "the retry must continue the same MLflow run, not start another"
    run = children[0]
    assert run.data.tags["status"] == "completed" and run.data.tags["glorot.attempts"] == "2"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "valid/error")]
    assert steps == list(range(0, 4001, 400))
    with _client(scaled_out["api"]) as prefect_client:
        deployment = prefect_client.read_deployment_by_name(TRAIN)
        states = sorted(r.state.type.value for r in _runs_of(prefect_client, deployment.id)
                        if r.parameters["study"] == "slow")
    assert states == ["COMPLETED", "CRASHED"]
