"""glorot.pipeline.sweep.Sweep on a local SQLite store, without training: one sweep of a study at
a time, ``--fresh`` closing what a killed sweep left running, a failed sweep's end."""

import json
import re
from pathlib import Path

import pytest

from glorot.config import build_config
from glorot.errors import GlorotError
from glorot.pipeline.study import load_params
from glorot.pipeline.sweep import Sweep, SweepFailed
from glorot.pipeline.tracking import Tracker

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.fixture
def new_sweep(tmp_path):
    study = load_params(REPO_PARAMS).get_study("quick")
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", study.name, tmp_path)
    return lambda: Sweep(study, tmp_path, "data", tracker)


def test_a_second_sweep_of_the_study_is_refused_while_the_first_runs(new_sweep):
    first, second = new_sweep(), new_sweep()
    parent = first.start()
    with pytest.raises(GlorotError, match=rf"^a sweep of study quick is already running \(MLflow parent run "
                                          rf"{parent}, started .*\); wait for it"):
        second.start()
    assert second.lease is None
    first.release()
    assert second.start() == parent  # the same sweep, continued
    second.release()


def test_fresh_closes_the_runs_a_killed_sweep_left_running(new_sweep):
    killed = new_sweep()
    old_parent = killed.start()
    tracker = killed.tracker
    child = tracker.start_child(old_parent, build_config(depth=1, width=4), {})
    killed.release()  # as the lease of a killed sweep dies with its process
    fresh = new_sweep()
    said = []
    new_parent = fresh.start(fresh=True, report=said.append)
    assert new_parent != old_parent
    for run_id in (old_parent, child):
        run = tracker.client.get_run(run_id)
        assert run.info.status == "KILLED" and run.data.tags["glorot.superseded_by"] == new_parent
    assert any(line.startswith("closed 2 run(s) of earlier sweeps left running") for line in said)
    fresh.release()


def test_a_sweep_with_failed_configurations_ends_failed_with_its_summary(new_sweep, tmp_path):
    job = new_sweep()
    parent = job.start()
    with pytest.raises(SweepFailed) as failed:
        job.finish(2, tmp_path / "summary.json")
    assert str(failed.value).startswith(f"2 of {len(job.configs)} configurations failed; see MLflow parent run "
                                        f"{parent} at sqlite:///")
    run = job.tracker.client.get_run(parent)
    assert run.info.status == "FAILED" and run.data.tags["glorot.failed_configs"] == "2"
    assert set(json.loads((tmp_path / "summary.json").read_text())) == {"study", "runs"}
    assert json.loads((tmp_path / "tracking.json").read_text())["parent_run_id"] == parent  # not in DVC's output
    job.release()


def test_the_last_line_of_a_failed_sweep_names_the_first_failures_error(new_sweep, tmp_path):
    job = new_sweep()
    parent = job.start()
    retried, failed = job.configs[0], job.configs[1]
    for config, error in ((retried, "OSError: disk away"), (failed, "GlorotError: corrupt data file x.npz")):
        run_id = job.tracker.start_child(parent, config, {"glorot.config_key": config.label})
        job.tracker.fail(run_id, error)
    done = job.tracker.start_child(parent, retried, {"glorot.config_key": retried.label})
    job.tracker.set_tags(done, {"status": "ok"})
    job.tracker.client.set_terminated(done, "FINISHED")  # the retry of the first one finished
    with pytest.raises(SweepFailed) as err:
        job.finish(1, tmp_path / "summary.json")
    assert str(err.value).endswith(f"(every member of a failed group counts); the first: {failed.paper_cell}: "
                                   f"GlorotError: corrupt data file x.npz")
    job.release()


def test_finished_configurations_are_left_out_before_anything_is_planned(new_sweep):
    from glorot.pipeline.provenance import config_key

    job = new_sweep()
    parent = job.start()
    done, failed = job.configs[:2]
    for config, status in ((done, "completed"), (failed, "failed")):
        run_id = job.tracker.start_child(parent, config, {"glorot.config_key": config_key(config, "v1"),
                                                          "data_version": "v1"})
        job.tracker.set_tags(run_id, {"status": status})
        job.tracker.client.set_terminated(run_id, "FINISHED" if status == "completed" else "FAILED")
    said = []
    todo = job.pending(said.append)
    assert done not in todo and failed in todo and len(todo) == len(job.configs) - 1
    assert said == [f"1 of {len(job.configs)} configurations already finished in this sweep: skipped"]
    job.release()
    again = new_sweep()
    assert again.start(instance="flow-run-2") != parent  # another flow run of the nightly: a sweep of its own
    assert again.pending() == again.configs
    again.release()


def test_a_new_commit_continues_the_sweep_a_new_maths_does_not(new_sweep, monkeypatch):
    """The sweep key is the code hash, not the commit: committing docs or report code between
    two runs of a long study resumes it; an edit of the code that decides the numbers does not."""
    import glorot.pipeline.provenance as provenance
    import glorot.pipeline.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "git_commit", lambda root: "a" * 40)
    first = new_sweep()
    parent = first.start()
    first.release()
    monkeypatch.setattr(sweep_module, "git_commit", lambda root: "b" * 40)
    second = new_sweep()
    assert second.start() == parent
    second.release()
    monkeypatch.setattr(provenance, "code_hash", lambda: "other maths")
    third = new_sweep()
    assert third.start() != parent
    third.release()


def test_a_continued_sweep_keeps_the_flow_run_ids_of_every_orchestrator(new_sweep):
    first = new_sweep()
    parent = first.start(flow_run="flow-run-1")
    first.release()
    again = new_sweep()
    assert again.start(flow_run="flow-run-2") == parent  # continued by another flow run (a retry, a rerun)
    again.release()
    tags = again.tracker.client.get_run(parent).data.tags
    assert tags["prefect.flow_run_id"] == "flow-run-1"  # the one that opened it
    assert tags["prefect.flow_run_ids"] == "flow-run-1,flow-run-2"
    assert again.start(flow_run="flow-run-2") == parent  # the same flow run again is listed once
    again.release()
    assert again.tracker.client.get_run(parent).data.tags["prefect.flow_run_ids"] == "flow-run-1,flow-run-2"


def test_a_launcher_that_fans_out_needs_no_data_only_their_versions_in_dvc_lock(tmp_path, monkeypatch):
    """With ``remote`` (a deployment's workers train), the launcher reads the data versions from
    the DVC lock files alone and plans without the data sets' shapes; trained here, data are required."""
    repo = REPO_PARAMS.parent
    for rel in ("params.yaml", "dvc.yaml", "dvc.lock", "data/dvc.yaml", "data/dvc.lock"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text((repo / rel).read_text())
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text((repo / ".dvc" / "config").read_text())  # a copy, not a git clone
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(GlorotError, match="^missing prepared data .*shapeset: run `dvc repro shapeset`"):
        Sweep.prepare("quick", "params.yaml", tmp_path)
    job = Sweep.prepare("quick", "params.yaml", tmp_path, remote=True)
    job.start(flow_run="flow-run-1")
    try:
        assert job.data_versions == {"shapeset": re.search(r"path: data/shapeset\n\s+hash: md5\n\s+md5: (\S+)",
                                                           (repo / "dvc.lock").read_text()).group(1)}
        groups = job.plan(job.pending(), 4, remote=True)
        assert sum(len(g) for g in groups) == len(job.configs)
    finally:
        job.release()
    assert not (tmp_path / "data" / "shapeset").exists()


def test_a_worker_takes_a_configuration_it_cannot_run_so_that_its_run_can_fail(monkeypatch):
    """A worker's flow run turns its JSON back into configurations without the checks against its
    machine: those come where each starts, with its MLflow run (tests/unit/test_runs.py)."""
    import glorot.config
    from glorot.pipeline.sweep import configs_from_json

    monkeypatch.setattr(glorot.config, "cuda_available", lambda: False)
    [config] = configs_from_json([build_config(check_machine=False, device="cuda").model_dump()])
    assert config.device == "cuda"
    with pytest.raises(GlorotError, match="^invalid dataset"):
        configs_from_json([{"dataset": "nope"}])  # the rest is validated again


def test_a_study_choosing_rates_on_seed_0_trains_its_other_seeds_at_the_chosen_rates_once_seed_0_is_done(tmp_path):
    """Two stages in one sweep (``lr_choice_seeds``): seed 0 at every rate; then, once all of
    those finished, seed 1 at each network's rate chosen by ``glorot.paper.selection.choose_lr``
    on seed 0 (here 0.03, but 0.1 for Tanh N; none for Sigmoid, whose every rate diverged)."""
    import yaml

    from glorot.pipeline.provenance import config_key

    params = yaml.safe_load(REPO_PARAMS.read_text())
    params["studies"]["quick"].update(seeds=[0, 1], lr_choice_seeds=[0])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    study = load_params(tmp_path / "params.yaml").get_study("quick", check_machine=False)
    job = Sweep(study, tmp_path, "data", Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", study.name, tmp_path))
    parent = job.start()
    assert job.pending() == job.configs and len(job.configs) == 15 and study.n_configs == 20

    def record(config, valid_error=None):
        run_id = job.tracker.start_child(parent, config, {"glorot.config_key": config_key(config, "v1"),
                                                          "data_version": "v1"})
        if valid_error is not None:
            job.tracker.client.log_metric(run_id, "final/valid_error", valid_error)
            job.tracker.client.log_metric(run_id, "final/test_error", valid_error)
        job.tracker.set_tags(run_id, {"status": "completed" if valid_error is not None else "diverged"})
        job.tracker.client.set_terminated(run_id, "FINISHED")

    best = {"Tanh N": 0.1}
    for config in job.configs[:-1]:
        record(config, None if config.paper_name == "Sigmoid" else
               0.2 - 0.1 * (config.lr == best.get(config.paper_name, 0.03)))
    assert job.pending() == job.configs[-1:]  # seed 0 not done: no choice yet
    record(job.configs[-1])
    said = []
    todo = job.pending(said.append)
    assert [(c.paper_name, c.lr, c.seed) for c in todo] == [
        (n, best.get(n, 0.03), 1) for n in ("Softsign", "Softsign N", "Tanh", "Tanh N")]
    assert said == ["learning rates chosen on seed(s) 0: Softsign shapeset d5 w250: 0.03; Softsign N shapeset d5 "
                    "w250: 0.03; Tanh shapeset d5 w250: 0.03; Tanh N shapeset d5 w250: 0.1; seed(s) 1 run at those "
                    "rates", "15 of 20 configurations already finished in this sweep: skipped"]
    record(todo[0], 0.05)
    assert job.pending() == todo[1:] and job.finished == 16
    for config in todo[1:]:
        record(config, 0.05)
    said = []
    assert job.pending(said.append, after_stage=True) == [] and said == []  # trained here, not skipped
    job.release()
