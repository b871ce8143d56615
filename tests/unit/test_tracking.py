"""glorot.pipeline.tracking on a local SQLite store: exactly-once metrics and repeatable run endings."""

import re

import numpy as np
import torch
import pytest

from mlflow.tracking import MlflowClient

from glorot.config import build_config
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.pipeline.metrics_logger import MlflowLogger
from glorot.pipeline.registry import champions
from glorot.pipeline.store import store_digest
from glorot.pipeline.tracking import Tracker, check_reachable, resolve_uri
from glorot.engine.loop import TrainResult



@pytest.fixture
def tracker(tmp_path):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "unit", tmp_path)


def test_resumed_logger_skips_steps_already_flushed(tracker):
    config = build_config(depth=1, width=4)
    run_id = tracker.start_child(None, config, {})
    first = MlflowLogger(tracker.client, run_id)
    for step in range(4):
        first.log_metrics({"a": step, "b": -step}, step)
    first.flush()
    again = MlflowLogger(tracker.client, run_id)
    assert again.flushed_through == 3
    for step in range(2, 6):  # a resumed run re-creates steps 2 and 3
        again.log_metrics({"a": step, "b": -step}, step)
    again.flush()
    for key in ("a", "b"):
        assert sorted(m.step for m in tracker.client.get_metric_history(run_id, key)) == list(range(6))


class _Killed(BaseException):
    """The process dying mid-call: nothing after it runs, nothing catches it."""


def _kill_on(monkeypatch, cls, name, calls=1):
    """Make ``cls.name`` die on its ``calls``-th call, the earlier ones running as usual."""
    real, seen = getattr(cls, name), []

    def dying(*args, **kwargs):
        seen.append(1)
        if len(seen) == calls:
            raise _Killed
        return real(*args, **kwargs)
    monkeypatch.setattr(cls, name, dying)


def _replay(tracker, run_id, steps):
    logger = MlflowLogger(tracker.client, run_id)
    for step in steps:
        logger.log_metrics({"a": step, "b": -step}, step)
    logger.flush()
    return logger


@pytest.mark.parametrize("where", ["between a batch's metrics and its tag", "between two batches"])
def test_a_run_killed_while_flushing_logs_each_step_once_after_its_resume(tracker, monkeypatch, where):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    import glorot.pipeline.metrics_logger as metrics_logger
    run_id = tracker.start_child(None, build_config(depth=1, width=4), {})
    _replay(tracker, run_id, range(3))
    with monkeypatch.context() as m:
        if where == "between two batches":  # two steps per batch: the second call dies before it sends
            m.setattr(metrics_logger, "METRICS_PER_BATCH", 4)
            _kill_on(m, MlflowClient, "log_batch", calls=2)
        else:  # MLflow commits the metrics, then dies before the tag
            _kill_on(m, SqlAlchemyStore, "_set_tags")
        with pytest.raises(_Killed):
            _replay(tracker, run_id, range(3, 9))
    resumed = _replay(tracker, run_id, range(3, 12))  # from the checkpoint at step 2
    assert resumed.flushed_through == 11
    for key in ("a", "b"):
        assert sorted(m.step for m in tracker.client.get_metric_history(run_id, key)) == list(range(12))


def test_only_a_run_that_holds_metrics_looks_up_what_it_sent_before(tracker, monkeypatch):
    looked_up = []
    real = MlflowClient.get_metric_history
    monkeypatch.setattr(MlflowClient, "get_metric_history",
                        lambda self, run_id, key: looked_up.append(key) or real(self, run_id, key))
    run_id = tracker.start_child(None, build_config(depth=1, width=4), {})
    _replay(tracker, run_id, range(3))
    assert looked_up == []  # a new run: nothing a killed process could have sent
    _replay(tracker, run_id, range(3, 6))
    assert sorted(looked_up) == ["a", "b"]  # a resumed run: once per key, on its first flush


def test_a_run_killed_while_logging_a_pretraining_step_logs_it_once_after_its_restart(tracker, monkeypatch):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    run_id = tracker.start_child(None, build_config(depth=1, width=4), {})
    first = MlflowLogger(tracker.client, run_id)
    first.log_pretraining({"pretrain/L1": 0.5}, 0)
    with monkeypatch.context() as m:
        _kill_on(m, SqlAlchemyStore, "_set_tags")
        with pytest.raises(_Killed):
            first.log_pretraining({"pretrain/L1": 0.25}, 1)
    again = MlflowLogger(tracker.client, run_id)
    for step in range(3):
        again.log_pretraining({"pretrain/L1": 0.5 ** (step + 1)}, step)
    assert sorted(m.step for m in tracker.client.get_metric_history(run_id, "pretrain/L1")) == [0, 1, 2]


def test_finishing_a_run_twice_logs_final_metrics_once(tracker):
    config = build_config(depth=1, width=4)
    net = MLP(3, 2, depth=1, width=4)
    run_id = tracker.start_child(None, config, {})
    result = TrainResult("completed", 10, None, 0.25, 0.5, seconds=1.0)
    example = np.zeros((2, 3), dtype=np.float32)
    tracker.finish_child(run_id, config, result, net, example)
    tracker.finish_child(run_id, config, result, net, example)
    assert len(tracker.client.get_metric_history(run_id, "final/valid_error")) == 1
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["status"] == "completed"
    (model,) = _models(tracker, run_id)  # the model of the first ending is kept, not logged again
    assert run.data.tags["model_uri"] == model.model_uri


def _models(tracker, run_id):
    return tracker.client.search_logged_models([tracker.experiment_id], f"source_run_id = '{run_id}'")


def test_a_run_killed_while_its_model_was_logged_ends_with_one_model(tracker):
    """#24: a kill inside mlflow.pytorch.log_model leaves a PENDING model on the run; the rerun
    that resumes and finishes the run must not leave it beside the one it logs."""
    config = build_config(depth=1, width=4)
    run_id = tracker.start_child(None, config, {})
    pending = tracker.client.create_logged_model(tracker.experiment_id, name="model", source_run_id=run_id)
    assert pending.status == "PENDING"  # what an interrupted log_model leaves
    result = TrainResult("completed", 10, None, 0.25, 0.5, seconds=1.0)
    tracker.finish_child(run_id, config, result, MLP(3, 2, depth=1, width=4), np.zeros((2, 3), dtype=np.float32))
    (model,) = _models(tracker, run_id)
    assert model.status == "READY" and model.model_id != pending.model_id
    assert tracker.client.get_run(run_id).data.tags["model_uri"] == model.model_uri


def test_uri_precedence_and_unreachable_server(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_uri("http://example:5000", tmp_path) == "http://example:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert resolve_uri("http://example:5000", tmp_path) == "http://127.0.0.1:1"
    with pytest.raises(GlorotError, match=r"^cannot reach the MLflow tracking server at http://127.0.0.1:1: "):
        check_reachable("http://127.0.0.1:1", timeout=2)


def test_a_sweep_summary_keeps_a_row_per_width(tracker, tmp_path):
    import json

    from glorot.pipeline.summary import format_rows, sweep_rows, write_summary

    parent = tracker.start_parent({})
    for width in (4, 8):
        tracker.start_child(parent, build_config(depth=1, width=width), {"glorot.config_key": f"k{width}"})
    rows = sweep_rows(tracker, parent)
    assert sorted(r["width"] for r in rows) == [4, 8]
    assert {line.split()[3] for line in format_rows(rows).splitlines()[1:]} == {"4", "8"}
    doc = json.loads(write_summary(tmp_path / "summary.json", "unit", parent, rows, {}, tracker.uri).read_text())
    where = json.loads((tmp_path / "tracking.json").read_text())  # beside it, not hashed by DVC
    assert where["tracking_store"] == f"sqlite:mlflow.db#{store_digest(tracker.uri)}"  # which store; no path
    assert where["parent_run_id"] == parent and set(doc) == {"study", "runs"}
    assert sorted(doc["runs"]) == ["Tanh / shapeset / d1 / w4 / lr0.01 / s0", "Tanh / shapeset / d1 / w8 / lr0.01 / s0"]
    numbers = json.loads((tmp_path / "runs.json").read_text())  # DVC's per-configuration numbers, beside it
    assert sorted(numbers) == sorted(doc["runs"])
    assert all(type(v) in (int, float) for entry in numbers.values() for v in entry.values())


@pytest.mark.parametrize("uri,reason", [
    ("corrupt", r"DatabaseError: \(sqlite3.DatabaseError\) file is not a database$"),
    ("bogus://x", r"UnsupportedModelRegistryStoreURIException: .*unsupported URI 'bogus://x'"),
])
def test_a_store_that_cannot_be_opened_is_one_line(uri, reason, tmp_path):
    if uri == "corrupt":
        (tmp_path / "mlflow.db").write_bytes(np.random.default_rng(0).bytes(4096))
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(GlorotError) as error:
        Tracker(uri, "unit", tmp_path)
    assert str(error.value).startswith(f"cannot open the MLflow tracking store {uri}: ")
    assert re.search(reason, str(error.value)) and "\n" not in str(error.value)


def test_a_store_failing_while_a_stop_is_marked_does_not_replace_the_interrupt(tracker, monkeypatch, capsys):
    """A sweep being stopped marks its runs KILLED (glorot.pipeline.stopping); if the store fails
    then, the stop goes on and the user reads one line naming the run left RUNNING."""
    from mlflow.exceptions import MlflowException

    run_id = tracker.start_parent({})

    def unreachable(*args, **kwargs):
        raise MlflowException("API request to http://127.0.0.1:9/api failed\nwith retries")
    monkeypatch.setattr(tracker.client, "log_batch", unreachable)
    tracker.stopped(run_id)
    assert capsys.readouterr().err == (f"glorot: could not mark run {run_id} stopped in MLflow (MlflowException: "
                                       "API request to http://127.0.0.1:9/api failed); it stays RUNNING\n")
    assert tracker.client.get_run(run_id).info.status == "RUNNING"


def test_a_closed_sweep_records_how_many_configurations_failed(tracker):
    failed, passed = tracker.start_parent({}), tracker.start_parent({})
    tracker.end_parent(failed, failed=3)
    tracker.end_parent(passed)
    runs = {r: tracker.client.get_run(r) for r in (failed, passed)}
    assert runs[failed].info.status == "FAILED" and runs[failed].data.tags["glorot.failed_configs"] == "3"
    assert runs[failed].data.metrics["failed_configs"] == 3
    assert runs[passed].info.status == "FINISHED" and runs[passed].data.tags["glorot.failed_configs"] == "0"


def test_a_new_sweep_closes_the_runs_a_killed_sweep_left_running(tracker):
    killed = tracker.start_parent({})
    running = tracker.start_child(killed, build_config(depth=1, width=4), {})
    finished = tracker.start_child(killed, build_config(depth=1, width=8), {})
    tracker.client.set_terminated(finished, "FINISHED")
    done = tracker.start_parent({})
    tracker.end_parent(done)
    new = tracker.start_parent({})
    assert sorted(tracker.supersede(new)) == sorted([killed, running])
    for run_id in (killed, running):
        run = tracker.client.get_run(run_id)
        assert run.info.status == "KILLED" and run.data.tags["glorot.superseded_by"] == new
    assert tracker.client.get_run(running).data.tags["status"] == "superseded"
    assert tracker.client.get_run(finished).info.status == "FINISHED"
    assert tracker.client.get_run(done).info.status == "FINISHED"
    assert tracker.client.get_run(new).info.status == "RUNNING"


def test_the_experiment_is_marked_as_model_training_even_when_made_before(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert Tracker(uri, "unit", tmp_path).client.get_experiment_by_name("glorot-unit").tags[
        "mlflow.experimentKind"] == "custom_model_development"
    old = MlflowClient(uri).create_experiment("glorot-old")  # a store written before the tag existed
    Tracker(uri, "old", tmp_path)
    assert MlflowClient(uri).get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_runs_carry_the_commit_in_mlflows_standard_tag(tracker):
    parent = tracker.start_parent({"git_commit": "abc123+dirty"})
    child = tracker.start_child(parent, build_config(depth=1, width=4), {"git_commit": "abc123+dirty"})
    for run_id in (parent, child):
        tags = tracker.client.get_run(run_id).data.tags
        assert tags["mlflow.source.git.commit"] == "abc123" and tags["git_commit"] == "abc123+dirty"
    unknown = tracker.start_parent({"git_commit": "unknown"})
    assert "mlflow.source.git.commit" not in tracker.client.get_run(unknown).data.tags


def test_the_parent_run_holds_the_study_params_summary_metrics_and_a_results_table(tracker):
    import mlflow

    parent = tracker.start_parent({}, {"lrs": [0.01, 0.1], "updates": 9000})
    rows = [{"run_id": "r1", "status": "completed", "network": "Tanh", "valid_error_pct": 40.0},
            {"run_id": "r2", "status": "failed", "network": "Tanh N", "valid_error_pct": None}]
    tracker.record_results(parent, {"test_error/shapeset/Tanh": 0.41}, rows)
    rows[1].update(run_id="r3", status="completed", valid_error_pct=30.0)  # a continued sweep retried r2 as r3
    tracker.record_results(parent, {"test_error/shapeset/Tanh": 0.41}, rows)
    run = tracker.client.get_run(parent)
    assert run.data.params == {"lrs": "[0.01, 0.1]", "updates": "9000"}
    assert run.data.metrics == {"test_error/shapeset/Tanh": 0.41}
    table = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/results.json")
    assert [row[table["columns"].index("run_id")] for row in table["data"]] == ["r1", "r2", "r3"]
    assert '"type": "table"' in run.data.tags["mlflow.loggedArtifacts"]


def test_network_metrics_keep_each_networks_chosen_rate_and_each_depth_apart():
    from glorot.pipeline.summary import network_metrics

    def row(dataset, depth, lr, seed, valid, test, status="completed"):
        return {"dataset": dataset, "network": "Tanh", "depth": depth, "width": 8, "lr": lr, "seed": seed,
                "status": status, "valid_error_pct": valid, "test_error_pct": test}
    rows = [row("shapeset", 5, 0.1, s, v, v + 4) for s, v in ((0, 50.0), (1, 40.0))]
    rows += [row("shapeset", 5, 0.01, s, 42.0, 44.0) for s in (0, 1)]  # mean 42 < 45
    rows += [row("shapeset", 1, 0.01, 0, 30.0, 31.0), row("shapeset", 1, 0.1, 0, None, None, "diverged")]
    rows.append(row("mnist", 5, 0.1, 0, 2.0, 3.0))
    assert network_metrics(rows) == pytest.approx({
        "valid_error/mnist/Tanh": 0.02, "test_error/mnist/Tanh": 0.03,
        "valid_error/shapeset/Tanh/d5_w8": 0.42, "test_error/shapeset/Tanh/d5_w8": 0.44,
        "valid_error/shapeset/Tanh/d1_w8": 0.30, "test_error/shapeset/Tanh/d1_w8": 0.31})


def _version(tracker, valid_error):
    """A registered version of model ``glorot-unit`` from a run with final validation error ``valid_error``."""
    from mlflow.entities import Metric

    run_id = tracker.start_child(None, build_config(depth=1, width=4), {})
    tracker.client.log_batch(run_id, metrics=[Metric("final/valid_error", valid_error, 0, 0)])
    if not tracker.client.search_registered_models("name = 'glorot-unit'"):
        tracker.client.create_registered_model("glorot-unit")
    return tracker.client.create_model_version("glorot-unit", f"runs:/{run_id}/model", run_id=run_id,
                                               tags={"run_id": run_id}).version


def test_the_champion_alias_moves_only_to_a_better_model(tracker):
    first, worse, better = (_version(tracker, err) for err in (0.3, 0.4, 0.2))
    assert tracker.crown("glorot-unit", first, 0.3)  # no champion yet
    assert not tracker.crown("glorot-unit", worse, 0.4)
    assert tracker.client.get_registered_model("glorot-unit").aliases == {"champion": first}
    assert tracker.crown("glorot-unit", better, 0.2)
    assert tracker.client.get_model_version_by_alias("glorot-unit", "champion").version == better


def test_system_metrics_are_off_by_default_and_on_when_asked(tracker, monkeypatch):
    import time

    from glorot.pipeline.tracking import system_metrics

    import mlflow

    def logged(run_id):
        with system_metrics(tracker, [run_id]):
            time.sleep(2)  # several samples at the 0.1 s interval below
        run = tracker.client.get_run(run_id)
        assert run.info.status == "RUNNING" and mlflow.active_run() is None  # finishing the run is finish_child's
        return {k for k in run.data.metrics if k.startswith("system/")}

    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.1")
    monkeypatch.delenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", raising=False)
    assert logged(tracker.start_child(None, build_config(depth=1, width=4), {})) == set()
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    assert "system/cpu_utilization_percentage" in logged(tracker.start_child(None, build_config(depth=1, width=4), {}))


def test_a_data_set_inserted_by_a_concurrent_run_is_found_on_the_next_try(tracker, monkeypatch):
    """MLflow looks a data set up, then inserts it: two runs starting at once can both miss it and
    collide on its unique key (seen with two sweep workers on SQLite). The loser tries again."""
    import mlflow

    run_id = tracker.start_child(None, build_config(depth=1, width=4), {})
    real, calls = tracker.client.log_inputs, []

    def collide_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise mlflow.exceptions.MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets")
        return real(*args, **kwargs)

    monkeypatch.setattr(tracker.client, "log_inputs", collide_once)
    tracker.log_dataset(run_id, "shapeset", "abc123", "/data/shapeset")
    assert len(calls) == 2
    (logged,) = tracker.client.get_run(run_id).inputs.dataset_inputs
    assert (logged.dataset.name, logged.dataset.digest) == ("shapeset", "abc123")


def _trial_run(tracker, parent_id, activation, lr, seed, valid_error, status="completed"):
    """A finished child run of the sweep ``parent_id`` (its model a placeholder, see below)."""
    from mlflow.entities import Metric

    config = build_config(activation=activation, lr=lr, seed=seed, depth=1, width=4)
    run_id = tracker.start_child(parent_id, config, {"glorot.config_key": f"{activation}-{lr}-{seed}"})
    tracker.client.log_batch(run_id, metrics=[Metric("final/valid_error", valid_error, 0, 0)])
    tracker.set_tags(run_id, {"status": status, "model_uri": "models:/placeholder"})
    return run_id


def test_the_champion_is_the_network_and_rate_that_the_one_rule_chooses(tracker, capsys):
    """register_best follows glorot.paper.selection, not the single best run: softsign's lowest
    single run (0.05, at a rate where a seed diverged; and 0.10 beside two bad seeds) loses to
    tanh, whose rate 0.1 has the lowest seed-mean; of tanh's seeds at 0.1 the lowest error
    wins, a tie going to the smallest seed."""
    parent = tracker.start_parent({})
    errors = {("softsign", 0.5): (0.05, 0.06, float("nan")), ("softsign", 0.1): (0.10, 0.50, 0.50),
              ("tanh", 0.1): (0.25, 0.20, 0.20), ("tanh", 0.01): (0.15, 0.90, 0.90)}
    runs = {}
    for (activation, lr), seeds in errors.items():
        for seed, err in enumerate(seeds):
            runs[activation, lr, seed] = _trial_run(tracker, parent, activation, lr, seed, err,
                                                    "diverged" if err != err else "completed")
    tracker.client.create_run(tracker.experiment_id, tags={"mlflow.parentRunId": parent})  # killed before its params
    net, example = MLP(3, 2, depth=1, width=4), np.zeros((2, 3), dtype=np.float32)
    for key in (("softsign", 0.5, 0), ("tanh", 0.1, 1)):  # the old rule's pick and the rule's: real models
        tracker.set_tags(runs[key], {"model_uri": tracker.log_model(runs[key], net, example)})
    capsys.readouterr()
    assert tracker.register_best(parent) == {"shapeset": f"glorot-{tracker.study}-shapeset/1"}
    assert capsys.readouterr().err == ""  # not MLflow's "Successfully registered model" lines
    version = tracker.client.get_model_version_by_alias(f"glorot-{tracker.study}-shapeset", "champion")
    assert version.tags["run_id"] == runs["tanh", 0.1, 1]
    assert float(version.tags["cell_valid_error"]) == pytest.approx(0.65 / 3)


def test_runs_imported_without_a_model_count_for_the_choice_but_are_never_crowned(tracker):
    """A sweep continued after ``glorot archive import``: its seed-0 runs carry no model. They
    still decide the rate and the network, as in Table 1 (tanh at 0.1, 0.2 on the seed its rates
    share, beats softsign's imported 0.3); the crown goes to the best of tanh's seeds there that has a
    model (seed 1, not the imported seed 0), and a data set whose winner has none gets no champion."""
    parent = tracker.start_parent({})
    runs = {(a, lr, seed): _trial_run(tracker, parent, a, lr, seed, err)
            for a, lr, seed, err in (("tanh", 0.1, 0, 0.20), ("tanh", 0.1, 1, 0.25), ("tanh", 0.1, 2, 0.30),
                                     ("tanh", 0.01, 0, 0.50), ("softsign", 0.1, 0, 0.30))}
    imported = [key for key in runs if key[2] == 0]
    for key in imported:
        tracker.client.delete_tag(runs[key], "model_uri")
    net, example = MLP(3, 2, depth=1, width=4), np.zeros((2, 3), dtype=np.float32)
    for key in (("tanh", 0.1, 1), ("tanh", 0.1, 2)):
        tracker.set_tags(runs[key], {"model_uri": tracker.log_model(runs[key], net, example)})
    assert tracker.register_best(parent) == {"shapeset": f"glorot-{tracker.study}-shapeset/1"}
    version = tracker.client.get_model_version_by_alias(f"glorot-{tracker.study}-shapeset", "champion")
    assert version.tags["run_id"] == runs["tanh", 0.1, 1]
    assert float(version.tags["cell_valid_error"]) == pytest.approx(0.2)
    latest = tracker.child_runs(parent)
    assert champions([r for r in latest if r.info.run_id in {runs[k] for k in imported}]) == {}


def test_each_study_has_its_own_registered_model_and_champion(tracker, tmp_path):
    """A short study's better validation error does not take @champion from another study: one
    registered model per study and data set (glorot-<study>-<dataset>), like compared with like."""
    net, example = MLP(3, 2, depth=1, width=4), np.zeros((2, 3), dtype=np.float32)
    other = Tracker(tracker.uri, "short", tmp_path)
    crowned = {}
    for job, error in ((tracker, 0.3), (other, 0.1)):
        parent = job.start_parent({})
        run_id = _trial_run(job, parent, "tanh", 0.1, 0, error)
        job.set_tags(run_id, {"model_uri": job.log_model(run_id, net, example)})
        crowned[job.study] = (job.register_best(parent), run_id)
    assert crowned["unit"][0] == {"shapeset": "glorot-unit-shapeset/1"}
    assert crowned["short"][0] == {"shapeset": "glorot-short-shapeset/1"}
    for study, (_, run_id) in crowned.items():
        champion = tracker.client.get_model_version_by_alias(f"glorot-{study}-shapeset", "champion")
        assert champion.tags["run_id"] == run_id and champion.tags["study"] == study
    import mlflow.pytorch  # as docs/scale.md loads a champion (the Tracker set the tracking URI)

    loaded = mlflow.pytorch.load_model("models:/glorot-unit-shapeset@champion")
    x = torch.ones(2, 3)
    assert torch.equal(loaded(x), net(x))


def test_a_sweep_whose_rates_share_no_seed_names_the_network(tracker):
    parent = tracker.start_parent({})
    _trial_run(tracker, parent, "tanh", 0.1, 0, 0.2)
    _trial_run(tracker, parent, "tanh", 0.01, 1, 0.3)
    with pytest.raises(GlorotError, match=r"^cannot choose the champion of shapeset: network .*tanh.*share no seed"):
        tracker.register_best(parent)
