"""glorot.pipeline.watchdog with real processes: a process watched for a parent that is killed
with SIGKILL is stopped; one that ended cleanly is left alone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import subprocess, sys, time
from glorot.pipeline.watchdog import stop_with_this_process
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
stop_with_this_process(child.pid)
print(child.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # killed, waiting for its new parent to reap it


def test_a_watched_process_is_stopped_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ))
    child = int(parent.stdout.readline())
    try:
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 60
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "the watched process outlived its killed parent"
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)
