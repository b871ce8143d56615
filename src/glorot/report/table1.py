"""Table 1 from a sweep's runs: test error (%) per network x data set, per depth (and width).

The paper chose each model's learning rate on the validation error (Section 2.3). Here,
for each cell (network x data set x depth) the rate is the one
:func:`glorot.paper.selection.choose_lr` chooses from the cell's runs (the rule ``glorot train``'s
grid and the sweep's summary use too: the lowest mean final validation error over seeds, a
rate at which a seed diverged or failed never), and the cell reports the mean and standard
deviation over seeds of the *test* error at that learning rate. A study that sweeps several widths gets one table per depth and width (layer width
changes the model as much as depth does). A cell the study did not run is ``not run`` and
never filled in; a cell whose every run diverged is ``diverged`` (``failed`` when they
failed for another reason).

Every cell carries the paper's value (Table 1 is for 5 hidden layers) and the difference,
and the design it ran (widths, updates, learning-rate grid, seeds) so that only like is
compared with like. Significance (see :mod:`glorot.report.significance`): per data set and
depth, every other network with a result is compared with the best one (lowest mean test
error), by Welch's t-test over seeds or McNemar's exact test on the test set.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from glorot.config import DATASET_TITLES, DATASETS
from glorot.errors import GlorotError
from glorot.paper.selection import Trial, choose_lr, rate_means
from glorot.paper.table1 import TABLE1, table1_error
from glorot.report.records import (DIVERGED, FAILED, NOT_RUN, OK, PAPER_DEPTH, RUNNING, Cell, ColumnSignificance,
                                   DepthTable, LrSummary, Run, Table1, no_artifact)
from glorot.report.significance import ALPHA, compare


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: list[float]) -> float | None:
    """Sample standard deviation (n - 1); None for a single value."""
    if len(xs) < 2:
        return None
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def trial(run: Run) -> Trial:
    """A run as a trial of the learning-rate rule (:mod:`glorot.paper.selection`): finished when
    it completed with both errors recorded."""
    return Trial(run.lr, run.seed, run.valid_error, run.status == "completed" and run.test_error is not None)


def select_lr(runs: list[Run]) -> tuple[float | None, dict[float, LrSummary]]:
    """The learning rate :func:`glorot.paper.selection.choose_lr` chooses for one cell's runs,
    and a summary per learning rate: the mean final validation error (%) the rule compared
    (:func:`~glorot.paper.selection.rate_means`; None for a rate at which a seed diverged or
    failed) and how many runs completed, diverged and failed. Grids whose eligible rates share
    no seed are a one-line :class:`GlorotError`."""
    trials = [trial(r) for r in runs]
    try:
        means, chosen = rate_means(trials), choose_lr(trials)
    except ValueError as e:
        raise GlorotError(f"{runs[0].network} / {runs[0].dataset} d{runs[0].depth}: {e}") from None
    summary = {lr: LrSummary(
        mean_valid_error_pct=100 * means[lr] if lr in means else None,
        completed=sum(t.finished for t in trials if t.lr == lr),
        diverged=sum(r.status == "diverged" for r in runs if r.lr == lr),
        failed=sum(r.status not in ("completed", "diverged", "running") for r in runs if r.lr == lr),
    ) for lr in sorted({r.lr for r in runs})}
    return chosen, summary


def _design(runs: list[Run]) -> dict:
    """What the cell's runs were asked to do, whatever came of it (for like-with-like checks)."""
    return {"widths": tuple(sorted({r.width for r in runs})), "updates_run": tuple(sorted({r.updates for r in runs})),
            "lr_grid": tuple(sorted({r.lr for r in runs})), "seeds_run": tuple(sorted({r.seed for r in runs}))}


def build_cell(network: str, dataset: str, depth: int, runs: list[Run], width: int | None = None) -> Cell:
    """One cell of the table from the runs of that network x data set x depth (maybe none)."""
    paper = table1_error(network, dataset)
    cell = Cell(network, dataset, depth, NOT_RUN, width=width, paper_pct=paper, n_runs=len(runs))
    if not runs:
        return cell
    lr, per_lr = select_lr(runs)
    lrs = {f"{k:g}": v for k, v in per_lr.items()}
    design = _design(runs)
    if lr is None:
        statuses = {r.status for r in runs}
        state = RUNNING if "running" in statuses else DIVERGED if "diverged" in statuses else FAILED
        return Cell(network, dataset, depth, state, width=width, paper_pct=paper, n_runs=len(runs), lrs=lrs,
                    **design)
    chosen = sorted((r for r in runs if r.lr == lr), key=lambda r: r.seed)  # every seed finished (eligible)
    errors = [100 * r.test_error for r in chosen]
    test_ns = {r.test_n for r in chosen if r.test_n}
    mean = _mean(errors)
    return Cell(
        network, dataset, depth, OK, width=width, paper_pct=paper, n_runs=len(runs), lrs=lrs, lr=lr, **design,
        seeds=tuple(r.seed for r in chosen), run_ids=tuple(r.run_id for r in chosen),
        test_errors_pct=tuple(errors), mean_pct=mean, std_pct=_std(errors),
        valid_error_pct=per_lr[lr].mean_valid_error_pct,
        test_n=min(test_ns) if test_ns else None,
        diverged_runs=sum(r.status == "diverged" for r in runs),
        updates=max(r.updates for r in chosen),
        diff_pct=mean - paper if paper is not None else None,
    )


def build_table(runs: list[Run], correct: Callable[[str], np.ndarray | None] = no_artifact) -> Table1:
    """Every cell (network x data set x depth) of the study's runs, with significance per column.

    Rows: the paper's five networks, then any other network the study ran; columns: the
    paper's four data sets; one table per depth the study ran (depth 5 if it ran none), and
    per width when the study ran several (``width`` is None in a table otherwise). ``correct``
    looks up a run's per-example test correctness (``test_correct.npy``) for McNemar's test.
    """
    widths = sorted({r.width for r in runs})
    several_widths = len(widths) > 1
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.network, run.dataset, run.depth, run.width if several_widths else None)].append(run)
    networks = tuple(TABLE1) + tuple(sorted({r.network for r in runs} - set(TABLE1)))
    datasets = tuple(DATASETS) + tuple(sorted({r.dataset for r in runs} - set(DATASETS)))
    depths = tuple(sorted({r.depth for r in runs})) or (PAPER_DEPTH,)
    tables = []
    for depth in depths:
        for width in (widths if several_widths else [None]):
            cells = {(n, d): build_cell(n, d, depth, groups.get((n, d, depth, width), []), width)
                     for n in networks for d in datasets}
            if width is not None and not any(c.n_runs for c in cells.values()):
                continue
            significance = {d: column_significance([cells[(n, d)] for n in networks], correct) for d in datasets}
            tables.append(DepthTable(depth, width, cells, significance))
    return Table1(networks, datasets, depths, ALPHA, tuple(tables))


def column_significance(cells: list[Cell],
                        correct: Callable[[str], np.ndarray | None] = no_artifact) -> ColumnSignificance:
    """For one data set: the best network and, for each other one, the test against it."""
    ok = [c for c in cells if c.ok]
    if not ok:
        return ColumnSignificance(None, {})
    best = min(ok, key=lambda c: c.mean_pct)
    comparisons = {cell.network: compare(cell, best, correct) for cell in ok if cell is not best}
    return ColumnSignificance(best.network, comparisons)


def cell_text(cell: Cell) -> str:
    """The cell as the report prints it: ``15.60 ± 0.40`` or ``not run`` / ``diverged``."""
    if not cell.ok:
        return cell.state
    text = f"{cell.mean_pct:.2f}"
    if cell.std_pct is not None:
        text += f" ± {cell.std_pct:.2f}"
    if cell.diverged_runs:
        text += f" ({cell.diverged_runs} diverged)"
    return text


def _metrics_entry(cell: Cell, sig: ColumnSignificance) -> dict:
    entry = {"status": cell.state, "paper_pct": cell.paper_pct}
    if cell.ok:
        comp = sig.comparisons.get(cell.network)
        entry.update({
            "test_error_pct": round(cell.mean_pct, 4),
            "valid_error_pct": None if cell.valid_error_pct is None else round(cell.valid_error_pct, 4),
            "std_pct": None if cell.std_pct is None else round(cell.std_pct, 4),
            "diff_pct": None if cell.diff_pct is None else round(cell.diff_pct, 4),
            "lr": cell.lr, "seeds": len(cell.seeds), "updates": cell.updates,
            "best": sig.best == cell.network,
            "p_vs_best": None if comp is None or comp.p is None else comp.p,
            "differs_from_best": None if comp is None else comp.significant,
            "test": None if comp is None else comp.method,
            "power": None if comp is None or comp.power is None else round(comp.power, 4),
            "not_decided": None if comp is None or comp.method else comp.reason,
        })
    return entry


def metrics_json(table: Table1, study: str) -> dict:
    """The whole table as JSON (``table1.json``): ``<table key>.<data set>.<network>.{status,
    test_error_pct, valid_error_pct, ...}``, names and statuses included; DVC's metrics are
    :func:`numeric_metrics`. Only what the runs' results decide (no run id): a DVC output."""
    doc: dict = {"study": study, "alpha": table.alpha}
    for t in table.tables:
        doc[t.key] = {DATASET_TITLES.get(d, d): {n: _metrics_entry(t.cell(n, d), t.significance[d])
                                                 for n in table.networks}
                      for d in table.datasets}
    return doc


def numeric_metrics(table: Table1) -> dict[str, float]:
    """The DVC metrics (``metrics.json``): Table 1's test error (%, mean over seeds at the chosen
    rate) per cell with a result, named by its network alone, ``{"Tanh N": 15.6, ...}``, with
    ``/<data set>`` where cells of several data sets have results and ``/<d5 or d5_w1000>``
    where cells of several tables do. One short column per network, so that ``dvc metrics
    show`` reads at a glance; the validation errors, the paper's values and the tests are in
    ``table1.json``."""
    results = [(network, dataset, t.tag, t.cell(network, dataset).mean_pct) for t in table.tables
               for network in table.networks for dataset in table.datasets if t.cell(network, dataset).ok]
    results = [r for r in results if r[3] is not None and math.isfinite(r[3])]
    several_datasets, several_tables = (len({r[i] for r in results}) > 1 for i in (1, 2))
    return {network + (f"/{dataset}" if several_datasets else "") + (f"/{tag}" if several_tables else ""):
            round(value, 4) for network, dataset, tag, value in results}
