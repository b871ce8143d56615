"""prefect.yaml on a real server and worker: ``prefect deploy --all`` from a git clone of a tiny
project creates the deployments that flows/deploy.py declares, and a ``train-config`` flow
run on a worker that has no copy of the project clones it, builds its data with DVC
(``dvc pull`` finds no remote here), and trains its configuration into MLflow."""

from __future__ import annotations

import os
import time

import pytest

from flows import deploy
from tests.integration import project as tiny
from tests.integration import servers
from tests.integration.test_prefect import _client, _run, _tail

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A server, the pools of prefect.yaml, its deployments from the tiny project's git repository, a worker."""
    tmp = tmp_path_factory.mktemp("prefect-yaml")
    project = tiny.make_project(tmp / "project", git=True)
    with servers.prefect_server(tmp) as api:
        env = dict(servers.prefect_env(tmp, api), PREFECT_CLI_PROMPT="false")
        prefect = str(servers.BIN / "prefect")
        for spec in deploy.declared():
            _run([prefect, "work-pool", "create", spec["work_pool"]["name"], "--type", "process"], env,
                 tmp / "pool.log", 120)
        _run([prefect, "variable", "set", "glorot_repository", str(project)], env, tmp / "variable.log", 120)
        _run([prefect, "--no-prompt", "deploy", "--all"], env, tmp / "deploy.log", 240, cwd=project)
        # a worker runs in the project's environment (docs/scale.md): its pull steps call `dvc`
        worker_env = dict(env, PREFECT_WORKER_QUERY_SECONDS="2",
                          PATH=f"{servers.BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}")
        with servers.process([prefect, "worker", "start", "--pool", "glorot"], tmp / "worker.log", env=worker_env,
                             cwd=tmp):
            yield {"tmp": tmp, "api": api, "project": project}


def test_prefect_deploy_all_creates_the_deployments_of_deploy_py(deployed):
    with _client(deployed["api"]) as client:
        for spec in deploy.declared():
            found = client.read_deployment_by_name(f"{spec['flow']}/{spec['name']}")
            assert (found.entrypoint, found.work_pool_name, found.parameters) == (
                spec["entrypoint"], spec["work_pool"]["name"], spec["parameters"])
            assert [(s.schedule.cron, s.schedule.timezone) for s in found.schedules] == [
                (s["cron"], s["timezone"]) for s in spec.get("schedules", [])]
            limit = found.global_concurrency_limit.limit if found.global_concurrency_limit else None
            assert limit == spec.get("concurrency_limit", {}).get("limit")
            assert [next(iter(step)) for step in found.pull_steps] == [
                "prefect.deployments.steps.git_clone", "prefect.deployments.steps.run_shell_script"]


def test_a_worker_without_the_project_clones_it_and_builds_its_data(deployed):
    from mlflow.tracking import MlflowClient
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from glorot.pipeline.study import load_params

    tmp = deployed["tmp"]
    config = load_params(deployed["project"] / "params.yaml").get_study("tiny").configs()[0]
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    with temporary_settings({PREFECT_API_URL: deployed["api"]}):
        run = run_deployment("glorot-train-config/train-config", timeout=0, parameters={
            "configs": [config.model_dump()], "study": "tiny", "tracking_uri": uri, "label": config.label,
            "threads": 1})
    with _client(deployed["api"]) as client:
        deadline = time.monotonic() + 300
        while not (run := client.read_flow_run(run.id)).state.is_final() and time.monotonic() < deadline:
            time.sleep(2)
    assert run.state.type.value == "COMPLETED", f"{run.state.name}: {run.state.message}\n{_tail(tmp / 'worker.log')}"
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("glorot-tiny").experiment_id],
                              "tags.`glorot.kind` = 'config'")
    assert len(runs) == 1 and runs[0].data.tags["status"] == "completed"
    assert not (deployed["project"] / "data" / "shapeset").exists(), "the data came from the clone, not the project"
