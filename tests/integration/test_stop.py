"""Stopping a real sweep (Prefect's temporary server, a SQLite MLflow store): ``glorot sweep`` with
SIGTERM, then ``python flows/sweep.py`` with Ctrl-C (SIGINT). Each time the training stops at its
next checkpoint instead of running to its end, the sweep ends by the signal (SIGTERM) or with
status 130 (SIGINT), its runs end KILLED with status ``stopped`` (not failed, and no attempt
spent), and the sweep run again continues the same MLflow run from the checkpoint. The study's one run is far too long to finish within the test: only a stop ends it."""

import signal
import subprocess
import time

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, env, generate_shapeset, make_project, prefect_home

pytestmark = pytest.mark.integration

#: One tiny network trained for 100 million updates (hours), checkpointed every 2,000.
LONG_STUDY = {"description": "one run that only a stop ends", "datasets": ["shapeset"], "networks": ["Tanh"],
              "depths": [1], "widths": [8], "lrs": [0.1], "seeds": [0], "updates": 100_000_000, "eval_every": 2000,
              "probe_every": 2000, "probe_size": 20, "device": "cpu"}


def _wait_for(predicate, proc, what, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, f"the sweep ended before {what}"
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def _child(client, experiment):
    children = client.search_runs([experiment], "tags.`glorot.kind` = 'config'")
    assert len(children) == 1, "one configuration, one MLflow run, however often it is stopped"
    return children[0]


def _experiment(client):
    experiment = client.get_experiment_by_name("glorot-tiny")
    return experiment.experiment_id if experiment else None


def _stop(project, home, sig, client, started_after: int, command: list[str]):
    """Start the sweep with ``command``, wait until its run has checkpointed past ``started_after`` updates, send
    ``sig``; returns the sweep's exit status, stderr and the checkpointed update."""
    # one torch thread: a second only spins on a busy machine (tests/integration/test_faults.py)
    # SIGINT as a terminal's Ctrl-C finds it, even where the tests run as a background job (which ignores it)
    proc = subprocess.Popen([*command, "--study", "tiny", "--concurrency", "1", "--threads", "1"], cwd=project,
                            env=env(PREFECT_HOME=home, OMP_NUM_THREADS="1"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def checkpointed():
        experiment = _experiment(client)
        runs = client.search_runs([experiment], "tags.`glorot.kind` = 'config' and attributes.status = 'RUNNING'") \
            if experiment else []
        return bool(runs) and max((m.step for m in client.get_metric_history(runs[0].info.run_id, "valid/error")),
                                  default=0) > started_after + 2000

    _wait_for(checkpointed, proc, "a checkpoint")
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=300)  # without the stop: hours
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the sweep was still training 300 s after {sig.name}") from None
    return proc.returncode, stderr


def test_a_signalled_sweep_stops_at_a_checkpoint_and_the_same_command_continues_it(tmp_path):
    project = make_project(tmp_path / "project", study=LONG_STUDY, git=True)
    generate_shapeset(project)
    home = prefect_home(tmp_path / "prefect-home")
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    client.search_experiments()  # the store exists before the sweep opens it, for the first wait's reads
    rc, stderr = _stop(project, home, signal.SIGTERM, client, 0, [str(BIN / "glorot"), "sweep"])
    assert rc == -signal.SIGTERM, stderr[-3000:]  # ended by the signal, once the run had stopped
    assert "Failed" not in stderr and "Traceback" not in stderr
    assert "glorot: SIGTERM: stopping; each run stops after its next checkpoint" in stderr
    first = _child(client, _experiment(client))
    assert (first.info.status, first.data.tags["status"], first.data.tags["glorot.attempts"]) == \
        ("KILLED", "stopped", "0")
    parent = client.search_runs([_experiment(client)], "tags.`glorot.kind` = 'sweep'")[0]
    assert parent.info.status == "KILLED"
    stopped_at = max(m.step for m in client.get_metric_history(first.info.run_id, "valid/error"))
    assert list(project.glob("checkpoints/*/checkpoint.pt")), "the checkpoint to continue from"

    rc, stderr = _stop(project, home, signal.SIGINT, client, stopped_at, [str(BIN / "python"), "flows/sweep.py"])
    assert rc == 130 and "Traceback" not in stderr and "\nglorot: interrupted\n" in stderr, stderr[-3000:]
    assert "glorot: SIGINT: stopping" in stderr and "continuing sweep" in stderr
    again = _child(client, _experiment(client))
    assert again.info.run_id == first.info.run_id and again.info.status == "KILLED"
    assert again.data.tags["glorot.attempts"] == "0", "stops spend no attempt"
    steps = [m.step for m in client.get_metric_history(again.info.run_id, "valid/error")]
    assert steps == sorted(set(steps)) and max(steps) > stopped_at, "continued from the checkpoint, nothing twice"
