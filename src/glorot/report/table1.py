"""Table 1 from a sweep's runs: test error (%) per network x data set, per depth (and width).

The paper chose each model's learning rate on the validation error (Section 2.3). Here,
for each cell (network x data set x depth) and each learning rate the study tried, the
mean final validation error over the seeds whose runs completed is computed; the learning
rate with the lowest one is chosen (diverged and failed runs never count), and the cell
reports the mean and standard deviation over seeds of the *test* error at that learning
rate. A study that sweeps several widths gets one table per depth and width (layer width
changes the model as much as depth does). A cell the study did not run is ``not run`` and
never filled in; a cell whose every run diverged is ``diverged`` (``failed`` when they
failed for another reason).

Every cell carries the paper's value (Table 1 is for 5 hidden layers) and the difference.
Significance (see :mod:`glorot.report.significance`): per data set and depth, every other
network with a result is compared with the best one (lowest mean test error).
"""

from __future__ import annotations

import math
from collections import defaultdict

from glorot.config import DATASET_TITLES, DATASETS
from glorot.paper.table1 import table1_error
from glorot.report.significance import ALPHA, compare
from glorot.pipeline.study import TABLE1_NETWORKS

PAPER_DEPTH = 5
OK, NOT_RUN, DIVERGED, FAILED = "ok", "not run", "diverged", "failed"


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: list[float]) -> float | None:
    """Sample standard deviation (n - 1); None for a single value."""
    if len(xs) < 2:
        return None
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _usable(run: dict) -> bool:
    return run.get("status") == "completed" and run.get("valid_error") is not None \
        and run.get("test_error") is not None and math.isfinite(run["valid_error"])


def select_lr(runs: list[dict]) -> tuple[float | None, dict[float, dict]]:
    """The learning rate with the lowest mean final validation error over completed seeds.

    Returns (chosen lr or None, per-lr summary {lr: {mean_valid_error_pct, completed, diverged,
    failed}}). Ties go to the smaller learning rate.
    """
    by_lr: dict[float, list[dict]] = defaultdict(list)
    for run in runs:
        by_lr[run["lr"]].append(run)
    summary = {}
    for lr in sorted(by_lr):
        group = by_lr[lr]
        done = [r for r in group if _usable(r)]
        summary[lr] = {
            "mean_valid_error_pct": 100 * _mean([r["valid_error"] for r in done]) if done else None,
            "completed": len(done),
            "diverged": sum(r.get("status") == "diverged" for r in group),
            "failed": sum(r.get("status") not in ("completed", "diverged") for r in group),
        }
    candidates = [lr for lr, s in summary.items() if s["mean_valid_error_pct"] is not None]
    chosen = min(candidates, key=lambda lr: (summary[lr]["mean_valid_error_pct"], lr)) if candidates else None
    return chosen, summary


def build_cell(network: str, dataset: str, depth: int, runs: list[dict], width: int | None = None) -> dict:
    """One cell of the table from the runs of that network x data set x depth (maybe none)."""
    paper = table1_error(network, dataset)
    cell = {"network": network, "dataset": dataset, "depth": depth, "width": width, "state": NOT_RUN,
            "paper_pct": paper,
            "like_for_like": depth == PAPER_DEPTH, "n_runs": len(runs)}
    if not runs:
        return cell
    lr, per_lr = select_lr(runs)
    cell["lrs"] = {f"{k:g}": v for k, v in per_lr.items()}
    if lr is None:
        cell["state"] = DIVERGED if any(r.get("status") == "diverged" for r in runs) else FAILED
        return cell
    chosen = sorted((r for r in runs if r["lr"] == lr and _usable(r)), key=lambda r: r["seed"])
    errors = [100 * r["test_error"] for r in chosen]
    test_ns = {r.get("test_n") for r in chosen if r.get("test_n")}
    mean = _mean(errors)
    cell.update({
        "state": OK, "lr": lr, "seeds": [r["seed"] for r in chosen], "run_ids": [r["run_id"] for r in chosen],
        "test_errors_pct": errors, "mean_pct": mean, "std_pct": _std(errors),
        "valid_error_pct": per_lr[lr]["mean_valid_error_pct"],
        "test_n": min(test_ns) if test_ns else None,
        "diverged_runs": sum(r.get("status") == "diverged" for r in runs),
        "updates": max(r["updates"] for r in chosen),
        "diff_pct": mean - paper if paper is not None else None,
    })
    return cell


def build_table(runs: list[dict]) -> dict:
    """Every cell (network x data set x depth) of the study's runs, with significance per column.

    Rows: the paper's five networks, then any other network the study ran; columns: the
    paper's four data sets; one table per depth the study ran (depth 5 if it ran none), and
    per width when the study ran several (``width`` is None in a table otherwise).
    """
    widths = sorted({r.get("width") for r in runs})
    several_widths = len(widths) > 1
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        groups[(run["network"], run["dataset"], run["depth"], run.get("width") if several_widths else None)].append(run)
    networks = list(TABLE1_NETWORKS) + sorted({r["network"] for r in runs} - set(TABLE1_NETWORKS))
    datasets = list(DATASETS) + sorted({r["dataset"] for r in runs} - set(DATASETS))
    depths = sorted({r["depth"] for r in runs}) or [PAPER_DEPTH]
    tables = []
    for depth in depths:
        for width in (widths if several_widths else [None]):
            cells = {(n, d): build_cell(n, d, depth, groups.get((n, d, depth, width), []), width)
                     for n in networks for d in datasets}
            if width is not None and not any(c["n_runs"] for c in cells.values()):
                continue
            significance = {d: column_significance([cells[(n, d)] for n in networks]) for d in datasets}
            tables.append({"depth": depth, "width": width, "cells": cells, "significance": significance})
    return {"networks": networks, "datasets": datasets, "depths": depths, "alpha": ALPHA, "tables": tables}


def table_key(table: dict) -> str:
    """``depth_5``, or ``depth_5_width_1000`` when the study swept several widths."""
    return f"depth_{table['depth']}" + (f"_width_{table['width']}" if table.get("width") is not None else "")


def column_significance(cells: list[dict]) -> dict:
    """For one data set: the best network and, for each other one, the test against it."""
    ok = [c for c in cells if c["state"] == OK]
    if not ok:
        return {"best": None, "comparisons": {}}
    best = min(ok, key=lambda c: c["mean_pct"])
    comparisons = {}
    for cell in ok:
        if cell is best:
            continue
        comparisons[cell["network"]] = compare(cell["test_errors_pct"], cell.get("test_n"),
                                               best["test_errors_pct"], best.get("test_n"))
    return {"best": best["network"], "comparisons": comparisons}


def cell_text(cell: dict) -> str:
    """The cell as the report prints it: ``15.60 ± 0.40`` or ``not run`` / ``diverged``."""
    if cell["state"] != OK:
        return cell["state"]
    text = f"{cell['mean_pct']:.2f}"
    if cell.get("std_pct") is not None:
        text += f" ± {cell['std_pct']:.2f}"
    if cell.get("diverged_runs"):
        text += f" ({cell['diverged_runs']} diverged)"
    return text


def metrics_json(table: dict, study: str, parent_run_id: str) -> dict:
    """The table as DVC metrics: ``<table_key>.<data set>.<network>.{test_error_pct, ...}``."""
    doc: dict = {"study": study, "parent_run_id": parent_run_id, "alpha": table["alpha"]}
    for t in table["tables"]:
        block: dict = {}
        for dataset in table["datasets"]:
            column: dict = {}
            sig = t["significance"][dataset]
            for network in table["networks"]:
                c = t["cells"][(network, dataset)]
                entry = {"status": c["state"], "paper_pct": c["paper_pct"]}
                if c["state"] == OK:
                    comp = sig["comparisons"].get(network)
                    entry.update({
                        "test_error_pct": round(c["mean_pct"], 4),
                        "std_pct": None if c["std_pct"] is None else round(c["std_pct"], 4),
                        "diff_pct": None if c["diff_pct"] is None else round(c["diff_pct"], 4),
                        "lr": c["lr"], "seeds": len(c["seeds"]), "updates": c["updates"],
                        "best": sig["best"] == network,
                        "p_vs_best": None if comp is None or comp["p"] is None else comp["p"],
                        "differs_from_best": None if comp is None else comp["significant"],
                        "test": None if comp is None else comp["method"],
                    })
                column[network] = entry
            block[DATASET_TITLES.get(dataset, dataset)] = column
        doc[table_key(t)] = block
    return doc
