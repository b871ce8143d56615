"""One temporary Prefect server starting at a time on a Prefect home.

Without ``PREFECT_API_URL`` each sweep starts a temporary Prefect API server of its own, on
the database of its Prefect home (``PREFECT_HOME``, SQLite by default); a server creates or
migrates that database as it starts. Two sweeps starting at once on a fresh home raced on
that migration (raw tracebacks, then Prefect recovered). :func:`first_start_lock` holds a
file lock in the home (``filelock``) while a server starts, until it answers, so that the
second one finds the database already migrated. It imports nothing of Prefect: the flow that
starts the server gives it the home.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from glorot.errors import GlorotError

LOCK_FILE = ".glorot-server-start.lock"


@contextmanager
def first_start_lock(home: str | Path, timeout: float = 600.0) -> Iterator[Path]:
    """Hold the lock of Prefect home ``home`` (created if missing) for the block: a server start
    and its migration; a one-line :class:`GlorotError` if another start holds it past ``timeout`` seconds."""
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(home / LOCK_FILE)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise GlorotError(f"another Prefect server has been starting on {home} for {timeout:.0f} s "
                          f"(lock {lock.lock_file}); is one stuck?") from None
    try:
        yield home
    finally:
        lock.release()
