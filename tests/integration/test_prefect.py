"""The scale-out path with real components, no mocks: ``prefect server start``, two ``process``
work pools (training, orchestration), the deployments of flows/deploy.py, a ``prefect worker
start`` on each pool, a sweep that fans a tiny study out to the ``train-config`` deployment,
and two triggers of the nightly deployment, recorded in MLflow (a SQLite store).

The project is copied into a temp folder (tests/integration/project.py: a params.yaml with a
tiny study, the Shapeset-3x2 splits generated there) and deployed from there, so that the
flows' ROOT is that folder and nothing is written into the repository.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import time
import zoneinfo
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.integration import project as tiny
from tests.integration import servers

pytestmark = pytest.mark.integration

POOL, ORCHESTRATION = "glorot-test", "glorot-test-sweeps"
TRAIN = f"glorot-train-config/train-config-{POOL}"  # a pool other than prefect.yaml's
NIGHTLY = "glorot-sweep/nightly"
TIMEZONE = "America/New_York"


def _tail(path: Path, n: int = 4000) -> str:
    return f"--- {path.name} ---\n{path.read_text(errors='replace')[-n:]}" if path.exists() else f"(no {path.name})"


def _run(cmd: list[str], env: dict, log: Path, timeout: float, cwd: Path | None = None) -> None:
    with open(log, "wb") as out:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited with {proc.returncode}\n{_tail(log)}"


def _sweep(project: Path, env: dict, log: Path, *args: str) -> None:
    cmd = [str(servers.BIN / "python"), str(project / "flows" / "sweep.py"), "--study", "tiny", "--deployment", TRAIN,
           "--concurrency", "2", *args]
    try:
        _run(cmd, env, log, 300, cwd=log.parent)
    except (AssertionError, subprocess.TimeoutExpired) as e:
        raise AssertionError(f"{e}\n{_tail(log.parent / 'worker.log')}\n{_tail(log)}") from None


@pytest.fixture(scope="module")
def scaled_out(tmp_path_factory):
    """Server, pools, deployments, workers, and one sweep through them; yields what the tests check."""
    tmp = tmp_path_factory.mktemp("prefect")
    project = tiny.make_project(tmp / "project", dict(tiny.TINY_STUDY, group=2))  # both configurations in one group
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["studies"]["nightly"] = dict(tiny.TINY_STUDY, group=2)  # the nightly's own experiment: glorot-nightly
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    tiny.generate_shapeset(project)
    # A nightly hour half a day away: the worker must not pick a scheduled run up during the test.
    cron = f"0 {(datetime.datetime.now(zoneinfo.ZoneInfo(TIMEZONE)).hour + 12) % 24} * * *"
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "5")  # read by the server only
        mp.setenv("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS", "5")  # a queued night's next try
        with servers.prefect_server(tmp) as api:
            env = dict(servers.prefect_env(tmp, api), MLFLOW_TRACKING_URI=uri)
            prefect = str(servers.BIN / "prefect")
            _run([prefect, "work-pool", "create", POOL, "--type", "process"], env, tmp / "pool.log", 120)
            _run([str(servers.BIN / "python"), str(tiny.REPO / "flows" / "deploy.py"), "--pool", POOL,
                  "--orchestration-pool", ORCHESTRATION, "--cron", cron, "--timezone", TIMEZONE,
                  "--study", "nightly", "--concurrency", "2", "--source", str(project)], env, tmp / "deploy.log", 180)
            worker_env = dict(env, PREFECT_WORKER_QUERY_SECONDS="2")
            with servers.process([prefect, "worker", "start", "--pool", POOL], tmp / "worker.log", env=worker_env), \
                    servers.process([prefect, "worker", "start", "--pool", ORCHESTRATION], tmp / "orchestration.log",
                                    env=worker_env):
                _sweep(project, env, tmp / "sweep.log")
                yield {"tmp": tmp, "project": project, "api": api, "cron": cron, "mlflow_uri": uri, "env": env,
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
        assert deployment.work_pool_name == ORCHESTRATION
        assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [(scaled_out["cron"], TIMEZONE)]
        assert deployment.parameters == {"study": "nightly", "deployment": TRAIN, "new_sweep_per_run": True,
                                         "report": True, "concurrency": 2}
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "ENQUEUE"
        deadline = time.monotonic() + 90
        while not (scheduled := _runs_of(client, deployment.id, StateType.SCHEDULED)) and time.monotonic() < deadline:
            time.sleep(2)
    assert scheduled, f"the scheduler made no runs of {NIGHTLY}\n{_tail(scaled_out['tmp'] / 'prefect-server.log')}"
    now = datetime.datetime.now(datetime.timezone.utc)
    for run in scheduled:
        start = run.expected_start_time.astimezone(zoneinfo.ZoneInfo(TIMEZONE))
        assert start > now and (start.hour, start.minute) == (hour, 0)


def test_the_launcher_logs_each_flow_run_it_submits_and_how_many_configurations_are_done(scaled_out):
    log = (scaled_out["tmp"] / "sweep.log").read_text()
    assert len(re.findall(r"submitting flow run 'tiny: .+?' to " + re.escape(TRAIN), log)) == 1, log
    submitted = re.findall(r"flow run 'tiny: (.+?)' \(([0-9a-f-]{36})\) of " + re.escape(TRAIN) +
                           r" ended Completed: (http://127\.0\.0\.1:\d+/runs/flow-run/[0-9a-f-]{36})", log)
    assert len(submitted) == 1, log
    label, run_id, address = submitted[0]
    assert label.endswith(f"(2 configurations) [{run_id.replace('-', '')[-8:]}]") and address.endswith(run_id)
    assert "2/2 configurations done" in log


def test_rerunning_the_sweep_submits_no_finished_configuration(scaled_out):
    log = scaled_out["tmp"] / "rerun.log"
    _sweep(scaled_out["project"], scaled_out["env"], log)
    text = log.read_text()
    assert "2 of 2 configurations already finished in this sweep: skipped" in text, text
    assert "submitting flow run" not in text
    with _client(scaled_out["api"]) as client:
        deployment = client.read_deployment_by_name(TRAIN)
        assert len([r for r in _runs_of(client, deployment.id) if r.parameters["study"] == "tiny"]) == 1


def _wait_final(client, flow_run_ids, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [client.read_flow_run(i) for i in flow_run_ids]
        if all(r.state.is_final() for r in runs):
            return runs
        time.sleep(2)
    raise AssertionError(f"flow runs not final within {timeout}s: {[r.state.name for r in runs]}")


def test_two_triggers_of_the_nightly_give_two_sweeps_one_after_the_other(scaled_out):
    """Each run of the nightly is a new sweep (a new MLflow parent run with its own child runs,
    not the last one continued), its report built at the end; the second, triggered while the
    first runs, waits for it (concurrency limit 1), and neither holds a training slot."""
    from mlflow.tracking import MlflowClient
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    tmp = scaled_out["tmp"]
    with temporary_settings({PREFECT_API_URL: scaled_out["api"]}):
        triggered = [run_deployment(NIGHTLY, timeout=0).id for _ in range(2)]
    with _client(scaled_out["api"]) as client:
        try:
            runs = _wait_final(client, triggered, 480)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{_tail(tmp / 'orchestration.log')}\n{_tail(tmp / 'worker.log')}") from None
        train = client.read_deployment_by_name(TRAIN)
        trained = [r for r in _runs_of(client, train.id) if r.parameters["study"] == "nightly"]
    logs = f"{_tail(tmp / 'orchestration.log')}\n{_tail(tmp / 'worker.log')}"
    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"], logs
    first, second = sorted(runs, key=lambda r: r.start_time)
    assert first.end_time <= second.start_time, "two nights overlapped"
    assert all(re.fullmatch(r"nightly \d{4}-\d\d-\d\d \d\d:\d\d UTC [0-9a-f]{8}", r.name) for r in runs), [
        r.name for r in runs]
    assert runs[0].name != runs[1].name, "two triggers in the same minute, one name"
    named = r"nightly: Tanh, Tanh N / Shapeset-3x2 .* \(2 configurations\) \[[0-9a-f]{8}\]"
    assert len(trained) == 2 and all(re.fullmatch(named, r.name) for r in trained), [r.name for r in trained]
    assert trained[0].name != trained[1].name, "the groups of two nights, one name"
    assert {r.work_pool_name for r in trained} == {POOL} and {r.work_pool_name for r in runs} == {ORCHESTRATION}

    client = MlflowClient(scaled_out["mlflow_uri"])
    experiment = client.get_experiment_by_name("glorot-nightly")
    parents = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'sweep'")
    assert len(parents) == 2 and {p.info.status for p in parents} == {"FINISHED"}, logs
    for parent in parents:
        children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        assert len(children) == 2 and {c.info.status for c in children} == {"FINISHED"}
        assert parent.data.tags.get("glorot.report") == "report/report.html"
    assert (scaled_out["project"] / "reports" / "nightly" / "report.html").is_file()


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


def test_a_stopped_sweep_cancels_its_flow_runs_instead_of_waiting_for_them(scaled_out):
    """Ctrl-C on a sweep that fans out to a deployment, while its flow run trains a configuration
    of hours: the sweep cancels the flow run (not retried as a crash), the worker stops its
    process, and the sweep ends with status 130 instead of waiting for the training to end."""
    import signal

    tmp, project = scaled_out["tmp"], scaled_out["project"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["studies"]["endless"] = dict(tiny.TINY_STUDY, networks=["Tanh"], updates=100_000_000, eval_every=2000,
                                        probe_every=2000)
    (project / "endless.yaml").write_text(yaml.safe_dump(params))
    env = dict(servers.prefect_env(tmp, scaled_out["api"]), MLFLOW_TRACKING_URI=scaled_out["mlflow_uri"])
    log, before = tmp / "endless-sweep.log", set(project.glob("checkpoints/*/checkpoint.pt"))
    with open(log, "wb") as out:  # SIGINT as a terminal's Ctrl-C finds it, even in a background job
        sweep = subprocess.Popen([str(servers.BIN / "python"), str(project / "flows" / "sweep.py"), "--params",
                                  "endless.yaml", "--study", "endless", "--deployment", TRAIN], env=env, stdout=out,
                                 stderr=subprocess.STDOUT, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not set(project.glob("checkpoints/*/checkpoint.pt")) - before and time.monotonic() < deadline:
            assert sweep.poll() is None, _tail(log)
            time.sleep(0.3)
        assert _flow_run_processes(), f"no flow run is training\n{_tail(log)}"
        sweep.send_signal(signal.SIGINT)
        assert sweep.wait(timeout=240) == 130, f"{_tail(log)}\n{_tail(tmp / 'worker.log')}"
    finally:
        if sweep.poll() is None:
            sweep.kill()
    text = log.read_text()
    assert "SIGINT: stopping; the flow runs it submitted are cancelled" in text, text[-3000:]
    assert "glorot: interrupted" in text
    with _client(scaled_out["api"]) as prefect_client:
        deployment = prefect_client.read_deployment_by_name(TRAIN)
        states = [r.state.type.value for r in _runs_of(prefect_client, deployment.id)
                  if r.parameters["study"] == "endless"]
    assert states == ["CANCELLED"], f"one flow run, cancelled, never retried\n{_tail(tmp / 'worker.log')}"
    deadline = time.monotonic() + 60
    while _flow_run_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _flow_run_processes(), "the worker left the cancelled flow run's process training"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(scaled_out["mlflow_uri"])
    runs = client.search_runs([client.get_experiment_by_name("glorot-endless").experiment_id])
    assert sorted((r.data.tags["glorot.kind"], r.info.status, r.data.tags["status"]) for r in runs) == [
        ("config", "KILLED", "stopped"), ("sweep", "KILLED", "stopped")], "stopped, not failed: the same command continues"
