"""Atomic files and folders: never half written, modes from the umask, a run folder replaced whole."""

import json
import os
import stat
import subprocess
import sys

import pytest

from glorot.atomic import atomic_folder, atomic_write_text


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
