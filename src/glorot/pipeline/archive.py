"""A sweep carried from one tracking store to another as one file: its parent run and its finished
child runs, with everything the report reads of them.

Why: the evidence studies (issue 26) take more hours than a working machine is kept; a sweep
resumes from its MLflow store (:meth:`glorot.pipeline.sweep.Sweep.pending` skips the finished
configurations), so carrying the store's finished runs to a new machine is what lets the sweep go on
there. ``glorot archive export`` writes them, ``glorot archive import`` puts them into another store,
under a parent run with the same sweep key (:func:`~glorot.pipeline.provenance.sweep_key`: same
study, data and code), so that ``glorot sweep`` on that store continues the sweep instead of
starting it again, and ``glorot report`` and ``glorot results`` read the imported runs like any other.

An archive (``.tar.xz``) holds ``sweep.json`` (format :data:`FORMAT`: the parent and each child
run's name, status, times, params, tags and full metric histories) and, per child run, the two
artifacts the report reads (:mod:`glorot.report.collect`): ``test_correct.npy`` and
``diagnostics.npz`` cut to its first and last probe (Figures 4 and 6-8 read only those; the
per-probe numbers stay whole in the metric histories). Not carried: trained models (so no
``model_uri``; a continued sweep registers the models it trains itself), figures (PNG) and runs
that did not finish (they train again).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities import Metric, Param, RunTag

from glorot.atomic import atomic_write
from glorot.errors import GlorotError
from glorot.pipeline.metrics_logger import METRICS_PER_BATCH
from glorot.pipeline.runs import is_finished
from glorot.pipeline.store import store_label
from glorot.pipeline.tracking import Tracker

FORMAT = 1
INDEX = "sweep.json"
ARTIFACTS = ("test_correct.npy", "diagnostics.npz")
#: Tags that name things of the exporting store: the parent (given anew), the trained model.
STORE_TAGS = ("mlflow.parentRunId", "mlflow.runName", "mlflow.log-model.history", "model_uri")


@dataclass(frozen=True)
class Moved:
    """What an export or import did: the study, the parent run it wrote to (import) or read, the
    runs carried, and those an import left out because the store already had them finished."""

    study: str
    parent_id: str
    runs: int
    skipped: int = 0


def endpoints(npz: bytes) -> bytes:
    """``diagnostics.npz`` (arrays ``u{update}/...``) cut to its first and last probe, stored uncompressed: the
    archive's xz compresses it to less than half of what zip's deflate would."""
    with np.load(io.BytesIO(npz)) as arrays:
        updates = sorted({int(k.split("/")[0][1:]) for k in arrays.files})
        keep = {f"u{u}/" for u in (updates[:1] + updates[-1:])}
        kept = {k: arrays[k] for k in arrays.files if k[: k.index("/") + 1] in keep}
    out = io.BytesIO()
    np.savez(out, **kept)
    return out.getvalue()


def _run_json(tracker: Tracker, run: Any) -> dict:
    history = tracker.client.get_metric_history
    return {"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
            "start_time": run.info.start_time, "end_time": run.info.end_time,
            "params": dict(run.data.params),
            "tags": {k: v for k, v in run.data.tags.items() if k not in STORE_TAGS},
            "metrics": {key: [[m.step, m.timestamp, m.value] for m in history(run.info.run_id, key)]
                        for key in sorted(run.data.metrics)}}


def _finished_children(tracker: Tracker, parent_id: str) -> list[Any]:
    """The latest finished child run of each configuration (retries leave several runs of one)."""
    latest: dict[str, Any] = {}
    for run in tracker.child_runs(parent_id):  # oldest first
        if is_finished(run):
            latest[run.data.tags.get("glorot.config_key", run.info.run_id)] = run
    return list(latest.values())


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tar.addfile(info, io.BytesIO(data))


def export_sweep(tracker: Tracker, out: str | Path, parent_id: str | None = None) -> Moved:
    """Write the study's latest sweep (or sweep ``parent_id``) on ``tracker``'s store to the archive
    ``out``, replacing it whole (a reader never sees half of one)."""
    parent_id = parent_id or tracker.latest_parent()
    if parent_id is None:
        raise GlorotError(f"study {tracker.study!r} has no sweep in {tracker.uri}: nothing to export")
    children = _finished_children(tracker, parent_id)
    index = {"format": FORMAT, "study": tracker.study, "store": store_label(tracker.uri),
             "parent": _run_json(tracker, tracker.client.get_run(parent_id)),
             "runs": [_run_json(tracker, run) for run in children]}
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for run in children:
            present = {a.path for a in tracker.client.list_artifacts(run.info.run_id)}
            for name in ARTIFACTS:
                if name in present:
                    data = Path(tracker.client.download_artifacts(run.info.run_id, name, tmp)).read_bytes()
                    files[f"runs/{run.info.run_id}/{name}"] = endpoints(data) if name.endswith(".npz") else data

        def write(f) -> None:
            with tarfile.open(fileobj=f, mode="w:xz") as tar:
                _add(tar, INDEX, json.dumps(index, indent=None, sort_keys=True).encode())
                for name in sorted(files):
                    _add(tar, name, files[name])

        atomic_write(out, write)
    return Moved(tracker.study, parent_id, len(children))


def read_archive(path: str | Path) -> tuple[dict, dict[str, bytes]]:
    """An archive's index and files; a missing, unreadable or foreign file is one line."""
    try:
        with tarfile.open(path, mode="r:xz") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        index = json.loads(files.pop(INDEX))
    except FileNotFoundError:
        raise GlorotError(f"no archive at {path}") from None
    except (tarfile.TarError, EOFError, KeyError, ValueError, OSError) as e:
        raise GlorotError(f"{path} is not a sweep archive of glorot ({type(e).__name__}: {e})") from None
    if index.get("format") != FORMAT:
        raise GlorotError(f"{path}: sweep archive format {index.get('format')!r}, this glorot reads {FORMAT}")
    return index, files


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _create(tracker: Tracker, run: dict, tags: dict[str, str], files: dict[str, bytes]) -> str:
    """A run on ``tracker``'s store as ``run`` was (name, times, params, metric histories, status),
    with ``tags`` and the artifacts ``files``; deleted again if any part of it fails."""
    client = tracker.client
    run_id = client.create_run(tracker.experiment_id, start_time=run["start_time"], run_name=run["run_name"],
                               tags=tags).info.run_id
    try:
        for params in _batches([Param(k, v) for k, v in run["params"].items()], 100):  # MLflow's limit per call
            client.log_batch(run_id, params=params)
        points = [Metric(key, value, timestamp, step) for key, history in run["metrics"].items()
                  for step, timestamp, value in history]
        for metrics in _batches(points, METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=metrics)
        if files:
            with tempfile.TemporaryDirectory() as tmp:
                for name, data in files.items():
                    (Path(tmp) / name).write_bytes(data)
                client.log_artifacts(run_id, tmp)
        status = "KILLED" if run["status"] == "RUNNING" else run["status"]  # the process that ran it is gone
        client.set_terminated(run_id, status, end_time=run["end_time"])
    except BaseException:
        client.delete_run(run_id)
        raise
    return run_id


def import_sweep(tracker: Tracker, path: str | Path) -> Moved:
    """Put the archive ``path`` into ``tracker``'s store: under the parent run of the same sweep key
    if the store has one (its finished configurations are left as they are), else under a new
    parent run like the archived one. Each run is whole or absent (:func:`_create`), so an import
    that stops part way is finished by importing again."""
    index, files = read_archive(path)
    if index["study"] != tracker.study:
        raise GlorotError(f"{path} holds a sweep of study {index['study']!r}, not {tracker.study!r}")
    parent = index["parent"]
    origin = {"glorot.archive": Path(path).name, "glorot.archive_store": index["store"]}
    parent_id = tracker.find_parent(parent["tags"]["glorot.sweep_key"])
    if parent_id is None:
        parent_id = _create(tracker, parent, {**parent["tags"], **origin, "glorot.archived_run_id": parent["run_id"]},
                            {})
    have = {r.data.tags.get("glorot.config_key") for r in _finished_children(tracker, parent_id)}
    todo = [r for r in index["runs"] if r["tags"].get("glorot.config_key") not in have]
    for run in todo:
        prefix = f"runs/{run['run_id']}/"
        _create(tracker, run, {**run["tags"], **origin, "glorot.archived_run_id": run["run_id"],
                               "mlflow.parentRunId": parent_id},
                {name[len(prefix):]: data for name, data in files.items() if name.startswith(prefix)})
    return Moved(tracker.study, parent_id, len(todo), len(index["runs"]) - len(todo))
