"""The files a sweep leaves in MLflow: each child run's diagnostics and figures, and the
parent run's table of results (DESIGN.md). A part of :class:`~glorot.pipeline.tracking.Tracker`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from glorot.config import TrainConfig

if TYPE_CHECKING:
    from glorot.engine import TrainResult

RESULTS_TABLE = "results.json"  # the parent run's table of results (mlflow.log_table), a row per configuration


class RunArtifacts:
    """Artifacts of a study's runs on the tracking store that ``client`` opens."""

    client: MlflowClient

    def record_results(self, parent_id: str, metrics: dict[str, float], rows: list[dict]) -> None:
        """A sweep's results on its parent run: summary ``metrics`` and the table of ``rows``
        (:data:`RESULTS_TABLE`, ``mlflow.log_table``); a continued sweep adds only the rows whose
        run or status changed."""
        now = int(time.time() * 1000)
        self.client.log_batch(parent_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        table = {"columns": ["run_id", "status"], "data": []}
        if RESULTS_TABLE in {a.path for a in self.client.list_artifacts(parent_id)}:
            table = mlflow.artifacts.load_dict(f"{self.client.get_run(parent_id).info.artifact_uri}/{RESULTS_TABLE}")
        run, status = table["columns"].index("run_id"), table["columns"].index("status")
        new = [r for r in rows if (r["run_id"], r["status"]) not in {(t[run], t[status]) for t in table["data"]}]
        if new:
            self.client.log_table(parent_id, {k: [r[k] for r in new] for k in new[0]}, RESULTS_TABLE)

    def log_diagnostics(self, run_id: str, config: TrainConfig, result: TrainResult, tmp: Path) -> None:
        """A finished run's diagnostics (the probes of Section 4: ``diagnostics.npz`` and ``.json``),
        learning curve, per-test-example correctness and the histogram figures of its first and
        last probe (Figures 4, 6-8), written in ``tmp`` and logged (repeating overwrites them)."""
        from glorot.pipeline import run_figures as plots  # here, not above: reading runs needs no matplotlib
        from glorot.pipeline.rundir import probe_arrays  # nor torch

        np.savez_compressed(tmp / "diagnostics.npz", **probe_arrays(result.probes))
        (tmp / "diagnostics.json").write_text(json.dumps([r.to_json() for r in result.probes], indent=1))
        (tmp / "curve.json").write_text(json.dumps(result.curve, indent=1))
        if result.test_correct is not None:  # per test example, for paired tests (McNemar) in the report
            np.save(tmp / "test_correct.npy", result.test_correct)
        plots.learning_curve(result.curve, config.paper_cell, tmp / "learning_curve.png")
        figures = tmp / "figures"
        figures.mkdir()
        for record in (result.probes[0], result.probes[-1]) if result.probes else ():
            for quantity in ("act", "dCds", "dCdW"):
                plots.layer_histograms(record.histograms, quantity, config.depth,
                                       f"{config.paper_cell}: {quantity} at update {record.update}",
                                       figures / f"{quantity}_u{record.update}.png")
        self.client.log_artifacts(run_id, str(tmp))
