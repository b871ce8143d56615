"""glorot.pipeline.store: the lock around the first opening of a local SQLite store."""

import filelock
import pytest

from glorot.errors import GlorotError
from glorot.pipeline.store import store_lock


def test_a_local_store_is_opened_by_one_process_at_a_time(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    other = filelock.FileLock(tmp_path / "mlflow.db.lock")  # what another process's store_lock takes
    with store_lock(uri):
        with pytest.raises(filelock.Timeout):
            other.acquire(timeout=0)
    other.acquire(timeout=0)  # released on leaving
    other.release()


def test_a_lock_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    uri = f"sqlite:///{tmp_path / 'file' / 'mlflow.db'}"
    with pytest.raises(GlorotError, match=r"^cannot open the MLflow tracking store .*: cannot write .*mlflow.db.lock"):
        with store_lock(uri):
            pass


def test_a_server_is_not_locked_here():
    with store_lock("http://127.0.0.1:5000"):
        pass


def test_two_stores_have_different_names_that_hold_no_path_or_password():
    from glorot.pipeline.store import store_digest, store_label

    a, b = "sqlite:////home/me/project/mlflow.db", "sqlite:////home/me/project/other/mlflow.db"
    assert store_digest(a) != store_digest(b) and len(store_digest(a)) == 8
    assert store_label(a) == f"sqlite:mlflow.db#{store_digest(a)}"
    assert store_label("http://me:secret@tracking:5000/") == f"http:tracking:5000#{store_digest('http://me:secret@tracking:5000/')}"
