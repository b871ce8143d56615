"""``glorot summary`` on a local SQLite store, read without MLflow (issue 23: an answer in under 2 s).

Importing MLflow and opening its SQLAlchemy store (which checks the schema's migrations) takes
longer than the whole summary may. The summary reads only a sweep's child runs (params, tags,
final metrics) and one artifact per run (``test_correct.npy``, for McNemar's test), so on a
local SQLite store (``sqlite:///...``) whose artifacts are local files, this module reads them
straight from MLflow's tables, read-only: ``experiments``, ``runs``, ``tags``, ``params`` and
``latest_metrics`` (MLflow's own source of a run's ``data.metrics``), with MLflow's defaults
(deleted runs left out; children oldest first, the latest sweep by its start). Anything else
(a server, remote artifacts, a file these tables cannot be read from) goes through MLflow
(:func:`glorot.report.collect.open_study`), and the result is the same either way
(``tests/unit/test_light_commands.py`` compares them).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from glorot.errors import GlorotError
from glorot.pipeline.store import no_sweep, store_missing
from glorot.report.run_records import checked_correctness, latest_attempts, run_record


class NotReadableHere(Exception):
    """The store is not one this module reads (not local SQLite, remote artifacts, another schema)."""


def _local_path(artifact_uri: str) -> Path | None:
    """The folder of a ``file:`` (or plain path) artifact URI; None for any other scheme."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(artifact_uri) if not parsed.scheme and artifact_uri.startswith("/") else None


class SqliteSweep:
    """A study's latest sweep read from a local SQLite store: ``parent_id``, ``runs`` (records,
    one per configuration) and :meth:`correctness`, as :class:`glorot.report.collect.StudySource`
    gives them."""

    def __init__(self, path: Path, study: str) -> None:
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                self.parent_id, self.children = self._read(db, f"glorot-{study}")
            finally:
                db.close()
        except sqlite3.Error as e:
            raise NotReadableHere(str(e)) from None
        folders = {c.info.run_id: _local_path(c.info.artifact_uri or "") for c in self.children}
        if any(folder is None for folder in folders.values()):
            raise NotReadableHere("artifacts are not local files")
        self._folders = folders
        self.runs = latest_attempts([run_record(c) for c in self.children]) if self.parent_id else []
        self._correct: dict[str, np.ndarray | None] = {}

    @staticmethod
    def _read(db: sqlite3.Connection, experiment: str) -> tuple[str | None, list[Any]]:
        row = db.execute("SELECT experiment_id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'",
                         (experiment,)).fetchone()
        if row is None:
            return None, []
        parent = db.execute(
            "SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid WHERE r.experiment_id = ? AND "
            "r.lifecycle_stage = 'active' AND t.key = 'glorot.kind' AND t.value = 'sweep' "
            "ORDER BY r.start_time DESC, r.run_uuid LIMIT 1", (row[0],)).fetchone()
        if parent is None:
            return None, []
        runs = db.execute(
            "SELECT r.run_uuid, r.name, r.status, r.start_time, r.end_time, r.artifact_uri FROM runs r JOIN tags t "
            "ON t.run_uuid = r.run_uuid WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active' AND "
            "t.key = 'mlflow.parentRunId' AND t.value = ? ORDER BY r.start_time, r.run_uuid", (row[0], parent[0])
        ).fetchall()
        ids = [r[0] for r in runs]
        fields: dict[str, dict[str, dict]] = {i: {"tags": {}, "params": {}, "metrics": {}} for i in ids}
        marks = ",".join("?" * len(ids))
        for table, kind in (("tags", "tags"), ("params", "params")):
            for run_id, key, value in db.execute(f"SELECT run_uuid, key, value FROM {table} WHERE run_uuid IN ({marks})",
                                                 ids):
                fields[run_id][kind][key] = value
        for run_id, key, value, is_nan in db.execute(
                f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", ids):
            fields[run_id]["metrics"][key] = math.nan if is_nan else float(value)
        children = [SimpleNamespace(info=SimpleNamespace(run_id=i, run_name=name, status=status, start_time=start,
                                                         end_time=end, artifact_uri=artifacts),
                                    data=SimpleNamespace(**fields[i]))
                    for i, name, status, start, end, artifacts in runs]
        return parent[0], children

    def correctness(self, run_id: str) -> np.ndarray | None:
        """The run's ``test_correct.npy`` (:func:`~glorot.report.run_records.checked_correctness`),
        None when it is missing or unreadable."""
        if run_id not in self._correct:
            try:
                array = np.load(self._folders[run_id] / "test_correct.npy")
            except (OSError, ValueError, KeyError):
                array = None
            test_n = next((r.test_n for r in self.runs if r.run_id == run_id), None)
            self._correct[run_id] = checked_correctness(array, test_n)
        return self._correct[run_id]


def read_sweep(uri: str, study: str, root: str | Path, first_sweep: str) -> Any:
    """The study's latest sweep on ``uri``: read here for a local SQLite store (:class:`SqliteSweep`),
    else through MLflow; no sweep is the one-line error naming ``first_sweep``."""
    if store_missing(uri):
        raise no_sweep(study, uri, first_sweep)
    if uri.startswith("sqlite:///"):
        try:
            sweep = SqliteSweep(Path(uri[len("sqlite:///"):].split("?")[0]), study)
        except NotReadableHere:
            sweep = None
        if sweep is not None:
            if sweep.parent_id is None:
                raise no_sweep(study, uri, first_sweep)
            if not sweep.runs:
                raise GlorotError(f"the sweep {sweep.parent_id} of study {study!r} has no runs yet")
            return sweep
    from glorot.report.collect import open_study  # MLflow: only for what this module cannot read

    return open_study(uri, study, root, first_sweep=first_sweep)
