"""A helper process that stops another process when this one ends, however it ends.

A child started with :mod:`subprocess` outlives its parent when the parent is killed (SIGKILL
runs no clean-up): Prefect's temporary local API server, for one, would keep its port and its
memory after a killed sweep. :func:`stop_with_this_process` starts a small watchdog that holds
the reading end of a pipe whose writing end only this process holds; when this process ends,
for any reason, the kernel closes that end, the watchdog reads end-of-file and stops the
process it watches (SIGTERM, then SIGKILL after a grace period). It checks first that the pid
still belongs to the process it was given (same start time, on Linux), so that a pid reused
after a clean exit is never signalled. Given a process group (a server and its workers, as
:func:`serve` starts one for ``glorot ui``), it stops the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_WATCHDOG = r"""
import os, signal, sys, time
pid, started, grace, group = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4] == "group"
sys.stdin.buffer.read()  # returns at end-of-file: the process that started this one has ended
def same():
    if not os.path.isdir("/proc/self"):  # no /proc: alive is all that can be told
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return False
    parts = stat.rsplit(")", 1)[1].split()
    return parts[0] != "Z" and (started == "-" or parts[19] == started)
def stop(sig):
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    except ProcessLookupError:
        pass
if same():
    stop(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while same() and time.monotonic() < deadline:
        time.sleep(0.1)
    if same() or group:  # a group's other members may outlive its leader
        stop(signal.SIGKILL)
"""

#: The watchdogs started by this process; kept so that their pipes stay open until it ends.
_WATCHDOGS: list[subprocess.Popen] = []


def start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks after boot, from ``/proc``), None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stop_with_this_process(pid: int, grace: float = 5.0, group: bool = False) -> subprocess.Popen:
    """Have process ``pid`` stopped when this process ends (see the module docstring), with the
    whole process group it leads if ``group`` (a server and its workers); returns the watchdog,
    in a session of its own so that a signal to this process group spares it."""
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(pid), start_time(pid) or "-", str(grace),
                                 "group" if group else "one"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    _WATCHDOGS.append(watchdog)
    return watchdog


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def stop_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop the process group that ``proc`` leads: SIGTERM, then SIGKILL after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + grace  # the leader is gone; give its workers the same grace
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def serve(cmd: list[str]) -> int:
    """Run the server ``cmd`` in a process group of its own until it exits, and stop the whole
    group when this process is stopped: SIGTERM or SIGINT (exit status 128 + the signal), or
    killed in any way, SIGKILL included (:func:`stop_with_this_process`). Returns its exit status."""
    proc = subprocess.Popen(cmd, start_new_session=True)
    stop_with_this_process(proc.pid, group=True)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    except _Stopped as e:
        return 128 + e.signum
    finally:
        try:
            stop_group(proc)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
