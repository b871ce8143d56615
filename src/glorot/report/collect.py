"""Read one study's latest sweep back from MLflow as records (:mod:`glorot.report.records`).

Everything the report shows comes from the tracking store: the sweep's parent run and its
child runs (params, tags, final metrics), the step-indexed metric histories (learning
curves and per-layer diagnostics) and two artifacts of a run, downloaded through the client:
``diagnostics.npz`` (the histogram figures) and ``test_correct.npy`` (1 where the final net
classifies a test example correctly, in the test set's fixed order: McNemar's test). MLflow is reached only through
:class:`glorot.pipeline.tracking.Tracker` and the ``MlflowClient`` it holds (``tracker.client``).

A child run becomes a :class:`~glorot.report.records.Run`, one per configuration (the latest
attempt, see :func:`~glorot.report.run_records.latest_attempts`); :meth:`StudySource.diagnostics` fills in its
``series`` (metric key -> :class:`~glorot.report.records.Series`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from glorot.config import DATASET_TITLES
from glorot.errors import GlorotError
from glorot.paper.names import NETWORK_SCALARS, SCALARS
from glorot.pipeline.store import no_sweep, store_missing
from glorot.pipeline.tracking import Tracker
from glorot.report.records import Histograms, Run, Series, Sweep
from glorot.report.run_records import checked_correctness, latest_attempts, run_record

CURVE_KEYS = ("train/nll", "valid/error", "test/error")
HISTORY_THREADS = 8


def _read_histograms(path: str) -> Histograms | None:
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return Histograms(arrays) if arrays else None


class StudySource:
    """One sweep of a study in MLflow: its runs as records, histories and histograms on demand."""

    def __init__(self, tracker: Tracker, parent_id: str) -> None:
        self.tracker, self.client, self.parent_id = tracker, tracker.client, parent_id
        parent = self.client.get_run(parent_id)
        self.parent = Sweep(run_id=parent_id, name=parent.info.run_name, status=parent.info.status,
                            start_time=parent.info.start_time, tags=dict(parent.data.tags))
        self.runs = latest_attempts([run_record(r) for r in tracker.child_runs(parent_id)])
        self._npz: dict[str, Histograms | None] = {}
        self._correct: dict[str, np.ndarray | None] = {}

    def series(self, record: Run) -> dict[str, Series]:
        """The run's curves, per-layer and network-wide diagnostics that it recorded, each by step."""
        keys = (list(CURVE_KEYS) + [f"L{i}/{s}" for i in record.layers for s in SCALARS]
                + [f"net/{s}" for s in NETWORK_SCALARS])
        history = self.client.get_metric_history
        out = {}
        for key in keys:
            points = sorted((m.step, m.value) for m in history(record.run_id, key))
            if points:
                out[key] = Series.of(points)
        return out

    def diagnostics(self, records: list[Run]) -> list[Run]:
        """Copies of ``records`` with their ``series`` filled in (fetched in parallel)."""
        with ThreadPoolExecutor(max_workers=HISTORY_THREADS) as pool:
            all_series = list(pool.map(self.series, records))
        return [r.with_series(s) for r, s in zip(records, all_series)]

    def _artifact(self, run_id: str, name: str, read: Callable[[str], Any]) -> Any:
        """``read(path)`` of the run's artifact ``name``; None when it is missing or unreadable."""
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                return read(self.client.download_artifacts(run_id, name, tmp))
        except Exception:  # an artifact missing or unreadable: the figure or test is skipped, not the report
            return None

    def histograms(self, run_id: str) -> Histograms | None:
        """The run's ``diagnostics.npz``; None when it is missing, unreadable or empty."""
        if run_id not in self._npz:
            self._npz[run_id] = self._artifact(run_id, "diagnostics.npz", _read_histograms)
        return self._npz[run_id]

    def correctness(self, run_id: str) -> np.ndarray | None:
        """The run's ``test_correct.npy`` as 0/1 ``uint8``, one per test example; None when it is
        missing, unreadable, not a 0/1 vector, or not as long as the run's test set (tag ``test_n``)."""
        if run_id not in self._correct:
            array = self._artifact(run_id, "test_correct.npy", np.load)
            test_n = next((r.test_n for r in self.runs if r.run_id == run_id), None)
            self._correct[run_id] = checked_correctness(array, test_n)
        return self._correct[run_id]

    def log_report(self, folder: Path, artifact_path: str = "report") -> None:
        """Attach the report folder to the sweep's parent run."""
        self.client.log_artifacts(self.parent_id, str(folder), artifact_path)
        self.client.set_tag(self.parent_id, "glorot.report", f"{artifact_path}/report.html")


def open_study(uri: str, study: str, root: str | Path, parent_id: str | None = None,
               first_sweep: str | None = None) -> StudySource:
    """The study's latest sweep (or the sweep ``parent_id``) on the tracking store ``uri``;
    with no sweep yet, an error naming the command ``first_sweep`` that runs one
    (default: ``glorot sweep --study NAME``)."""
    empty = no_sweep(study, uri, first_sweep or f"glorot sweep --study {study}")  # before opening the store sets
    if store_missing(uri):                                                     # MLFLOW_TRACKING_URI (mlflow does)
        raise empty
    tracker = Tracker(uri, study, root)
    if parent_id is None:
        parent_id = tracker.latest_parent()
        if parent_id is None:
            raise empty
    else:
        runs = tracker.client.search_runs([tracker.experiment_id], f"attributes.run_id = '{parent_id}'")
        if not runs or runs[0].data.tags.get("glorot.kind") != "sweep":
            raise GlorotError(f"invalid parent: {parent_id!r} is not a sweep run of study {study!r} in {uri}")
    source = StudySource(tracker, parent_id)
    if not source.runs:
        raise GlorotError(f"the sweep {parent_id} of study {study!r} has no runs yet")
    return source


def dataset_title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)
