"""Faults injected into real processes: SIGKILL mid-training, a tracking server that goes
away and comes back, and several processes logging to one server at once. Each test counts
what was recovered and checks that nothing was lost or logged twice.

Training subprocesses run with one torch thread (:data:`ONE_THREAD`): these nets are tiny, so a
second thread only adds synchronisation, and on a busy 2-core machine it made a run 20x slower.
A reference and the run it is compared with always share the thread count (same arithmetic)."""

import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from mlflow.tracking import MlflowClient

from glorot.engine.checkpoint import decode

from .project import BIN, env
from .servers import BIN as SERVER_BIN
from .servers import free_port, process, wait_healthy

pytestmark = pytest.mark.integration

TRAIN = ["--depth", "2", "--width", "48", "--updates", "3000", "--eval-every", "300", "--probe-every", "300",
         "--probe-size", "20", "--valid-size", "300", "--test-size", "300", "--seed", "4", "--quiet"]

#: The environment of a training subprocess: one torch thread (see the module's docstring).
ONE_THREAD = {"OMP_NUM_THREADS": "1"}

RUN_CONFIG = """
import sys
from glorot.config import build_config
from glorot.pipeline.runs import run_configuration
config = build_config(depth=2, width=48, updates={updates}, eval_every=100, probe_every=100, probe_size=20,
                      valid_size=300, test_size=300, seed={seed}, device="cpu")
print(run_configuration(config, "{study}", sys.argv[1], root=sys.argv[2], data_dir=None, checkpoint_every=100))
"""


def _wait_for(predicate, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_when(proc, predicate, what):
    try:
        _wait_for(lambda: predicate() or proc.poll() is not None, what=what)
    finally:
        assert proc.poll() is None, f"the process ended before {what}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()


#: A DAE-pre-trained run: 2 x 2000 pre-training updates before 300 supervised ones.
PRETRAIN = [*TRAIN[:TRAIN.index("--updates")], "--updates", "300", "--eval-every", "100", "--probe-every", "100",
            *TRAIN[TRAIN.index("--probe-size"):], "--activation", "sigmoid", "--init", "dae", "--pretrain-updates",
            "2000", "--pretrain-lr", "0.05"]


@pytest.mark.parametrize("args,pretraining", [(TRAIN, False), (PRETRAIN, True)], ids=["training", "pre-training"])
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path, args, pretraining):
    """Killed at its first checkpoint (during supervised training, or during DAE pre-training:
    a phase of the same engine), a rerun resumes and ends with the uninterrupted run's numbers."""
    glorot = str(BIN / "glorot")
    # the uninterrupted reference trains alongside (its own output folder, one thread each)
    ref = subprocess.Popen([glorot, "train", *args, "--out", str(tmp_path / "ref")], env=env(**ONE_THREAD),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ckdir = tmp_path / "ck"
    cmd = [glorot, "train", *args, "--checkpoint-dir", str(ckdir), "--checkpoint-every", "250",
           "--out", str(tmp_path / "resumed")]
    proc = subprocess.Popen(cmd, env=env(**ONE_THREAD), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: (ckdir / "checkpoint.pt").is_file(), "the first checkpoint")
    assert not (tmp_path / "resumed").exists()
    assert (decode((ckdir / "checkpoint.pt").read_bytes())["pretrain"] is not None) == pretraining
    out = subprocess.run(cmd, check=True, env=env(**ONE_THREAD), capture_output=True, text=True).stdout
    _, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, err[-3000:]
    assert "resuming from" in out
    for name in ("curve.json", "diagnostics.json"):
        assert (tmp_path / "ref" / name).read_text() == (tmp_path / "resumed" / name).read_text(), name
    ref, resumed = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("ref", "resumed"))
    assert {k: ref[k] for k in ("status", "updates", "valid_error", "test_error")} == \
        {k: resumed[k] for k in ("status", "updates", "valid_error", "test_error")}
    assert not (ckdir / "checkpoint.pt").exists()


@contextmanager
def _restartable_server(tmp_path):
    """A restartable ``mlflow server``: yields (uri, start, stop)."""
    port, procs = free_port(), []
    cmd = [str(SERVER_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
           "--artifacts-destination", str(tmp_path / "artifacts")]
    uri = f"http://127.0.0.1:{port}"

    def start():
        ctx = process(cmd, tmp_path / f"mlflow-{len(procs)}.log")
        proc = ctx.__enter__()
        procs.append(ctx)
        wait_healthy(f"{uri}/health", proc, tmp_path / f"mlflow-{len(procs) - 1}.log")

    def stop():
        procs.pop().__exit__(None, None, None)

    start()
    try:
        yield uri, start, stop
    finally:
        while procs:
            stop()


@pytest.fixture
def server(tmp_path):
    """A server of this test alone, which it may stop and start again."""
    with _restartable_server(tmp_path) as handle:
        yield handle


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for the tests that leave it running; each uses its own experiments."""
    with _restartable_server(tmp_path_factory.mktemp("mlflow-shared")) as handle:
        yield handle


def _run_config_cmd(study, seed, updates, uri, root):
    return [sys.executable, "-c", RUN_CONFIG.format(study=study, seed=seed, updates=updates), uri, str(root)]


def _metric_steps(client, run_id):
    run = client.get_run(run_id)
    return {key: [m.step for m in client.get_metric_history(run_id, key)] for key in run.data.metrics}


def test_killed_pipeline_run_resumes_the_same_mlflow_run_without_duplicates(shared_server, tmp_path):
    uri, _, _ = shared_server
    client = MlflowClient(uri)
    # the uninterrupted reference trains alongside, into its own experiment (glorot-ref)
    ref = subprocess.Popen(_run_config_cmd("ref", 7, 1500, uri, tmp_path / "ref"), env=env(**ONE_THREAD),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = tmp_path / "proj"
    cmd = _run_config_cmd("faults", 7, 1500, uri, root)
    proc = subprocess.Popen(cmd, env=env(**ONE_THREAD), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def flushed_twice():
        experiment = client.get_experiment_by_name("glorot-faults")
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        return bool(runs) and int(runs[0].data.tags.get("glorot.flushed_through", -1)) >= 200

    _kill_when(proc, flushed_twice, "two checkpoints")
    run_id = json.loads(next(root.glob("checkpoints/*/run.json")).read_text())["run_id"]
    assert client.get_run(run_id).info.status == "RUNNING"
    out = subprocess.run(cmd, check=True, env=env(**ONE_THREAD), capture_output=True, text=True).stdout
    _, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, err[-3000:]
    assert f"'run_id': '{run_id}'" in out and "'resumed': True" in out
    runs = client.search_runs([client.get_experiment_by_name("glorot-faults").experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]
    steps = _metric_steps(client, run_id)
    assert steps["valid/error"] == list(range(0, 1501, 100))
    assert steps["L1/act_std"] == [0, 1, 2, 4, 8, 16, 32, 64] + list(range(100, 1501, 100))  # log-spaced early probes
    assert all(len(s) == len(set(s)) for s in steps.values()), "a metric step was logged twice"
    ref = client.search_runs([client.get_experiment_by_name("glorot-ref").experiment_id])[0]
    done = client.get_run(run_id)
    assert done.data.tags["status"] == "completed" and done.data.tags["glorot.attempts"] == "2"
    for key in ("final/valid_error", "final/test_error", "L2/dCds_std"):
        assert done.data.metrics[key] == ref.data.metrics[key]


def test_tracking_server_restart_mid_run_loses_no_metric(server, tmp_path):
    uri, start, stop = server
    client = MlflowClient(uri)
    root = tmp_path / "proj"
    proc = subprocess.Popen(_run_config_cmd("restart", 3, 1500, uri, root),
                            env=env(MLFLOW_HTTP_REQUEST_TIMEOUT="5", **ONE_THREAD),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any(r.data.tags.get("glorot.flushed_through") for r in client.search_runs(
        [e.experiment_id for e in client.search_experiments()])), what="a first flush")
    stop()
    time.sleep(4)
    start()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    runs = client.search_runs([client.get_experiment_by_name("glorot-restart").experiment_id])
    assert len(runs) == 1 and runs[0].data.tags["status"] == "completed"
    steps = _metric_steps(client, runs[0].info.run_id)
    assert steps["valid/error"] == list(range(0, 1501, 100))
    probes = [0, 1, 2, 4, 8, 16, 32, 64, *range(100, 1501, 100)]  # with the early probes of Figure 2
    assert all(s == probes for k, s in steps.items() if k.startswith("L"))


CONCURRENT = """
import sys
from mlflow.tracking import MlflowClient
from glorot.pipeline.metrics_logger import MlflowLogger
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("glorot-load").experiment_id
for r in range(int(sys.argv[3])):
    run_id = client.create_run(experiment, run_name=f"w{sys.argv[2]}-r{r}", tags={"worker": sys.argv[2]}).info.run_id
    logger = MlflowLogger(client, run_id)
    for step in range(int(sys.argv[4])):
        logger.log_metrics({f"m{k}": step * 0.5 + k for k in range(30)}, step)
        if step % 50 == 49:
            logger.flush()
    logger.flush()
    client.set_terminated(run_id)
"""


def test_concurrent_loggers_lose_nothing(shared_server):
    uri, _, _ = shared_server
    client = MlflowClient(uri)
    client.create_experiment("glorot-load")
    workers, runs_each, steps = 4, 3, 200
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, uri, str(w), str(runs_each), str(steps)], env=env(),
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()[-2000:]
    runs = client.search_runs([client.get_experiment_by_name("glorot-load").experiment_id], max_results=1000)
    assert len(runs) == workers * runs_each
    for run in runs:
        for k in (0, 17, 29):
            history = client.get_metric_history(run.info.run_id, f"m{k}")
            assert sorted(m.step for m in history) == list(range(steps))
        assert len(run.data.metrics) == 30


OPEN_STORE = """
import sys, time
from pathlib import Path
from glorot.pipeline.tracking import Tracker
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
Tracker(sys.argv[1], "race", go.parent)
print("opened")
"""


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path):
    uri, go = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_STORE, uri, str(go)], env=env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:  # every process past its imports, waiting for the go
        assert p.stdout.readline().strip() == "ready", p.stderr.read()[-3000:]
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "opened", err[-3000:]
    assert "glorot-race" in {e.name for e in MlflowClient(uri).search_experiments()}
