"""Atomic files and folders: never half written, modes from the umask, a run folder replaced whole."""

import json
import os
import signal
import stat
import subprocess
import sys

import pytest

from glorot.atomic import atomic_folder, atomic_write_text, recover_folder


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_and_folders_follow_the_umask(tmp_path, umask):
    """The umask is read when glorot.atomic is imported, so each umask runs in its own process."""
    code = ("import os, sys; os.umask(int(sys.argv[2], 8)); from pathlib import Path; "
            "from glorot.atomic import atomic_folder, atomic_write_text; p = Path(sys.argv[1]); "
            "atomic_write_text(p / 'f.txt', 'x'); "
            "exec('with atomic_folder(p / \"run\") as t:\\n    atomic_write_text(t / \"g.txt\", \"y\")')")
    subprocess.run([sys.executable, "-c", code, str(tmp_path), oct(umask)[2:]], check=True)
    assert _mode(tmp_path / "f.txt") == 0o666 & ~umask
    assert _mode(tmp_path / "run") == 0o777 & ~umask
    assert _mode(tmp_path / "run" / "g.txt") == 0o666 & ~umask


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    run = tmp_path / "run"
    with atomic_folder(run) as tmp:
        atomic_write_text(tmp / "config.json", json.dumps({"n": 1}))
        atomic_write_text(tmp / "model.pt", "old model")
    with pytest.raises(RuntimeError):
        with atomic_folder(run) as tmp:
            atomic_write_text(tmp / "config.json", json.dumps({"n": 2}))
            raise RuntimeError("killed half-way")
    assert sorted(os.listdir(run)) == ["config.json", "model.pt"]
    assert json.loads((run / "config.json").read_text()) == {"n": 1}
    with atomic_folder(run) as tmp:
        atomic_write_text(tmp / "config.json", json.dumps({"n": 3}))
    assert os.listdir(run) == ["config.json"]  # nothing of the old run is left beside the new one
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no temp or old folder left behind


#: A child that replaces folder ``argv[1]`` (holding ``old``) with one holding ``new`` and SIGKILLs
#: itself at the first ``os.replace`` that would put a folder in place of ``argv[1]`` (with two
#: plain renames: the instant after the old folder was renamed away) or at the first removal of
#: an existing folder (after an exchange: the old folder, before it is gone). ``argv[2] == "1"``
#: takes the exchange away, as on a platform that has none.
_KILLED_REPLACEMENT = """
import os, signal, sys
from pathlib import Path
import glorot.atomic as atomic
target = Path(sys.argv[1])
if sys.argv[2] == "1":
    atomic.exchange = lambda a, b: False
plain = os.replace
def replace(src, dst):
    if Path(dst) == target:
        os.kill(os.getpid(), signal.SIGKILL)
    return plain(src, dst)
atomic.os.replace = replace
remove = atomic.shutil.rmtree
def rmtree(path, **kwargs):
    if os.path.exists(path):
        os.kill(os.getpid(), signal.SIGKILL)
    return remove(path, **kwargs)
atomic.shutil.rmtree = rmtree
with atomic.atomic_folder(target) as tmp:
    (tmp / "which").write_text("new")
"""


@pytest.mark.parametrize("no_exchange", [False, True], ids=["exchange", "fallback"])
def test_a_kill_during_a_folder_replacement_leaves_the_old_or_the_new_folder(tmp_path, no_exchange):
    """A real SIGKILL at the worst instant: with the exchange the new folder is in place at once;
    without it, the next writer puts the old one back before anything else, and no stale temp
    or old folder is left once it has written."""
    run = tmp_path / "run"
    with atomic_folder(run) as tmp:
        (tmp / "which").write_text("old")
    child = subprocess.run([sys.executable, "-c", _KILLED_REPLACEMENT, str(run), "1" if no_exchange else "0"])
    assert child.returncode == -signal.SIGKILL
    if not no_exchange:
        assert (run / "which").read_text() == "new"
    else:
        recover_folder(run)
        assert (run / "which").read_text() == "old"
    with atomic_folder(run) as tmp:
        (tmp / "which").write_text("next")
    assert (run / "which").read_text() == "next"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_temp_folder_of_a_running_writer_is_left_alone(tmp_path):
    run = tmp_path / "run"
    mine = tmp_path / f".run.{os.getpid()}.abc.tmp"
    mine.mkdir()
    with atomic_folder(run) as tmp:
        (tmp / "f").write_text("x")
    assert mine.is_dir()


def test_data_set_folders_follow_the_umask(tmp_path):
    """``write_dataset`` made its folder with ``mkdtemp`` (always 0700) and never applied the umask."""
    code = ("import os, sys; os.umask(0o022); import numpy as np; from glorot.data.imagesets import write_dataset; "
            "write_dataset(sys.argv[1], {'train': (np.zeros((2, 3), np.float32), np.zeros(2, np.int64))}, "
            "{'class_names': ['a']})")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "set")], check=True)
    assert _mode(tmp_path / "set") == 0o755
    assert _mode(tmp_path / "set" / "train") == 0o755
