"""flows/deploy.py without a server: the repository's prefect.yaml declares the deployments that
flows/deploy.py creates, and bad schedules, pools and thread counts are one line each."""

from pathlib import Path

import pytest
import yaml

from flows import deploy
from flows.sweep import check_parallelism
from glorot.errors import GlorotError

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def test_prefect_yaml_declares_the_deployments_of_deploy_py():
    config = yaml.safe_load(PREFECT_YAML.read_text())
    declared = [{k: v for k, v in spec.items() if k != "flow"} for spec in deploy.declared()]
    assert config["deployments"] == declared
    assert [d["work_pool"]["name"] for d in declared] == ["glorot", "glorot-sweeps"]


def test_prefect_yaml_pull_steps_clone_the_code_then_fetch_the_data_in_the_clone():
    clone, script = yaml.safe_load(PREFECT_YAML.read_text())["pull"]
    assert clone["prefect.deployments.steps.git_clone"]["id"] == "clone"
    shell = script["prefect.deployments.steps.run_shell_script"]
    assert shell["directory"] == "{{ clone.directory }}" and shell["shell"] is True
    assert shell["script"].startswith("dvc pull")


def test_the_nightly_is_one_new_sweep_per_run_with_a_report_and_at_most_one_at_a_time():
    nightly = deploy.declared(study="table1", cron="30 1 * * 1-5", timezone="Europe/Paris", threads=4)[1]
    assert nightly["parameters"] == {"study": "table1", "deployment": "glorot-train-config/train-config",
                                     "new_sweep_per_run": True, "report": True, "threads": 4}
    assert nightly["schedules"] == [{"cron": "30 1 * * 1-5", "timezone": "Europe/Paris"}]
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


@pytest.mark.parametrize("args,message", [
    (["--timezone", "Mars/Olympus"], "glorot: error: invalid timezone: 'Mars/Olympus' is not an IANA time zone"),
    (["--cron", "every night"], "glorot: error: invalid cron: 'every night' is not a cron expression"),
    (["--orchestration-pool", "glorot"], "glorot: error: invalid orchestration pool: 'glorot' is the training pool"),
    (["--threads", "0"], "glorot: error: invalid threads: must be >= 1 (got 0)"),
])
def test_bad_deploy_options_are_one_line_before_any_server_is_asked(args, message, capsys, monkeypatch):
    monkeypatch.setattr(deploy, "check_api", lambda pools: pytest.fail("asked the server"))
    assert deploy.main(["--pool", "glorot", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_local_threads_may_not_exceed_the_cores_in_all(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    check_parallelism(2, 4, remote=False)
    check_parallelism(4, 4, remote=True)  # the workers' cores are theirs to count
    with pytest.raises(GlorotError, match=r"^invalid threads: 4 threads x 4 groups at once exceeds this machine's "
                                          r"8 cores"):
        check_parallelism(4, 4, remote=False)
