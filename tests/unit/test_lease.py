"""glorot.pipeline.lease on a local SQLite store: one holder at a time, even when claimants race;
dead and stale claims are taken over; a holder whose lease is taken over knows it."""

import subprocess
import threading
import time

import pytest

from glorot.errors import GlorotError
from glorot.pipeline.lease import HOST, TAG, Lease
from glorot.pipeline.tracking import Tracker


@pytest.fixture
def tracker(tmp_path):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "lease", tmp_path)


def _claim(tracker, host, pid, heartbeat_age, state="held", parent="p0"):
    then = time.time() - heartbeat_age
    return tracker.start_lock({TAG + "owner": f"{host}:{pid}:x", TAG + "host": host, TAG + "pid": str(pid),
                               TAG + "state": state, TAG + "started": f"{then:.3f}", TAG + "heartbeat": f"{then:.3f}",
                               TAG + "parent": parent})


def test_a_second_sweep_is_refused_in_one_line_until_the_first_releases(tracker):
    first = Lease(tracker, "lease")
    first.acquire()
    first.attach("parent123")
    second = Lease(tracker, "lease")
    with pytest.raises(GlorotError) as refused:
        second.acquire()
    message = str(refused.value)
    assert message.startswith("a sweep of study lease is already running (MLflow parent run parent123, started ")
    assert "wait for it (or pass --wait)" in message and "\n" not in message
    first.release()
    second.acquire()
    assert [r.info.run_id for r in tracker.locks()] == [second.run_id]
    second.release()
    assert tracker.locks() == []


def test_claimants_racing_for_the_lease_never_both_win(tracker):
    leases = [Lease(tracker, "lease") for _ in range(4)]
    start, outcomes = threading.Barrier(len(leases)), []

    def claim(lease):
        start.wait()
        try:
            lease.acquire()
            outcomes.append("won")
        except GlorotError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=claim, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1, outcomes
    assert all(o == "won" or "is already running" in o for o in outcomes)
    assert len(tracker.locks()) == 1
    for lease in leases:
        lease.release()


def test_a_lease_whose_process_is_gone_is_taken_over_at_once(tracker):
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = _claim(tracker, HOST, gone.pid, heartbeat_age=0)
    said = []
    lease = Lease(tracker, "lease", report=said.append)
    lease.acquire()
    assert tracker.tags_of(dead) is None
    assert len(said) == 1 and f"its process {gone.pid} on {HOST} is gone" in said[0]
    lease.release()


def test_a_lease_of_another_machine_is_taken_over_only_when_stale(tracker):
    fresh = _claim(tracker, "elsewhere", 1, heartbeat_age=10)
    with pytest.raises(GlorotError, match="already running .* on elsewhere"):
        Lease(tracker, "lease", stale_after=60).acquire()
    tracker.delete_run(fresh)
    _claim(tracker, "elsewhere", 1, heartbeat_age=61)
    lease = Lease(tracker, "lease", stale_after=60)
    lease.acquire()
    assert [r.info.run_id for r in tracker.locks()] == [lease.run_id]
    lease.release()


def test_waiting_takes_the_lease_once_it_is_released(tracker):
    first = Lease(tracker, "lease")
    first.acquire()
    said = []
    second = Lease(tracker, "lease", heartbeat=0.2, report=said.append)
    waiter = threading.Thread(target=second.acquire, kwargs={"wait": True})
    waiter.start()
    while not said:
        time.sleep(0.05)
    assert second.run_id is None and said[0].startswith("waiting for the sweep of study lease")
    first.release()
    waiter.join(timeout=60)
    assert second.run_id is not None and [r.info.run_id for r in tracker.locks()] == [second.run_id]
    second.release()


def test_the_heartbeat_renews_the_lease_and_notices_a_takeover(tracker):
    said = []
    lease = Lease(tracker, "lease", heartbeat=0.1, report=said.append)
    lease.acquire()
    first = float(tracker.tags_of(lease.run_id)[TAG + "heartbeat"])
    deadline = time.monotonic() + 30
    while float(tracker.tags_of(lease.run_id)[TAG + "heartbeat"]) == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert float(tracker.tags_of(lease.run_id)[TAG + "heartbeat"]) > first
    tracker.delete_run(lease.run_id)  # what a sweep that found this lease stale would do
    while not lease.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lease.lost and "taken over" in said[-1]
    lease.release()
