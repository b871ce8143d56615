"""Provenance: which code and which data a result comes from, and the keys that identify
a configuration's result and a sweep.

The code version is the git commit, and :func:`code_hash`, the hash of the sources that decide
the numbers (uncommitted edits included); the data version is the hash that ``dvc.lock`` records
for a prepared data set (read through DVC's own API, :class:`dvc.repo.Repo`: its pipelines'
outputs and the listing of a version in its cache), else the content hash of the data that were
loaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glorot.config import TrainConfig
from glorot.data.defaults import prepare_command
from glorot.data.store import MANIFEST_FILE, file_digest, load_manifest
from glorot.errors import GlorotError

if TYPE_CHECKING:
    from glorot.data.sources import DataBundle
    from glorot.pipeline.study import StudyConfig

PACKAGE = Path(__file__).resolve().parents[1]
#: The parts of the package that decide a run's numbers: the maths, the engine, the data, the configuration.
NUMERIC_SOURCES = ("paper", "engine", "data", "config.py")


@functools.cache
def code_hash() -> str:
    """SHA-256 (hex) of the sources that decide a run's numbers (:data:`NUMERIC_SOURCES` of the
    installed package): each file's path relative to the package, sorted, then its bytes;
    ``__pycache__`` is ignored. A checkpoint records it and resumes only under the same code."""
    files = []
    for name in NUMERIC_SOURCES:
        path = PACKAGE / name
        found = [path] if path.is_file() else path.rglob("*")
        files += [f for f in found if f.is_file() and "__pycache__" not in f.relative_to(PACKAGE).parts]
    digest = hashlib.sha256()
    for rel, path in sorted((f.relative_to(PACKAGE).as_posix(), f) for f in files):
        content = path.read_bytes()
        digest.update(f"{rel}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def git_commit(root: str | Path = ".") -> str:
    """The checked-out commit (``+dirty`` when tracked files changed), or ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty else "")


def source_tags(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` with MLflow's standard ``mlflow.source.git.commit`` added from our ``git_commit``
    (which keeps its ``+dirty`` mark; an ``unknown`` commit adds nothing)."""
    commit = tags.get("git_commit", "unknown")
    return tags if commit == "unknown" else {**tags, "mlflow.source.git.commit": commit.removesuffix("+dirty")}


@contextmanager
def dvc_outputs(root: str | Path) -> Iterator[dict[str, Any]]:
    """The outputs of the project's DVC pipelines (every ``dvc.yaml`` and its lock file: the main
    pipeline's Shapeset and ``data/dvc.yaml``'s image sets), by path relative to ``root``, while
    DVC's repository is open; none outside a DVC project. A pipeline DVC cannot read is one line.
    DVC is imported here, when data are versioned, not with the package (it takes a second).
    Reading the lock files needs no git: DVC is opened without it (``core.no_scm``), so a copy of
    the project that is not a git clone (a worker's folder, a test's) reads them too."""
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    try:
        repo = Repo(str(root), config={"core": {"no_scm": True}})
    except NotDvcRepoError:
        yield {}
        return
    with repo:
        try:
            here = Path(root).resolve()
            outs = {Path(os.path.relpath(o.fs_path, here)).as_posix(): o for o in repo.index.outs}
        except DvcException as e:
            raise GlorotError(f"cannot read the DVC pipelines of {root}: {str(e).splitlines()[0]}") from None
        yield outs


def _version(out: Any | None) -> str | None:
    return out.hash_info.value if out is not None and out.hash_info and out.hash_info.value else None


def dvc_data_versions(root: str | Path, data_dir: str, datasets: Iterable[str]) -> dict[str, str | None]:
    """The DVC hash that a lock file records for each output ``<data_dir>/<dataset>`` (None: none)."""
    with dvc_outputs(root) as outs:
        return {d: _version(outs.get(f"{data_dir.rstrip('/')}/{d}")) for d in datasets}


def verify_dvc_output(root: str | Path, path: str, out: Any) -> None:
    """Fail before training if the files of DVC output ``out`` (at ``path``) differ from the
    version that ``dvc.lock`` records, comparing each file with DVC's own listing of that version
    (its tree object in the cache, ``Output.get_obj``). Without that listing in the cache (data
    got some other way than ``dvc repro`` or ``dvc pull``) there is nothing to compare and
    nothing is said."""
    md5 = _version(out)
    tree = out.get_obj() if md5 and md5.endswith(".dir") else None
    if tree is None:
        return
    expected = {"/".join(key): hash_info.value for key, _, hash_info in tree}
    folder = Path(root) / path
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for rel in sorted(set(expected) | present):
        file = folder / rel
        if rel not in present or rel not in expected or file_digest(file, "md5") != expected[rel]:
            state = "is missing" if rel not in present else "is not in it" if rel not in expected else "differs"
            raise GlorotError(f"{path}/{rel} {state}: the data differ from the version in dvc.lock ({md5}); "
                              f"run `dvc checkout {path}` or `{prepare_command(Path(path).name)}`")


def versioned_data(config: TrainConfig, root: str | Path = ".",
                   data_dir: str | None = "data") -> tuple[DataBundle, dict[str, str]]:
    """The data ``config`` trains on, checked against ``dvc.lock``, and the tags that record
    their version and the code's: ``data_version`` (DVC's hash, else the content hash),
    ``data_version_source``, ``data_content_hash``, ``valid_n``, ``test_n``, ``train_n`` (an image
    set's training images, from its manifest; none for Shapeset's online stream), ``git_commit``,
    ``glorot.code_hash`` and :func:`machine_tags`.
    ``data_dir`` None: Shapeset's fixed sets generated in memory, versioned by content."""
    from glorot.data.sources import load_data  # here, not above: tagging and keying runs need no torch

    dvc_version = None
    if data_dir:
        path = f"{data_dir.rstrip('/')}/{config.dataset}"
        with dvc_outputs(root) as outs:
            if dvc_version := _version(outs.get(path)):
                verify_dvc_output(root, path, outs[path])
    data = load_data(config, Path(root) / data_dir if data_dir else None)
    train = Path(root) / data_dir / config.dataset / "train" if data_dir else None
    return data, {
        **({"train_n": str(load_manifest(train)["n"])} if train and (train / MANIFEST_FILE).is_file() else {}),
        "data_version": dvc_version or data.version,
        "data_version_source": "dvc.lock" if dvc_version else "content-hash",
        "data_content_hash": data.version,
        "valid_n": str(len(data.valid.y)),
        "test_n": str(len(data.test.y)),
        "git_commit": git_commit(root),
        "glorot.code_hash": code_hash(),
        **machine_tags(),
    }


def machine_tags() -> dict[str, str]:
    """What machine and torch trained a run (``glorot.machine``: the CPU model and core count;
    ``torch_version``): published results name them (docs/results.md)."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"glorot.machine": f"{model}, {os.cpu_count()} cores, {platform.system()}", "torch_version": torch.__version__}


def config_key(config: TrainConfig, data_version: str) -> str:
    """What identifies a configuration's result: its settings and the data it trains on."""
    text = json.dumps({"config": config.model_dump(), "data_version": data_version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def sweep_key(study: StudyConfig, data_versions: dict[str, str | None]) -> str:
    """What identifies a sweep: the study's settings, the data versions and the code that decides
    the numbers (:func:`code_hash`, so an uncommitted edit of the maths starts a new sweep). Not the
    commit: a commit that changes only the report, the docs or the pipeline continues the sweep
    (the commit of each run is in its tags)."""
    text = json.dumps({"study": study.model_dump(), "data": data_versions, "code": code_hash()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]
