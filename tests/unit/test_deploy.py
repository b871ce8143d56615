"""flows/deploy.py without a server: prefect.yaml is the one declaration of the deployments (the
script reads it; with no options it creates exactly those), deployments on other pools coexist
with them, the nightly keeps its settings unless given, and bad options are one line each."""

from pathlib import Path

import pytest
import yaml

from flows import deploy

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"
TRAIN = "glorot-train-config/train-config"


def test_prefect_yaml_declares_the_deployments_of_deploy_py():
    config = yaml.safe_load(PREFECT_YAML.read_text())
    declared = [{k: v for k, v in spec.items() if k != "flow"} for spec in deploy.declared()]
    assert config["deployments"] == declared
    assert [d["work_pool"]["name"] for d in declared] == ["glorot", "glorot-sweeps"]
    assert [spec["flow"] for spec in deploy.declared()] == ["glorot-train-config", "glorot-sweep"]


def test_deploy_py_reads_its_declaration_from_prefect_yaml(tmp_path):
    config = yaml.safe_load(PREFECT_YAML.read_text())
    config["deployments"][1]["schedules"][0]["cron"] = "15 3 * * 6"
    config["deployments"][0]["description"] = "edited"
    (tmp_path / "prefect.yaml").write_text(yaml.safe_dump(config))
    train, nightly = deploy.declaration(tmp_path / "prefect.yaml")
    assert train["description"] == "edited" and nightly["schedules"][0]["cron"] == "15 3 * * 6"


def test_prefect_yaml_pull_steps_clone_the_code_then_fetch_the_data_in_the_clone():
    clone, script = yaml.safe_load(PREFECT_YAML.read_text())["pull"]
    assert clone["prefect.deployments.steps.git_clone"]["id"] == "clone"
    shell = script["prefect.deployments.steps.run_shell_script"]
    assert shell["directory"] == "{{ clone.directory }}" and shell["shell"] is True
    assert shell["script"].startswith("dvc pull")


def test_the_nightly_is_one_new_sweep_per_run_with_a_report_and_at_most_one_at_a_time():
    nightly = deploy.nightly_spec(deploy.NIGHTLY, cron="30 1 * * 1-5", timezone="Europe/Paris", study="table1",
                                  threads=4, concurrency=8)
    assert nightly["parameters"] == {"study": "table1", "deployment": TRAIN, "new_sweep_per_run": True,
                                     "report": True, "threads": 4, "concurrency": 8}
    assert nightly["schedules"] == [{"cron": "30 1 * * 1-5", "timezone": "Europe/Paris"}]
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


def _plan(argv, current=None):
    return deploy.plan(deploy.parse(argv), current)


def test_a_first_deployment_on_another_pool_trains_there_under_a_name_of_its_own():
    train, nightly = _plan(["--pool", "glorot-gpu"])
    assert (train["name"], train["work_pool"]) == ("train-config-glorot-gpu", {"name": "glorot-gpu"})
    assert nightly["parameters"]["deployment"] == f"{TRAIN}-glorot-gpu"
    assert nightly["work_pool"] == {"name": "glorot-sweeps"}


def test_deploying_to_a_gpu_pool_keeps_the_nightly_as_deployed():
    current = deploy.nightly_spec(deploy.NIGHTLY, "cpu-sweeps", TRAIN, "30 1 * * 1-5", "Europe/Paris",
                                  study="table1", threads=4, concurrency=8)
    train, nightly = _plan(["--pool", "glorot-gpu"], current)
    assert train["name"] == "train-config-glorot-gpu"
    assert nightly == current


def test_the_nightly_moves_only_what_is_given():
    current = deploy.nightly_spec(deploy.NIGHTLY, cron="30 1 * * 1-5", study="table1", threads=4)
    specs = _plan(["--pool", "glorot", "--nightly-pool", "glorot-gpu", "--concurrency", "2"], current)
    assert [(s["name"], s["work_pool"]["name"]) for s in specs] == [
        ("train-config", "glorot"), ("train-config-glorot-gpu", "glorot-gpu"), ("nightly", "glorot-sweeps")]
    assert specs[-1]["parameters"] == dict(current["parameters"], deployment=f"{TRAIN}-glorot-gpu", concurrency=2)
    assert specs[-1]["schedules"] == current["schedules"]


def test_the_nightly_may_not_run_on_a_training_pool_it_keeps():
    current = deploy.nightly_spec(deploy.NIGHTLY, pool="shared")
    with pytest.raises(deploy.DeployError, match="^invalid orchestration pool: 'shared' is a training pool"):
        _plan(["--pool", "shared"], current)


@pytest.mark.parametrize("args", [[], ["--pool", "glorot-gpu"], ["--nightly-pool", "glorot-gpu", "--concurrency", "8"],
                                  ["--orchestration-pool", "sweeps", "--cron", "0 3 * * *", "--threads", "2"]])
def test_good_deploy_options_pass_the_checks_made_before_the_server_is_asked(args):
    deploy.check_options(deploy.parse(args))


@pytest.mark.parametrize("args,message", [
    (["--timezone", "Mars/Olympus"], "glorot: error: invalid timezone: 'Mars/Olympus' is not an IANA time zone"),
    (["--cron", "every night"], "glorot: error: invalid cron: 'every night' is not a cron expression"),
    (["--orchestration-pool", "glorot"], "glorot: error: invalid orchestration pool: 'glorot' is a training pool"),
    (["--nightly-pool", "gpu", "--orchestration-pool", "gpu"],
     "glorot: error: invalid orchestration pool: 'gpu' is a training pool"),
    (["--threads", "0"], "glorot: error: invalid threads: must be >= 1 (got 0)"),
    (["--concurrency", "0"], "glorot: error: invalid concurrency: must be >= 1 (got 0)"),
])
def test_bad_deploy_options_are_one_line_before_any_server_is_asked(args, message, capsys, monkeypatch):
    monkeypatch.setattr(deploy, "check_api", lambda: pytest.fail("asked the server"))
    assert deploy.main(["--pool", "glorot", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
