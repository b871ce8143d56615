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
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT, CHANCE_ERROR_PCT
from glorot.report.records import (NOT_DECIDED, NOT_RUN, OK, PAPER_DEPTH, Cell, ColumnSignificance, DepthTable, Table1,
                                   TheoryRow, Verdict)
from glorot.report.render import Block, Bullets, DataTable, Heading, Image, Paragraph
from glorot.report.significance import ALPHA, MCNEMAR, MIN_SEEDS_FOR_T, WELCH
from glorot.report.table1 import cell_text
from glorot.report.verdicts.judge import POWER_TO_DECIDE


def _fmt(v: float | None, spec: str = ".2f", signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, ("+" if signed else "") + spec)


def _title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def _header_blocks(study: str, source: StudySource) -> list[Block]:
    """The study, its runs and scale, its data versions. No tracking store, run id or git commit:
    a DVC output holds only what the results decide (those are in ``tracking.json`` beside it)."""
    runs = source.runs
    by_status = Counter(r.status for r in runs)
    versions = sorted({f"{r.dataset}: {r.data_version}" for r in runs if r.data_version})
    scale = (("data sets", sorted({_title(r.dataset) for r in runs})), ("depths", sorted({r.depth for r in runs})),
             ("widths", sorted({r.width for r in runs})), ("updates", sorted({r.updates for r in runs})),
             ("learning rates", sorted({r.lr for r in runs})), ("seeds", sorted({r.seed for r in runs})))
    return [
        Heading(1, f"Glorot & Bengio (2010), reproduced: study `{study}`"),
        Paragraph("Understanding the difficulty of training deep feedforward neural networks (AISTATS 2010). "
                  "Every number below was read back from MLflow: the latest sweep's parent run and its child runs."),
        Bullets([
            f"MLflow: {len(runs)} child runs of the study's latest sweep: "
            + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
            + "; its tracking store, parent run and git commit(s) are in `tracking.json` beside this report",
            "scale: " + ", ".join(f"{k} {v}" for k, v in scale),
            "paper scale: 1000 units, 5 hidden layers, millions of updates (Table 1); a reduced study is "
            "expected to differ in the numbers, not necessarily in the ordering",
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
        Paragraph("Each claim is decided from this study's numbers by the rule given; **not decided** means the "
                  "study ran what the claim needs but at a scale that cannot decide it (the reason follows: a "
                  "network at chance, a test without the power to see the paper's effect, cells that are not like "
                  "with like); **not run** means the study lacks the runs to decide it."),
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
        return [_title(cell.dataset), cell.network, cell.state, "-", "-", "-", "-", "-", "-"]
    lrs = ", ".join(f"{lr}: {_fmt(v.mean_valid_error_pct)}" + (f" ({v.diverged} diverged)" if v.diverged else "")
                    for lr, v in cell.lrs.items())
    test, stat, p, power = _test_columns(cell, sig)
    return [_title(cell.dataset), cell.network, f"{cell.lr:g}", lrs, ", ".join(str(s) for s in cell.seeds), test,
            stat, p, power]


def _test_columns(cell: Cell, sig: ColumnSignificance) -> tuple[str, str, str, str]:
    """(test, statistic, p, power) of the cell against the best of its column."""
    comp = sig.comparisons.get(cell.network)
    if sig.best == cell.network:
        return "best", "-", "-", "-"
    if comp is None or comp.method is None:
        return "not decided: " + (comp.reason if comp else "no test"), "-", "-", "-"
    p = f"{comp.p:.3g}" + (" (differs)" if comp.significant else "")
    return comp.method, comp.detail, p, _fmt(comp.power, ".2f")


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
                                 "test vs best", "statistic", "p", f"power at p < {ALPHA}"], detail))
    return blocks


def _statistics_text() -> list[str]:
    chance = ", ".join(f"{_title(d)} {v:.1f}%" for d, v in CHANCE_ERROR_PCT.items())
    return [
        f"{WELCH} when both cells have at least {MIN_SEEDS_FOR_T} seeds (scipy.stats.ttest_ind, equal_var=False); "
        f"its power to detect the observed difference d with standard error se = sqrt(v_a/n_a + v_b/n_b) and Welch "
        f"degrees of freedom df is P(|T'| > t_(1-α/2, df)) for T' ~ noncentral t(df, |d|/se) (scipy.stats.nct).",
        f"Otherwise the {MCNEMAR} (scipy.stats.binomtest): one trained network per cell (the lowest seed both "
        f"ran), scored on the same test examples (test_correct.npy); of the n_d examples exactly one of the two gets "
        f"wrong, k are the first one's, and p = 2 P(K <= min(k, n_d - k)) for K ~ Binomial(n_d, 1/2). Its power: "
        f"P(K <= k*) + P(K >= n_d - k*) for K ~ Binomial(n_d, k/n_d), k* the largest count that rejects. It covers "
        f"the finite test set, not seed-to-seed variation.",
        "Neither (fewer than 3 seeds and no per-example correctness), or cells that did not run the same design "
        "(width, depth, updates, learning-rate grid, seeds): not decided, with the reason.",
        f"In the verdicts, a test that finds no difference counts against a claim only with power >= "
        f"{POWER_TO_DECIDE} to detect the paper's difference; a network within {AT_CHANCE_MARGIN_PCT:g} points of "
        f"the majority-class error ({chance}) has learned nothing at this scale.",
    ]


def _table1_blocks(table: Table1) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Table 1"),
        Paragraph(f"Learning rate chosen per cell (network × data set × depth) by the lowest mean final validation "
                  f"error over seeds, diverged runs ignored; cells the study did not run are 'not run'. "
                  f"Significance per column against the best network at p < {ALPHA}, two-sided:"),
        Bullets(_statistics_text()),
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


def _theory_blocks(rows: list[TheoryRow], input_notes: dict[str, str]) -> list[Block]:
    """Section 4.2.1's variance predictions against the variances measured at update 0."""
    blocks: list[Block] = [
        Heading(2, "Theory against measurement (Section 4.2.1)"),
        Paragraph("Linear regime (f'(0) = 1, tanh and softsign), zero-mean weights independent of the inputs: "
                  "predicted Var(z^i) = E[x²] · Π_{k≤i} n_{k-1} Var(W^k) and Var(dC/ds^i) = Var(dC/ds^d) · "
                  "Π_{k=i+1..d} n_k Var(W^k), with Var(W) = 1/(3 n_in) (standard) or 2/(n_in + n_out) (normalized). "
                  "Measured: act_std² and dCds_std² at update 0 on the probe set. E[x²] is measured on the run's "
                  "probe set (the first probe_size test examples); Var(dC/ds^d) is the top layer's measured value, "
                  "so the top layer agrees by construction and the comparison is about the change across layers."),
        Paragraph("The input enters through its second moment E[x²] = Var(x) + E[x]², not its variance as in the "
                  "seed's derivation (which assumes zero-mean inputs): Var(s^1) = n_0 Var(W) E[x²] for zero-mean "
                  "weights. The two agree on Shapeset-3x2, whose mean is about 0; on MNIST scaled to [-1, 1] (mean "
                  "about -0.74) Var(x) is about 2.5 times smaller than E[x²] and would predict 2.5 times too little."),
    ]
    if input_notes:
        blocks.append(Bullets([f"inputs of {_title(d)}: {note}" for d, note in input_notes.items()]))
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
    missing += [f"verdict '{v.claim}': {v.evidence}" for v in verdicts if v.status in (NOT_RUN, NOT_DECIDED)]
    return missing or ["nothing: every figure and verdict had data"]


def build_blocks(study: str, source: StudySource, table: Table1, verdicts: list[Verdict], figs: FigureSet,
                 theory_rows: list[TheoryRow], input_notes: dict[str, str]) -> list[Block]:
    """The whole report, in order."""
    blocks = _header_blocks(study, source) + _verdict_blocks(verdicts) + _table1_blocks(table)
    blocks.append(Heading(2, "Figures"))
    blocks += [Image(f.path, f.caption) for f in sorted(figs.drawn, key=lambda f: f.fig_id)
               if not f.path.startswith("figures/theory")]
    blocks += _theory_blocks(theory_rows, input_notes)
    blocks += [Image(f.path, f.caption) for f in figs.drawn if f.path.startswith("figures/theory")]
    blocks += [Heading(2, "Not run or not decided"), Bullets(_not_run(table, verdicts, figs)),
               Heading(2, "Rules and thresholds"), Bullets([f"{v.claim}: {v.rule}" for v in verdicts])]
    return blocks
