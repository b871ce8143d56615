"""A helper process that stops another process when this one ends, however it ends.

A child started with :mod:`subprocess` outlives its parent when the parent is killed (SIGKILL
runs no clean-up): Prefect's temporary local API server, for one, would keep its port and its
memory after a killed sweep. :func:`stop_with_this_process` starts a small watchdog that holds
the reading end of a pipe whose writing end only this process holds; when this process ends,
for any reason, the kernel closes that end, the watchdog reads end-of-file and stops the
process it watches (SIGTERM, then SIGKILL after a grace period). It checks first that the pid
still belongs to the process it was given (same start time, on Linux), so that a pid reused
after a clean exit is never signalled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_WATCHDOG = r"""
import os, signal, sys, time
pid, started, grace = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
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
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
if same():
    stop(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while same() and time.monotonic() < deadline:
        time.sleep(0.1)
    if same():
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


def stop_with_this_process(pid: int, grace: float = 5.0) -> subprocess.Popen:
    """Have process ``pid`` stopped when this process ends (see the module docstring); returns
    the watchdog, in a session of its own so that a signal to this process group spares it."""
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(pid), start_time(pid) or "-", str(grace)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    _WATCHDOGS.append(watchdog)
    return watchdog
