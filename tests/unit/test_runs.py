"""glorot.pipeline.runs and provenance: a checkpoint belongs to its MLflow run, code and data; only
the errors that trying again can fix are retried; the code hash follows the numeric sources."""

import errno
import os
import platform

import pytest
import torch

from glorot.config import build_config
from glorot.errors import GlorotError
from glorot.pipeline import provenance, runs
from glorot.pipeline.runs import retryable, run_configuration
from glorot.pipeline.tracking import StoreUnavailable, Tracker

CONFIG = dict(depth=1, width=8, updates=40, eval_every=10, probe_every=10, probe_size=10, valid_size=60,
              test_size=60, seed=5, device="cpu")
STEPS = [0, 10, 20, 30, 40]
#: The diagnostics' updates: STEPS and the log-spaced early probes before the first periodic one (Figure 2).
PROBE_STEPS = [0, 1, 2, 4, 8, 10, 20, 30, 40]


class Killed(BaseException):
    """What a SIGKILL would leave behind, without killing the test: the run stops after a checkpoint."""


@pytest.fixture
def tracker(tmp_path):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "runs", tmp_path)


def _killed_run(tracker, parent, config, root, monkeypatch):
    """Train ``config`` under ``parent`` until just after its second checkpoint; returns its run id."""
    class Dying(runs.StoppingCheckpointer):
        saves = 0

        def save(self, config, state):
            super().save(config, state)
            Dying.saves += 1
            if Dying.saves == 2:
                raise Killed

    monkeypatch.setattr(runs, "StoppingCheckpointer", Dying)
    with pytest.raises(Killed):
        run_configuration(config, "runs", tracker.uri, parent, root, None, checkpoint_every=10)
    monkeypatch.undo()
    return tracker.child_runs(parent)[0].info.run_id


def _steps(tracker, run_id):
    return {key: [m.step for m in tracker.client.get_metric_history(run_id, key)]
            for key in ("valid/error", "L1/act_std")}


def test_a_new_run_starts_from_update_0_and_only_the_same_run_resumes(tracker, tmp_path, monkeypatch, capsys):
    config = build_config(**CONFIG)
    killed = _killed_run(tracker, tracker.start_parent({"glorot.sweep_key": "one"}), config, tmp_path, monkeypatch)
    assert _steps(tracker, killed)["valid/error"] == [0, 10, 20]

    fresh_parent = tracker.start_parent({"glorot.sweep_key": "one"})  # what `--fresh` does
    fresh = run_configuration(config, "runs", tracker.uri, fresh_parent, tmp_path, None, checkpoint_every=10)
    assert fresh["run_id"] != killed and not fresh["resumed"]
    assert _steps(tracker, fresh["run_id"]) == {"valid/error": STEPS, "L1/act_std": PROBE_STEPS}
    err = capsys.readouterr().err
    assert err.count("set aside") == 1 and f"it was made with run_id '{killed}'" in err

    third_parent = tracker.start_parent({"glorot.sweep_key": "three"})
    again = _killed_run(tracker, third_parent, config, tmp_path, monkeypatch)
    resumed = run_configuration(config, "runs", tracker.uri, third_parent, tmp_path, None, checkpoint_every=10)
    assert resumed["run_id"] == again and resumed["resumed"]
    assert _steps(tracker, again) == {"valid/error": STEPS, "L1/act_std": PROBE_STEPS}
    assert "set aside" not in capsys.readouterr().err
    tags = tracker.client.get_run(again).data.tags
    assert tags["glorot.code_hash"] == provenance.code_hash()
    assert tags["glorot.machine"].endswith(f", {os.cpu_count()} cores, {platform.system()}")
    assert tags["torch_version"] == torch.__version__


def test_two_stores_in_one_project_keep_their_own_checkpoints(tracker, tmp_path, monkeypatch, capsys):
    """#24: a sweep on another tracking store of the same project trains the same configuration;
    it must not set aside (or take over) the checkpoint of this store's interrupted run."""
    config = build_config(**CONFIG)
    parent = tracker.start_parent({"glorot.sweep_key": "one"})
    killed = _killed_run(tracker, parent, config, tmp_path, monkeypatch)
    other = Tracker(f"sqlite:///{tmp_path / 'other.db'}", "runs", tmp_path)
    elsewhere = run_configuration(config, "runs", other.uri, other.start_parent({"glorot.sweep_key": "one"}),
                                  tmp_path, None, checkpoint_every=10)
    assert not elsewhere["resumed"] and "set aside" not in capsys.readouterr().err
    resumed = run_configuration(config, "runs", tracker.uri, parent, tmp_path, None, checkpoint_every=10)
    assert resumed["run_id"] == killed and resumed["resumed"]
    assert _steps(tracker, killed) == {"valid/error": STEPS, "L1/act_std": PROBE_STEPS}


@pytest.mark.parametrize("error,retry", [
    (OSError(errno.EIO, "Input/output error"), True),
    (ConnectionResetError(), True),
    (StoreUnavailable("cannot reach the MLflow tracking server at http://x: refused"), True),
    (GlorotError("data/shapeset/valid/data.npz differs: the data differ from the version in dvc.lock"), False),
    (GlorotError("invalid width: must be >= 1"), False),
    (ValueError("a bug"), False),
])
def test_only_errors_that_a_retry_can_fix_are_retried(error, retry):
    assert retryable(error) is retry


def test_the_code_hash_follows_the_numeric_sources_only(tmp_path, monkeypatch):
    for rel in ("paper/nets.py", "engine/loop.py", "data/store.py", "config.py", "report/table1.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"# {rel}\n")
    monkeypatch.setattr(provenance, "PACKAGE", tmp_path)
    digest = provenance.code_hash.__wrapped__
    before = digest()
    (tmp_path / "report" / "table1.py").write_text("# changed, but the report decides no numbers\n")
    (tmp_path / "paper" / "__pycache__").mkdir()
    (tmp_path / "paper" / "__pycache__" / "nets.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == before
    (tmp_path / "engine" / "loop.py").write_text("# changed\n")
    assert digest() != before


@pytest.mark.parametrize("fields,message", [
    (dict(device="cuda"), "invalid device: 'cuda' requested but no CUDA device is available"),
    ({}, "invalid width: 1 x 8 units need"),
])
def test_a_configuration_that_does_not_fit_this_machine_is_a_failed_child_run(fields, message, tracker, tmp_path,
                                                                              monkeypatch):
    """A launcher that fans out cannot check a worker's device or memory; the worker does, where
    the configuration starts, so that its MLflow run is FAILED with the one line as ``error``."""
    import glorot.config

    config = build_config(check_machine=False, **{**CONFIG, **fields})  # as a worker receives it
    monkeypatch.setattr(glorot.config, "cuda_available", lambda: False)
    monkeypatch.setattr(glorot.config, "machine_memory", lambda: 0 if not fields else None)
    parent = tracker.start_parent({"glorot.sweep_key": "one"})
    with pytest.raises(GlorotError, match=f"^{message}") as failed:
        run_configuration(config, "runs", tracker.uri, parent, tmp_path, None)
    assert not retryable(failed.value)
    [child] = tracker.child_runs(parent)
    assert child.info.status == "FAILED" and child.data.tags["status"] == "failed"
    assert message in child.data.tags["error"]
    assert "valid/error" not in child.data.metrics  # stopped before training


def test_unusable_data_is_a_failed_child_run_with_its_error_until_the_data_is_usable(tracker, tmp_path):
    """#24 point 7: missing (or corrupt) data fails each configuration as a child run that names
    the cause, so the sweep's parent and its last line show it; once the data are usable, the
    configuration's run replaces that record."""
    config = build_config(**CONFIG)
    parent = tracker.start_parent({"glorot.sweep_key": "one"})
    with pytest.raises(GlorotError, match="missing data manifest"):
        runs.run_configurations([config], "runs", tracker.uri, parent, tmp_path, "no-such-folder")
    [refused] = tracker.child_runs(parent)
    assert refused.data.tags["status"] == "failed" and "missing data manifest" in refused.data.tags["error"]
    assert refused.info.status == "FAILED"
    [summary] = runs.run_configurations([config], "runs", tracker.uri, parent, tmp_path, None)
    assert summary["status"] == "completed"
    assert [r.info.run_id for r in tracker.child_runs(parent)] == [summary["run_id"]]
