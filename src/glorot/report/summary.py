"""``glorot summary``: a study's latest sweep as the paper's Table 1, in the terminal (issue 23).

One row per network and data set (and depth and width) that the sweep ran, data set by data
set, networks in the paper's order (Softsign, Softsign N, Tanh, Tanh N, Sigmoid, then any
other): the learning rate chosen on validation error (Section 2.3,
:func:`glorot.paper.selection.choose_lr`, through :func:`glorot.report.table1.build_table`, the
report's own Table 1), our test error (mean ± sd over seeds, and how many seeds), the paper's
(Table 1 holds 5 hidden layers only), the difference, and the test against the column's best
(:func:`glorot.report.table1.column_significance`); then a line on the scale against the
paper's (1000 units, millions of updates). With ``every_run``, every configuration follows,
sorted, its cell's chosen rate marked ``*``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from glorot.config import DATASET_TITLES
from glorot.report.records import NOT_RUN, Cell, ColumnSignificance, DepthTable, Run, Table1
from glorot.report.table1 import cell_text

#: The paper's scale (Section 2.3, Table 1): hidden layers of 1000 units, millions of updates.
PAPER_SCALE = "the paper: 5 hidden layers of 1000 units, millions of updates"
CHOSEN = "*"


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return format(value, "+.2f" if signed else ".2f")


def _title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def versus_best(cell: Cell, sig: ColumnSignificance) -> str:
    """The cell against its column's best: ``best``, ``differs (p 0.003, <test>)``, ``same (p
    0.4, <test>)``, or ``not decided``."""
    if sig.best == cell.network:
        return "best"
    comp = sig.comparisons.get(cell.network)
    if comp is None or comp.method is None:
        return "not decided"
    return f"{'differs' if comp.significant else 'same'} (p {comp.p:.2g}, {comp.method})"


def _cells(table: Table1) -> list[tuple[DepthTable, Cell]]:
    """The cells that ran (or tried to), in the table's order: depth (width), data set, network."""
    return [(t, t.cell(n, d)) for t in table.tables for d in table.datasets for n in table.networks
            if t.cell(n, d).state != NOT_RUN]


def table_text(table: Table1) -> str:
    """Table 1 as text, one row per cell that ran (:func:`_cells`), and the reasons of the
    comparisons that were not decided (once each)."""
    lines = [f"{'network':<12} {'data set':<14} {'depth':>5} {'width':>5} {'chosen lr':>9} {'ours: test %':<24} "
             f"{'seeds':>5} {'paper %':>7} {'Δ':>7}  vs the column's best"]
    reasons: dict[str, None] = {}
    for t, cell in _cells(table):
        sig = t.significance[cell.dataset]
        paper = cell.paper_pct if cell.like_for_like else None
        versus = versus_best(cell, sig) if cell.ok else "-"
        comp = sig.comparisons.get(cell.network)
        if versus == "not decided" and comp is not None:
            reasons[comp.reason] = None
        lines.append(f"{cell.network:<12} {_title(cell.dataset):<14} {cell.depth:>5} "
                     f"{'/'.join(map(str, cell.widths)):>5} {'-' if cell.lr is None else f'{cell.lr:g}':>9} "
                     f"{cell_text(cell):<24} {len(cell.seeds):>5} {_pct(paper):>7} "
                     f"{_pct(cell.diff_pct if paper is not None else None, signed=True):>7}  {versus}")
    lines += [f"not decided: {reason}" for reason in reasons]
    return "\n".join(lines)


def scale_text(runs: Sequence[Run]) -> str:
    """The sweep's scale beside the paper's: depths, widths and updates it ran."""
    def values(name: str) -> str:
        return "/".join(f"{v:,}" for v in sorted({getattr(r, name) for r in runs}))
    return (f"scale: {values('depth')} hidden layers of {values('width')} units, {values('updates')} updates "
            f"({PAPER_SCALE}: the numbers are expected to differ, not necessarily the ordering)")


def _chosen_lr(table: Table1, run: Run) -> float | None:
    for t in table.tables:
        if t.depth == run.depth and t.width in (None, run.width) and (run.network, run.dataset) in t.cells:
            return t.cell(run.network, run.dataset).lr
    return None


def runs_text(table: Table1, runs: Sequence[Run]) -> str:
    """Every configuration, sorted as the table (depth, width, data set, network) then by
    learning rate and seed, ``*`` marking its cell's chosen rate."""
    dataset_order = {d: i for i, d in enumerate(table.datasets)}
    network_order = {n: i for i, n in enumerate(table.networks)}
    ordered = sorted(runs, key=lambda r: (r.depth, r.width, dataset_order.get(r.dataset, len(dataset_order)),
                                          network_order.get(r.network, len(network_order)), r.lr, r.seed))
    lines = [f"  {'network':<12} {'data set':<14} {'depth':>5} {'width':>5} {'lr':>9} {'seed':>4} {'status':<10} "
             f"{'valid %':>8} {'test %':>8}"]
    for r in ordered:
        mark = CHOSEN if _chosen_lr(table, r) == r.lr else " "
        valid, test = (None if e is None else 100 * e for e in (r.valid_error, r.test_error))
        lines.append(f"{mark} {r.network:<12} {_title(r.dataset):<14} {r.depth:>5} {r.width:>5} {r.lr:>9g} "
                     f"{r.seed:>4} {r.status:<10} {_pct(valid):>8} {_pct(test):>8}")
    return "\n".join(lines + [f"{CHOSEN}: the learning rate chosen for its network (lowest mean validation error "
                              f"over seeds, Section 2.3)"])


def summary_text(table: Table1, runs: Sequence[Run], every_run: bool = False) -> str:
    """What ``glorot summary`` prints: Table 1 (:func:`table_text`), the scale line
    (:func:`scale_text`) and, with ``every_run``, every configuration (:func:`runs_text`)."""
    parts = [table_text(table), scale_text(runs)]
    if every_run:
        parts += ["", "every configuration:", runs_text(table, runs)]
    return "\n".join(parts)
