"""glorot.pipeline.orchestration, the policy that flows/sweep.py wires to Prefect: how many
groups are in flight, which failures are tried again, and flow-run names that tell runs apart."""

import datetime

import pytest

from glorot.errors import GlorotError
from glorot.pipeline import orchestration
from glorot.pipeline.orchestration import (FlowRunCrashed, check_parallelism, done_line, fan_out, sweep_run_name,
                                           train_run_name, worth_retrying)
from glorot.pipeline.tracking import StoreUnavailable


def test_the_fan_out_is_the_concurrency_given_else_this_machines_cores(monkeypatch):
    monkeypatch.setattr(orchestration.os, "cpu_count", lambda: 2)
    assert fan_out(None) == 2
    assert fan_out(16) == 16  # a 2-core orchestrator keeps a pool of 16 slots busy when told so
    assert fan_out(0) == 0  # refused by check_parallelism, not silently replaced
    with pytest.raises(GlorotError, match=r"^invalid concurrency: must be >= 1 \(got 0\)$"):
        check_parallelism(fan_out(0), None, remote=True)


def test_local_threads_may_not_exceed_the_cores_in_all(monkeypatch):
    monkeypatch.setattr(orchestration.os, "cpu_count", lambda: 8)
    check_parallelism(2, 4, remote=False)
    check_parallelism(4, 4, remote=True)  # the workers' cores are theirs to count
    with pytest.raises(GlorotError, match=r"^invalid threads: 4 threads x 4 groups at once exceeds this machine's "
                                          r"8 cores"):
        check_parallelism(4, 4, remote=False)


@pytest.mark.parametrize("error,retry", [
    (GlorotError("data/shapeset/valid/data.npz differs: the data differ from the version in dvc.lock"), False),
    (ValueError("a bug"), False),
    (StoreUnavailable("cannot reach the MLflow tracking server at http://x: refused"), True),
    (ConnectionRefusedError(), True),
    (FlowRunCrashed("flow run x of glorot-train-config/train-config crashed"), True),
    (None, False),
])
def test_a_group_is_retried_only_when_that_can_fix_its_error(error, retry):
    assert worth_retrying(error) is retry


def test_two_sweeps_due_in_the_same_minute_get_different_names():
    due = datetime.datetime(2025, 1, 31, 3, 0, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    # Prefect's ids are UUIDv7: two made in the same minute share their first characters
    first = sweep_run_name("quick", due, "0194b6c2-7a10-7c3e-9d1f-4e2a8b6c0d11")
    second = sweep_run_name("quick", due, "0194b6c2-7b20-71aa-8e3b-5f6a7c8d9e22")
    assert first == "quick 2025-01-31 02:00 UTC 8b6c0d11"
    assert first != second and second.startswith("quick 2025-01-31 02:00 UTC ")
    assert sweep_run_name(None, due, "x").startswith("default study 2025-01-31 02:00 UTC")


def test_the_progress_line_counts_failed_configurations_only_when_there_are_some():
    assert done_line(3, 5, 0) == "3/5 configurations done"
    assert done_line(3, 5, 1) == "3/5 configurations done (1 failed)"


def test_a_training_flow_run_is_named_after_its_group_and_once_running_its_own_id():
    label = "Tanh / Shapeset-3x2 d5 w500 lr=0.05 s0"
    assert train_run_name("quick", label) == f"quick: {label}"  # while it waits for a worker
    first = train_run_name("quick", label, "0194b6c2-7a10-7c3e-9d1f-4e2a8b6c0d11")
    second = train_run_name("quick", label, "0194b6c2-7b20-71aa-8e3b-5f6a7c8d9e22")  # the next night's
    assert first == f"quick: {label} [8b6c0d11]" and first != second


def test_a_user_error_is_logged_in_one_line_and_a_bug_with_its_traceback(caplog):
    """What a worker's log says when a flow run fails: Prefect's engine logs the error with its traceback."""
    import logging

    logger = logging.getLogger("glorot.tests.engine")
    logger.addFilter(orchestration.OneLineUserErrors())
    for error in (GlorotError("invalid device: 'cuda' requested but no CUDA device is available"), KeyError("bug")):
        try:
            raise error
        except Exception:
            logger.error("Engine execution exited with unexpected exception", exc_info=True)
    user, bug = caplog.records
    assert user.getMessage() == ("Engine execution exited with unexpected exception: invalid device: 'cuda' "
                                 "requested but no CUDA device is available") and user.exc_info is None
    assert bug.exc_info is not None and "Traceback" in caplog.text.split("\n", 1)[1]
