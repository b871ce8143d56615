"""A sweep's results at a glance: one row per configuration (its latest attempt) with its grid
point, status and errors beside the paper's Table 1 value (Glorot & Bengio 2010, Table 1:
test error of networks with 5 hidden layers), as a text table, as the JSON summary of the
``sweep`` stage (``results/<study>/summary.json``, names and statuses) and as its numbers only
(``runs.json`` beside it: ``dvc metrics diff --targets results/<study>/runs.json``). Both are
DVC outputs and hold only what the results decide; where the sweep is in MLflow (parent run,
store, model versions) goes to ``tracking.json`` beside them, which DVC does not hash.
"""

from __future__ import annotations

import json
import math
import os
import shlex
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from glorot.atomic import atomic_write_text
from glorot.config import DATASET_TITLES
from glorot.errors import GlorotError
from glorot.paper.selection import Trial, choose_lr, rate_means
from glorot.paper.table1 import table1_error
from glorot.pipeline.run_config import run_config
from glorot.pipeline.store import store_label

if TYPE_CHECKING:  # reading a summary file needs no MLflow
    from glorot.pipeline.tracking import Tracker

#: The numbers-only file written beside the summary (:func:`numeric_runs`).
RUNS_FILE = "runs.json"
#: Where the sweep is in MLflow, beside the summary: not a DVC output (:func:`write_summary`).
TRACKING_FILE = "tracking.json"


def sweep_rows(tracker: Tracker, parent_id: str) -> list[dict]:
    """One row per configuration of a sweep (its latest attempt): network, data set, depth,
    width, learning rate, seed, updates (read by :func:`~glorot.pipeline.run_config.run_config`,
    which refuses a run with a missing or malformed param), status, errors (%) and the paper's error."""
    latest = {run.data.tags.get("glorot.config_key", run.info.run_id): run for run in tracker.child_runs(parent_id)}
    rows = []
    for run in latest.values():
        config, m = run_config(run), run.data.metrics
        rows.append({
            "run_id": run.info.run_id, "network": config.paper_name, "dataset": config.dataset,
            "depth": config.depth, "width": config.width, "lr": config.lr, "seed": config.seed,
            "updates": config.updates, "status": run.data.tags.get("status", run.info.status.lower()),
            "valid_error_pct": 100 * m["final/valid_error"] if "final/valid_error" in m else None,
            "test_error_pct": 100 * m["final/test_error"] if "final/test_error" in m else None,
            "paper_test_error_pct": table1_error(config.paper_name, config.dataset) if config.depth == 5 else None,
        })
    return rows


def row_trial(row: dict) -> Trial:
    """A row of :func:`sweep_rows` as the selection rule's :class:`~glorot.paper.selection.Trial`."""
    valid = None if row["valid_error_pct"] is None else row["valid_error_pct"] / 100
    return Trial(row["lr"], row["seed"], valid, row["status"] == "completed" and row["test_error_pct"] is not None)


def network_metrics(rows: list[dict]) -> dict[str, float]:
    """A sweep's summary metrics, comparable across sweeps: per data set and network (and depth
    and width, ``/d<depth>_w<width>``, where the sweep ran that network on several), the
    validation and test error (fractions, means over seeds) at the learning rate
    :func:`glorot.paper.selection.choose_lr` chooses (the paper's choice, Section 2.3; the
    rate Table 1 and ``glorot train``'s grid choose), as ``valid_error/<dataset>/<network>``
    and ``test_error/<dataset>/<network>``; networks with no eligible rate are left out."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["network"], r["depth"], r["width"])].append(r)
    designs = Counter(key[:2] for key in groups)
    metrics = {}
    for (dataset, network, depth, width), group in sorted(groups.items()):
        name = f"{dataset}/{network}" + (f"/d{depth}_w{width}" if designs[dataset, network] > 1 else "")
        trials = [row_trial(r) for r in group]
        try:
            means, lr = rate_means(trials), choose_lr(trials)
        except ValueError as e:
            raise GlorotError(f"{name}: {e}") from None
        if lr is None:
            continue
        metrics[f"valid_error/{name}"] = means[lr]
        tests = [r["test_error_pct"] / 100 for r in group if r["lr"] == lr]
        metrics[f"test_error/{name}"] = sum(tests) / len(tests)
    return dict(sorted(metrics.items()))


def row_key(row: dict) -> str:
    """A row's name in the JSON summary: its grid point, e.g. ``Tanh N / shapeset / d5 / w500 / lr0.05 / s0``."""
    return (f"{row['network']} / {row['dataset']} / d{row['depth']} / w{row['width']} / lr{row['lr']:g} / "
            f"s{row['seed']}")


def format_rows(rows: list[dict]) -> str:
    """The sweep's rows as a text table, test error beside the paper's Table 1 value."""
    def pct(v):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"
    lines = [f"{'network':<12} {'data set':<15} {'depth':>5} {'width':>5} {'lr':>8} {'seed':>4} {'status':<10} "
             f"{'valid %':>8} {'test %':>8} {'paper %':>8}"]
    for r in rows:
        lines.append(f"{r['network']:<12} {DATASET_TITLES.get(r['dataset'], r['dataset']):<15} {r['depth']:>5} "
                     f"{r['width']:>5} {r['lr']:>8g} {r['seed']:>4} {r['status']:<10} {pct(r['valid_error_pct']):>8} "
                     f"{pct(r['test_error_pct']):>8} {pct(r['paper_test_error_pct']):>8}")
    return "\n".join(lines)


def numeric_runs(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Each configuration's numbers, for ``dvc metrics diff`` between commits: numbers only,
    ``{<row_key>: {valid_error_pct, test_error_pct, updates}}`` (:func:`row_key`), every learning
    rate of the grid apart; an error that a run has not (diverged, failed) is left out rather
    than written as a string or a null."""
    doc = {}
    for r in rows:
        errors = {k: round(r[k], 4) for k in ("valid_error_pct", "test_error_pct")
                  if r[k] is not None and math.isfinite(r[k])}
        doc[row_key(r)] = {**errors, "updates": r["updates"]}
    return doc


def write_summary(path: str | Path, study: str, parent_id: str, rows: list[dict],
                  registered: dict[str, str], store: str) -> Path:
    """The sweep's summary as JSON: status and errors per configuration (:func:`row_key`); beside
    it ``runs.json``, the same configurations' numbers only (:func:`numeric_runs`). DVC hashes
    both, so they hold nothing that differs between two sweeps of the same code on the same data
    (``dvc repro`` of a fresh clone leaves ``dvc.lock`` as it was): the parent run id, the
    tracking ``store`` (named without folders, :func:`~glorot.pipeline.store.store_label`) and
    the ``registered`` model versions go to ``tracking.json`` beside them (git-ignored, not a
    DVC output). Returns the summary's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"study": study,
           "runs": {row_key(r): {k: r[k] for k in ("status", "valid_error_pct", "test_error_pct", "updates")}
                    for r in rows}}
    where = {"study": study, "parent_run_id": parent_id, "tracking_store": store_label(store),
             "registered_models": registered}
    atomic_write_text(path.with_name(TRACKING_FILE), json.dumps(where, indent=2, sort_keys=True) + "\n")
    atomic_write_text(path.with_name(RUNS_FILE), json.dumps(numeric_runs(rows), indent=2, sort_keys=True) + "\n")
    return atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def first_sweep_command(study: str, default_study: str, params_file: str | Path = "params.yaml") -> str:
    """The command that runs a first sweep of ``study``: ``dvc repro`` for the study that
    ``params.yaml`` selects (data, sweep and report; plain ``dvc repro`` runs no other), else
    ``glorot sweep --study NAME`` (with ``--params`` for another parameters file). With
    ``MLFLOW_TRACKING_URI`` set, the flow with that variable: ``dvc repro`` does not see it (not a
    param) and calls the pipeline up to date however empty that store is."""
    own_file = Path(params_file).name == "params.yaml"
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if own_file and study == default_study and not env_uri:
        return "dvc repro"
    flow = f"glorot sweep --study {study}" + ("" if own_file else f" --params {params_file}")
    return f"MLFLOW_TRACKING_URI={shlex.quote(env_uri)} {flow}" if env_uri else flow
