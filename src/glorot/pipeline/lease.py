"""One sweep of a study at a time, on one machine or on many: a lease kept in the tracking store.

A sweep holds its study's *lease* while it runs: a small MLflow run of kind ``lock`` in the
study's experiment, tagged with its holder (host, process id and a random id), when it started,
the sweep's parent run, and a heartbeat that a background thread renews every ``heartbeat``
seconds. It is wherever the runs are, so it works the same for a SQLite file on one machine and
for one ``mlflow server`` shared by many. That is why it is not a library's file lock (``filelock``,
as :func:`glorot.pipeline.store.store_lock` takes for a SQLite file's first opening): a file lock
holds only among processes that share its file system, and sweeps on several machines share
nothing but the tracking server.

MLflow has no compare-and-set, so the lease is taken by claim-then-look: write a claim, then read
every claim of the study. With no other live claim the lease is ours. Of two claimants, the one
that looks second always sees the other's claim (it was written before the first one looked),
so two launches at once never both win: a claimant that sees only other claims still being made
withdraws and tries again after a random pause; one that sees a held lease refuses in one line
(or, with ``wait``, waits for it).

A claim is *dead*, and is deleted by whoever finds it, when its process is gone from this machine
(a sweep killed here, SIGKILL included), or when its heartbeat is older than ``stale_after``
seconds (a sweep killed on another machine; this compares clocks, which must agree to well
within that). A holder that finds its own lease deleted (taken over while it could not renew
it) says so and :attr:`Lease.lost` turns true.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from glorot.errors import GlorotError
from glorot.pipeline.tracking import Tracker

HEARTBEAT_S = 15.0
STALE_AFTER_S = 120.0
TAG = "glorot.lease."
HOST = socket.gethostname()


def _quiet(_: str) -> None:
    pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@dataclass
class Claim:
    """One claimant of a study's lease, as its lock run's tags record it."""

    run_id: str
    owner: str
    host: str
    pid: int
    state: str  # "claiming", then "held"
    started: float
    heartbeat: float
    parent: str

    @classmethod
    def from_tags(cls, run_id: str, tags: dict[str, str]) -> Claim:
        def get(key: str, default: str = "") -> str:
            return tags.get(TAG + key, default)
        return cls(run_id, get("owner"), get("host"), int(get("pid", "0")), get("state"), float(get("started", "0")),
                   float(get("heartbeat", "0")), get("parent"))

    def dead(self, stale_after: float) -> str | None:
        """Why this claim is dead (see the module docstring), or None while it may be alive."""
        if self.host == HOST and not _pid_alive(self.pid):
            return f"its process {self.pid} on {self.host} is gone"
        age = time.time() - self.heartbeat
        return f"its heartbeat is {age:.0f}s old" if age > stale_after else None

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (f"MLflow parent run {self.parent or '(being chosen)'}, started {started} by process {self.pid} "
                f"on {self.host}")


class Lease:
    """The lease of ``study`` on ``tracker``'s store (see the module docstring)."""

    def __init__(self, tracker: Tracker, study: str, heartbeat: float = HEARTBEAT_S,
                 stale_after: float = STALE_AFTER_S, report: Callable[[str], None] = _quiet) -> None:
        self.tracker, self.study, self.heartbeat, self.stale_after = tracker, study, heartbeat, stale_after
        self.report = report
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.run_id: str | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait: bool = False) -> None:
        """Take the lease; if another sweep holds it, raise a one-line :class:`GlorotError`, or
        with ``wait`` try again every heartbeat until it is released or dies."""
        while True:
            now = time.time()
            self.run_id = self.tracker.start_lock({TAG + "owner": self.owner, TAG + "host": HOST,
                                                   TAG + "pid": str(os.getpid()), TAG + "state": "claiming",
                                                   TAG + "started": f"{now:.3f}", TAG + "heartbeat": f"{now:.3f}"})
            rivals = self._live_rivals()
            if not rivals:
                self.tracker.set_tags(self.run_id, {TAG + "state": "held"})
                self._thread = threading.Thread(target=self._beat, name="glorot-lease", daemon=True)
                self._thread.start()
                return
            self.tracker.delete_run(self.run_id)
            self.run_id = None
            holder = next((c for c in rivals if c.state == "held"), None)
            if holder and not wait:
                raise GlorotError(f"a sweep of study {self.study} is already running ({holder.describe()}); "
                                  f"wait for it (or pass --wait), or stop it: a lease not renewed for "
                                  f"{self.stale_after:.0f}s, or whose process is gone, is taken over")
            if holder:
                self.report(f"waiting for the sweep of study {self.study} that is running ({holder.describe()})")
            time.sleep(self.heartbeat if holder else random.uniform(0.2, 2.0))

    def _live_rivals(self) -> list[Claim]:
        """The other claims of the study that may be alive; dead ones are deleted, saying so."""
        live = []
        for run in self.tracker.locks():
            claim = Claim.from_tags(run.info.run_id, run.data.tags)
            if claim.run_id == self.run_id:
                continue
            if why := claim.dead(self.stale_after):
                self.report(f"taking over the lease of study {self.study} from {claim.owner} "
                            f"({claim.describe()}): {why}")
                self.tracker.delete_run(claim.run_id)
            else:
                live.append(claim)
        return live

    def attach(self, parent_id: str) -> None:
        """Record the sweep's MLflow parent run in the lease (named to a sweep refused meanwhile)."""
        if self.run_id:
            self.tracker.set_tags(self.run_id, {TAG + "parent": parent_id})

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                tags = self.tracker.tags_of(self.run_id)
                if tags is None or tags.get(TAG + "owner") != self.owner:
                    self.lost = True
                    self.report(f"the lease of study {self.study} was taken over while it could not be renewed: "
                                f"another sweep may have started")
                    return
                self.tracker.set_tags(self.run_id, {TAG + "heartbeat": f"{time.time():.3f}"})
            except Exception:  # noqa: BLE001 - the store is away for now; the next beat tries again
                continue

    def release(self) -> None:
        """Stop renewing and delete the lease (a store that is away leaves it to die of age)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.run_id and not self.lost:
            try:
                self.tracker.delete_run(self.run_id)
            except Exception as e:  # noqa: BLE001 - left behind, it is taken over once dead
                self.report(f"could not release the lease of study {self.study}: {str(e).splitlines()[0][:200]}")
        self.run_id = None
