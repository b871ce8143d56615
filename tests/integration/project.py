"""A throw-away copy of the project with a tiny study, for tests that run the real pipeline."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .servers import own_environ

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

TINY_STUDY = {
    "description": "two tiny networks for tests",
    "datasets": ["shapeset"], "networks": ["Tanh", "Tanh N"], "depths": [2], "widths": [16],
    "lrs": [0.1], "seeds": [0], "updates": 40, "eval_every": 20, "probe_every": 20, "probe_size": 20,
    "device": "cpu",
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def make_project(dest: Path, study: dict | None = None, git: bool = False) -> Path:
    """Copy the repository's tracked files to ``dest`` with a ``tiny`` study selected and
    small Shapeset splits; optionally make it a git repository with one commit."""
    for rel in tracked_files():
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["study"] = "tiny"
    params["shapeset"].update(valid_n=200, test_n=200)
    params["studies"]["tiny"] = study or TINY_STUDY
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (dest / "dvc.lock").unlink(missing_ok=True)
    if git:
        for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"]):
            subprocess.run(cmd, cwd=dest, check=True)
    return dest


def env(**extra: str) -> dict[str, str]:
    """The test's environment (:func:`~.servers.own_environ`: no tracking URI but one in ``extra``)
    with this venv's tools first on PATH and no telemetry."""
    return dict(own_environ(), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                DO_NOT_TRACK="1", **extra)


def run(cmd: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd``; fail the test with its output if it exits non-zero."""
    proc = subprocess.run(cmd, cwd=cwd, env=env(**extra), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@functools.cache
def _session_folder() -> Path:
    """A temporary folder for what the tests of one session make once and copy (removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="glorot-tests-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def _shapeset_splits() -> Path:
    """The tiny project's Shapeset splits, made once per session by `glorot data shapeset`."""
    out = _session_folder() / "shapeset"
    for split, seed in (("valid", 1), ("test", 2)):
        run([str(BIN / "glorot"), "data", "shapeset", "--n", "200", "--seed", str(seed), "--out", str(out / split)],
            _session_folder())
    return out


def generate_shapeset(project: Path) -> None:
    """The tiny project's fixed Shapeset splits, as the DVC stage would write them: written by
    `glorot data shapeset` once per session, then copied (the same seeds give the same files)."""
    shutil.copytree(_shapeset_splits(), project / "data" / "shapeset", dirs_exist_ok=True)


@functools.cache
def _migrated_prefect_home() -> Path:
    """A Prefect home whose database `prefect server database upgrade` has created, once per session."""
    home = _session_folder() / "prefect-home"
    run([str(BIN / "prefect"), "server", "database", "upgrade", "-y"], _session_folder(), PREFECT_HOME=str(home))
    return home


def prefect_home(dest: Path) -> str:
    """A new Prefect home at ``dest`` (for ``PREFECT_HOME``) with its own copy of a migrated
    database: the temporary server that a sweep starts there skips creating its tables."""
    shutil.copytree(_migrated_prefect_home(), dest)
    return str(dest)
