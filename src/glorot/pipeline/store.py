"""Where the tracking store is and whether it can be opened, without importing MLflow: the URI
(``MLFLOW_TRACKING_URI``, ``params.yaml`` or the project's SQLite file), the health check of a
server, the names that tell two stores apart, the lock that serialises the first opening of a
local SQLite store, and the error of a store that is away for now.
:mod:`glorot.pipeline.tracking` uses these and re-exports the URI and the health check.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from glorot.errors import GlorotError

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"


class StoreUnavailable(GlorotError):
    """The tracking store does not answer: trying again later can fix it (a sweep's task is retried)."""


def resolve_uri(configured: str | None = None, root: str | Path = ".") -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``configured``, else the project's SQLite store."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    return uri or f"sqlite:///{(Path(root).resolve() / DEFAULT_DB).as_posix()}"


def store_digest(uri: str) -> str:
    """A short digest of the tracking store ``uri`` (the first 8 hex digits of its SHA-256): what
    tells two stores of one project apart where no path may stand, e.g. the checkpoint folders
    ``checkpoints/<key>-<digest>`` (:mod:`glorot.pipeline.runs`)."""
    return hashlib.sha256(uri.encode()).hexdigest()[:8]


def store_label(uri: str) -> str:
    """The store ``uri`` named without its folders or credentials: its scheme, the last part of
    its path (or its host) and :func:`store_digest`, e.g. ``sqlite:mlflow.db#1a2b3c4d``; the
    sweep's summary says so which store it came from (DVC hashes the summary: no absolute path)."""
    scheme, _, rest = uri.partition("://")
    name = rest.split("?")[0].rstrip("/").rsplit("/", 1)[-1].rsplit("@", 1)[-1]
    return f"{scheme}:{name}#{store_digest(uri)}"


def store_missing(uri: str) -> bool:
    """Whether ``uri`` is a local SQLite store whose file does not exist yet (so it holds no sweep,
    and a command that only reads must not create it)."""
    return uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):].split("?")[0]).exists()


def no_sweep(study: str, uri: str, first_sweep: str) -> GlorotError:
    """The one-line error of a read on a store where ``study`` has no sweep yet, naming the store
    (and that ``MLFLOW_TRACKING_URI`` chose it, when it did) and the command that fills it."""
    chosen = " (MLFLOW_TRACKING_URI)" if os.environ.get("MLFLOW_TRACKING_URI") == uri else ""
    return GlorotError(f"study {study!r} has no sweep in {uri}{chosen} yet: run `{first_sweep}` first")


def artifact_root(uri: str, root: str | Path = ".") -> str | None:
    """Where new experiments keep artifacts: the project's folder for a local store, else the server's."""
    if uri.startswith(("http://", "https://")):
        return None
    return (Path(root).resolve() / DEFAULT_ARTIFACTS).as_uri()


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in one line, naming ``uri``, if the tracking server does not answer its health check."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as response:
            if response.status == 200:
                return
            reason = f"HTTP {response.status}"
    except urllib.error.HTTPError as e:
        reason = f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        reason = str(getattr(e, "reason", e))
    raise StoreUnavailable(f"cannot reach the MLflow tracking server at {uri}: {reason}")


def first_line(error: BaseException) -> str:
    """An error as one line: its type and the first line of its message."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:300]}" if text else type(error).__name__


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock (``filelock``) on ``<db>.lock`` beside a local SQLite store: MLflow
    creates or upgrades its tables when a store is first opened, and two processes doing that at
    once break it. Other stores (a server, PostgreSQL) are not locked here."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    lock = f"{uri[len('sqlite:///'):].split('?')[0]}.lock"
    try:
        held = FileLock(lock).acquire()
    except OSError as e:
        raise GlorotError(f"cannot open the MLflow tracking store {uri}: cannot write {lock}: "
                          f"{e.strerror or e}") from None
    with held:
        yield
