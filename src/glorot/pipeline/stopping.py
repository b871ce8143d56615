"""A graceful stop of the training that a sweep runs in this process.

A sweep trains its groups in threads (Prefect's thread-pool task runner). A signal reaches the
main thread only, and the task runner then waits for every running group to end: without more,
Ctrl-C or a ``kill`` (SIGTERM, what schedulers and ``systemctl stop`` send) would leave a sweep
training on until its current runs finish, an hour at the paper's scale, and only SIGKILL
would stop it.

So, while :func:`stop_on_signals` is in force, the first SIGINT or SIGTERM *requests a stop*:
each run saves its next due checkpoint and stops right after it (:class:`StoppingCheckpointer`:
at most ``checkpoint_every`` updates later, by default an evaluation interval), its MLflow run
ends KILLED with status ``stopped`` (:meth:`glorot.pipeline.tracking.Tracker.stopped`), and the
signal then does what it did before (Prefect's handler, or a ``KeyboardInterrupt``) once the
runs have stopped. The same command continues the sweep from those checkpoints. A second signal
stops at once: the process exits, the checkpoints on disk are whole (they are written
atomically) and the runs resume from them, as after a kill.

A sweep that fans its groups out to a deployment trains nothing here: the stop cancels the
flow runs it waits for instead (``flows/sweep.py``), and their workers stop them with SIGTERM,
which :func:`stop_on_sigterm` turns into a stop at once (the runs end stopped, not failed, and
resume from their last checkpoints).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from glorot.config import TrainConfig
from glorot.engine.checkpoint import Checkpointer, TrainState

#: The signals that request a stop.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: What a requested stop does to the runs trained in this process (the first signal's line).
LOCAL_STOP = "each run stops after its next checkpoint"
#: What it does to the flow runs of a deployment that a sweep waits for (``flows/sweep.py``).
REMOTE_STOP = ("the flow runs it submitted are cancelled (their workers stop them; the runs resume from their "
               "last checkpoints)")

_requested = threading.Event()


class Stopped(Exception):
    """Training stopped on request, right after a checkpoint that it resumes from."""


def request_stop() -> None:
    """Ask every run training in this process to stop at its next checkpoint."""
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise :class:`Stopped` if a stop was requested."""
    if _requested.is_set():
        raise Stopped("stopped on request: the same command continues from the checkpoint")


class StoppingCheckpointer(Checkpointer):
    """A :class:`~glorot.engine.checkpoint.Checkpointer` of member ``member`` of a group of
    ``size`` configurations trained together, which stops the group (raises :class:`Stopped`)
    once a stop has been requested and every member has saved a checkpoint since: right after
    the last of those saves. The members of a group, as a study makes them, checkpoint at the
    same updates, one after another, so they all resume from one update, and to the numbers of
    the group never stopped (which are, in their last bits, those of the group:
    :mod:`glorot.pipeline.replay`). A member that no longer saves (it diverged) cannot hold
    the others: a member about to save a second time since the request stops the group instead,
    its own last checkpoint being at the update of the others'.
    """

    def __init__(self, folder: str | Path, every: int, owner: dict[str, str] | None = None,
                 member: int = 0, saved: set[int] | None = None, size: int = 1) -> None:
        super().__init__(folder, every, owner)
        self.member, self.size = member, size
        self.saved = set() if saved is None else saved  # shared by the group: the members saved since the request

    @classmethod
    def group(cls, folders: list[Path], every: list[int], owners: list[dict[str, str]]) -> list[StoppingCheckpointer]:
        """One checkpointer per member of a group, sharing what they saved since a request."""
        saved: set[int] = set()
        return [cls(f, e, o, k, saved, len(folders)) for k, (f, e, o) in enumerate(zip(folders, every, owners))]

    def save(self, config: TrainConfig, state: TrainState) -> None:
        if _requested.is_set() and self.member in self.saved:
            check()
        super().save(config, state)
        if _requested.is_set():
            self.saved.add(self.member)
            if len(self.saved) == self.size:
                check()


def _handler(previous: Any, say: Callable[[str], None], effect: str) -> Callable[[int, Any], None]:
    """The handler of one signal: the first requests a stop (``effect``: what it does to the
    runs) and then hands the signal on to ``previous``; a second exits at once."""

    def handle(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if _requested.is_set():
            say(f"glorot: {name} again: stopped at once; the runs resume from their last checkpoints")
            os._exit(128 + signum)
        request_stop()
        say(f"glorot: {name}: stopping; {effect}, and the same command "
            f"continues the sweep from there ({name} again to stop at once)")
        if callable(previous):
            previous(signum, frame)
        else:  # the default action (SIG_DFL, or a handler not set from Python): end the process
            raise SystemExit(128 + signum)

    return handle


@contextmanager
def stop_on_signals(say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
                    effect: str = LOCAL_STOP) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop the runs of this process gracefully (module
    docstring; ``effect`` says what the stop does to them), each signal's own handler taking
    over once they have stopped; outside the main
    thread, where signals cannot be handled, nothing changes, and a signal this process ignores
    (SIGINT in a background job) stays ignored. Leaving the block clears the request."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
    for s, handler in previous.items():
        signal.signal(s, _handler(handler, say, effect))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _requested.clear()


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Stopped` where the main thread is: what a
    deployment's flow run trains under, whose worker cancels it with SIGTERM (its training runs
    in the main thread, so no checkpoint can be waited for). Outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        raise Stopped("stopped by SIGTERM (its flow run was cancelled): the same sweep continues it from its last "
                      "checkpoint")

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
