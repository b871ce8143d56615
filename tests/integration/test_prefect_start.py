"""Sweeps starting at once on a fresh Prefect home: their temporary Prefect servers start one
at a time (``glorot.pipeline.server_lock``), so none races another on the database migration."""

import subprocess
import sys
from pathlib import Path

import pytest

from glorot.pipeline.server_lock import first_start_lock

from .project import env

pytestmark = pytest.mark.integration

FLOWS = Path(__file__).resolve().parents[2] / "flows"

#: What a sweep does first: start its temporary Prefect server (flows/sweep.py), then ask it something.
START = """
import sys
sys.path.insert(0, sys.argv[1])
import asyncio, sweep
from prefect import get_client
sweep.stop_server_with_sweep()
async def ask():
    async with get_client() as client:
        return len(await client.read_flows())
print("flows:", asyncio.run(ask()), flush=True)
"""


def _start(home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", START, str(FLOWS)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(PREFECT_HOME=str(home), PREFECT_API_URL=""))


def test_sweeps_starting_at_once_on_a_fresh_prefect_home_do_not_race_on_its_migration(tmp_path):
    home = tmp_path / "prefect-home"  # fresh: no database yet
    starts = [_start(home) for _ in range(3)]
    outputs = [p.communicate(timeout=600) for p in starts]
    for p, (out, err) in zip(starts, outputs):
        assert p.returncode == 0 and out == "flows: 0\n", err[-3000:]
        assert "Traceback" not in err and "ERROR" not in err, err[-3000:]


def test_a_server_start_waits_for_the_home_lock(tmp_path):
    """While the lock is held (another start migrating), a sweep's server does not start (no
    database, the sweep still waiting, however long the wait: here 90 s, where a start without
    the lock takes about 40 s on a busy 2-core machine); it starts once the lock is released."""
    home = tmp_path / "prefect-home"
    with first_start_lock(home):
        start = _start(home)
        try:
            start.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pass
        assert start.poll() is None, "the server started without waiting for the lock"
        assert not list(home.glob("*.db"))
    out, err = start.communicate(timeout=600)
    assert start.returncode == 0 and out == "flows: 0\n", err[-3000:]
