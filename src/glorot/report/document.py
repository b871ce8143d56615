"""The report's text as blocks (:mod:`glorot.report.render`): the study and its scale, the
verdicts, Table 1 with its learning rates and significance tests, the figures, theory
(Section 4.2.1) against measurement, what was not run, and the rules of the verdicts."""

from __future__ import annotations

import json
import math
from collections import Counter

from glorot.config import DATASET_TITLES
from glorot.report.collect import StudySource
from glorot.report.figure_set import FigureSet
from glorot.report.records import (NOT_RUN, OK, PAPER_DEPTH, Cell, ColumnSignificance, DepthTable, Table1, TheoryRow,
                                   Verdict)
from glorot.report.render import Block, Bullets, DataTable, Heading, Image, Paragraph
from glorot.report.significance import ALPHA, MIN_SEEDS_FOR_T, WELCH, Z_TEST
from glorot.report.table1 import cell_text


def _fmt(v: float | None, spec: str = ".2f", signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, ("+" if signed else "") + spec)


def _title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def _header_blocks(study: str, source: StudySource, uri: str) -> list[Block]:
    runs = source.runs
    by_status = Counter(r.status for r in runs)
    commits = sorted({r.git_commit for r in runs if r.git_commit})
    versions = sorted({f"{r.dataset}: {r.data_version}" for r in runs if r.data_version})
    scale = (("data sets", sorted({_title(r.dataset) for r in runs})), ("depths", sorted({r.depth for r in runs})),
             ("widths", sorted({r.width for r in runs})), ("updates", sorted({r.updates for r in runs})),
             ("learning rates", sorted({r.lr for r in runs})), ("seeds", sorted({r.seed for r in runs})))
    return [
        Heading(1, f"Glorot & Bengio (2010), reproduced: study `{study}`"),
        Paragraph("Understanding the difficulty of training deep feedforward neural networks (AISTATS 2010). "
                  "Every number below was read back from MLflow: the latest sweep's parent run and its child runs."),
        Bullets([
            f"MLflow: `{uri}`, parent run `{source.parent_id}` ({source.parent.name}), "
            f"{len(runs)} child runs: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())),
            "scale: " + ", ".join(f"{k} {v}" for k, v in scale),
            "paper scale: 1000 units, 5 hidden layers, millions of updates (Table 1); a reduced study is "
            "expected to differ in the numbers, not necessarily in the ordering",
            "git commit(s): " + (", ".join(f"`{c}`" for c in commits) or "unknown"),
            "data version(s): " + (", ".join(versions) or "unknown"),
        ]),
    ]


def _verdict_numbers(v: Verdict) -> str:
    if not v.numbers:
        return v.evidence or "-"
    return v.evidence or json.dumps(v.numbers)


def _verdict_blocks(verdicts: list[Verdict]) -> list[Block]:
    return [
        Heading(2, "Verdicts"),
        Paragraph("Each claim is decided from this study's numbers by the rule given; **not run** means the study "
                  "lacks the runs to decide it."),
        DataTable(["claim", "paper", "verdict", "deciding numbers", "scale"],
                  [[v.claim, v.source, f"**{v.status}**", _verdict_numbers(v), v.scale or "-"] for v in verdicts]),
    ]


def _marked_cell(cell: Cell, sig: ColumnSignificance) -> str:
    """The cell's text, **bold** for the best of the column, † when it differs from it."""
    text = cell_text(cell)
    if cell.ok:
        comp = sig.comparisons.get(cell.network)
        if sig.best == cell.network:
            text = f"**{text}**"
        elif comp and comp.significant:
            text += " †"
    return text


def _table_rows(table: Table1, t: DepthTable) -> DataTable:
    """Table 1 at one depth: ours, the paper's and the difference per data set."""
    header = ["network"]
    for d in table.datasets:
        header += [f"{_title(d)} (ours)", "paper", "Δ"]
    rows = []
    for network in table.networks:
        row = [network]
        for d in table.datasets:
            cell = t.cell(network, d)
            row += [_marked_cell(cell, t.significance[d]), _fmt(cell.paper_pct), _fmt(cell.diff_pct, signed=True)]
        rows.append(row)
    return DataTable(header, rows)


def _detail_row(cell: Cell, sig: ColumnSignificance) -> list[str]:
    """A cell that ran: chosen learning rate, validation error per learning rate, seeds, test vs the best."""
    if cell.state != OK:
        return [_title(cell.dataset), cell.network, cell.state, "-", "-", "-", "-", "-"]
    lrs = ", ".join(f"{lr}: {_fmt(v.mean_valid_error_pct)}" + (f" ({v.diverged} diverged)" if v.diverged else "")
                    for lr, v in cell.lrs.items())
    comp = sig.comparisons.get(cell.network)
    if sig.best == cell.network:
        test, stat, p = "best", "-", "-"
    elif comp and comp.method:
        test = comp.method
        stat = (f"t = {comp.statistic:.3g}, df = {comp.df:.3g}" if comp.method == WELCH
                else f"z = {comp.statistic:.3g}")
        p = f"{comp.p:.3g}" + (" (differs)" if comp.significant else "")
    else:
        test, stat, p = "no test (test_n unknown)", "-", "-"
    return [_title(cell.dataset), cell.network, f"{cell.lr:g}", lrs, ", ".join(str(s) for s in cell.seeds), test,
            stat, p]


def _depth_table_blocks(table: Table1, t: DepthTable) -> list[Block]:
    blocks: list[Block] = [Heading(3, f"Table 1: test error (%), {t.label}")]
    if t.depth != PAPER_DEPTH:
        blocks.append(Paragraph("The paper's values are for 5 hidden layers: at this depth the difference is "
                                "not like-for-like."))
    trained = [c for c in t.cells.values() if c.ok]
    if trained and all(c.updates == 0 for c in trained):
        blocks.append(Paragraph("This study only measures networks at initialisation (0 updates): the errors "
                                "are those of untrained networks, not a reproduction of Table 1."))
    blocks.append(_table_rows(table, t))
    blocks.append(Paragraph(f"Mean ± standard deviation over seeds of the test error at the learning rate with "
                            f"the lowest mean validation error. **Bold**: the best network of the column; †: "
                            f"differs from the best at p < {ALPHA}; no mark: not distinguishable from the best "
                            f"at that level. Δ = ours − paper."))
    detail = [_detail_row(t.cell(n, d), t.significance[d]) for d in table.datasets for n in table.networks
              if t.cell(n, d).state != NOT_RUN]
    if detail:
        blocks.append(DataTable(["data set", "network", "chosen lr", "mean valid error (%) per lr", "seeds",
                                 "test vs best", "statistic", "p"], detail))
    return blocks


def _table1_blocks(table: Table1) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Table 1"),
        Paragraph(f"Learning rate chosen per cell (network × data set × depth) by the lowest mean final validation "
                  f"error over seeds, diverged runs ignored; cells the study did not run are 'not run'. "
                  f"Significance per column against the best network at p < {ALPHA}: {WELCH} when both cells have "
                  f"at least {MIN_SEEDS_FOR_T} seeds, otherwise a {Z_TEST} (n = the test-set size recorded with "
                  f"each run)."),
    ]
    for t in table.tables:
        blocks += _depth_table_blocks(table, t)
    return blocks


def _theory_row(r: TheoryRow) -> list:
    return [r.network, _title(r.dataset), r.seed, r.layer,
            f"{r.var_z_predicted:.4g}", f"{r.var_z_measured:.4g}",
            f"{r.var_z_measured / r.var_z_predicted:.3f}" if r.var_z_predicted else "-",
            f"{r.var_dCds_predicted:.4g}", f"{r.var_dCds_measured:.4g}",
            f"{r.var_dCds_measured / r.var_dCds_predicted:.3f}" if r.var_dCds_predicted else "-"]


def _theory_blocks(rows: list[TheoryRow], var_x_notes: dict[str, str]) -> list[Block]:
    """Section 4.2.1's variance predictions against the variances measured at update 0."""
    blocks: list[Block] = [
        Heading(2, "Theory against measurement (Section 4.2.1)"),
        Paragraph("Linear regime (f'(0) = 1, tanh and softsign), zero-mean independent weights: predicted "
                  "Var(z^i) = Var(x) · Π_{k≤i} n_{k-1} Var(W^k) and Var(dC/ds^i) = Var(dC/ds^d) · Π_{k=i+1..d} "
                  "n_k Var(W^k), with Var(W) = 1/(3 n_in) (standard) or 2/(n_in + n_out) (normalized). Measured: "
                  "act_std² and dCds_std² at update 0 on the probe set. Var(x) is measured on the run's probe set "
                  "(the first probe_size test examples); Var(dC/ds^d) is the top layer's measured value, so the "
                  "top layer agrees by construction and the comparison is about the change across layers."),
    ]
    if var_x_notes:
        blocks.append(Bullets([f"Var(x) of {_title(d)}: {note}" for d, note in var_x_notes.items()]))
    if not rows:
        blocks.append(Paragraph("Not run: the study has no tanh or softsign run with diagnostics at update 0."))
        return blocks
    blocks.append(DataTable(["network", "data set", "seed", "layer", "Var(z) predicted", "Var(z) measured",
                             "measured/predicted", "Var(dC/ds) predicted", "Var(dC/ds) measured",
                             "measured/predicted"], [_theory_row(r) for r in rows]))
    return blocks


def _not_run(table: Table1, verdicts: list[Verdict], figs: FigureSet) -> list[str]:
    missing = [f"{s.fig_id}: {s.reason}" for s in figs.skipped]
    for t in table.tables:
        empty = [f"{n} / {_title(d)}" for (n, d), c in t.cells.items() if c.state == NOT_RUN]
        if empty:
            missing.append(f"Table 1 cells ({t.label}) not run: " + ", ".join(empty))
    missing += [f"verdict '{v.claim}': {v.evidence}" for v in verdicts if v.status == NOT_RUN]
    return missing or ["nothing: every figure and verdict had data"]


def build_blocks(study: str, source: StudySource, table: Table1, verdicts: list[Verdict], figs: FigureSet,
                 theory_rows: list[TheoryRow], var_x_notes: dict[str, str], uri: str) -> list[Block]:
    """The whole report, in order."""
    blocks = _header_blocks(study, source, uri) + _verdict_blocks(verdicts) + _table1_blocks(table)
    blocks.append(Heading(2, "Figures"))
    blocks += [Image(f.path, f.caption) for f in sorted(figs.drawn, key=lambda f: f.fig_id)
               if not f.path.startswith("figures/theory")]
    blocks += _theory_blocks(theory_rows, var_x_notes)
    blocks += [Image(f.path, f.caption) for f in figs.drawn if f.path.startswith("figures/theory")]
    blocks += [Heading(2, "Not run"), Bullets(_not_run(table, verdicts, figs)),
               Heading(2, "Rules and thresholds"), Bullets([f"{v.claim}: {v.rule}" for v in verdicts])]
    return blocks
