"""Assemble the report of one sweep: Table 1, figures, theory, verdicts; write and log it.

``build_report`` reads everything through a :class:`~glorot.report.collect.StudySource`
(MLflow), writes ``report.md``, a self-contained ``report.html``, ``figures/*.png``,
``table1.json`` (the whole table), ``metrics.json`` (its test errors only: DVC metrics),
``verdicts.json``, ``theory.json`` and ``curves.csv`` (every network's seed-mean test error
against updates in long format: DVC's one overlaid plot) into a temporary folder beside the
output, swaps it into place, and attaches it to the sweep's parent run.

DVC hashes those files, so they hold only what the runs' results decide: the same bytes for
two sweeps of the same code on the same data. Where the sweep is (tracking store, parent run,
git commits) goes to :data:`TRACKING_FILE` beside them, which no stage declares.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from glorot.atomic import atomic_folder, atomic_write_text
from glorot.report import costsurface, render, theory
from glorot.report.collect import StudySource
from glorot.report.curves import write_curves
from glorot.report.document import build_blocks
from glorot.report.figure_set import FigureSet, SkippedFigure, draw_figures
from glorot.report.records import CostSurface, Evidence, InputMoments, Run, Table1, TheoryRow, Verdict
from glorot.report.table1 import build_table, metrics_json, numeric_metrics
from glorot.report.verdicts import all_verdicts
from glorot.report.verdicts.sigmoid import GRID_NETWORKS


#: Where the report's sweep is in MLflow, beside the report: not a DVC output (:func:`tracking_record`).
TRACKING_FILE = "tracking.json"


@dataclass(frozen=True)
class Findings:
    """Everything the report shows, computed from the sweep before anything is written."""

    table: Table1
    records: list[Run]  # the runs of Table 1's chosen learning rates, with their diagnostics
    inputs: dict[str, InputMoments | None]  # the probe set's input moments per data set (theory)
    input_notes: dict[str, str]
    theory_rows: list[TheoryRow]
    surface: CostSurface
    verdicts: list[Verdict]


@dataclass(frozen=True)
class BuiltReport:
    """What :func:`build_report` wrote into ``out``: figures and curves relative to it."""

    out: Path
    figures: list[str]
    skipped: list[SkippedFigure]
    curves: list[str]
    verdicts: list[Verdict]
    table: Table1


def _input_moments(records: list[Run], data_dir: str | Path | None) -> tuple[dict, dict[str, str]]:
    """E[x^2] (and mean, Var(x)) per data set of the theory section, over the largest probe set its runs used."""
    inputs, notes = {}, {}
    for dataset in sorted({r.dataset for r in records if r.dataset in theory.DATASET_SHAPES}):
        probe = max((r.probe_size or 300) for r in records if r.dataset == dataset)
        m, note = theory.input_moments(data_dir, dataset, probe)
        inputs[dataset] = m
        notes[dataset] = note if m is None else (f"E[x^2] {m.second_moment:.4f} (mean {m.mean:+.4f}, Var(x) "
                                                 f"{m.var:.4f}) from {note}")
    return inputs, notes


def in_config_order(runs: list[Run]) -> list[Run]:
    """``runs`` in the order of their configurations, not of their start (which the scheduler
    decides): the same results give the same rows, lines and representative runs, byte for byte."""
    return sorted(runs, key=lambda r: (r.dataset, r.network, r.depth, r.width, r.updates, r.lr, r.seed,
                                       r.config_key))


def find(source: StudySource, data_dir: str | Path | None, progress: Callable[[str], None]) -> Findings:
    """Table 1, the chosen runs' diagnostics, theory rows, Figure 5's experiment and the verdicts."""
    runs = in_config_order(source.runs)
    table = build_table(runs, source.correctness)
    cells = table.all_cells()
    chosen_ids = {rid for c in cells if c.ok for rid in c.run_ids}
    read = source.diagnostics([r for r in runs if r.run_id in chosen_ids or r.network in GRID_NETWORKS])
    records = [r for r in read if r.run_id in chosen_ids]
    grid = [r for r in read if r.network in GRID_NETWORKS]
    progress(f"read the metric histories of {len(records)} runs (chosen learning rates) and {len(grid)} of "
             f"{', '.join(GRID_NETWORKS)} (every learning rate)")
    inputs, notes = _input_moments(records, data_dir)
    theory_rows = theory.theory_rows(records, {d: m.second_moment for d, m in inputs.items() if m is not None})
    surface = costsurface.cost_surfaces()
    evidence = Evidence(records, cells, surface, source.histograms, source.correctness, grid)
    return Findings(table, records, inputs, notes, theory_rows, surface, all_verdicts(evidence))


def _theory_json(found: Findings) -> dict:
    moments = {d: m for d, m in found.inputs.items() if m is not None}
    return {"x_second_moment": {d: m.second_moment for d, m in moments.items()},
            "x_mean": {d: m.mean for d, m in moments.items()}, "var_x": {d: m.var for d, m in moments.items()},
            "input_source": found.input_notes, "rows": [asdict(r) for r in found.theory_rows]}


def tracking_record(source: StudySource, study: str, uri: str) -> dict:
    """What differs between two sweeps with the same results: the tracking store ``uri``, the
    parent run (id and name), the child runs' git commits (``tracking.json``)."""
    return {"study": study, "tracking_uri": uri, "parent_run_id": source.parent_id,
            "parent_run_name": source.parent.name,
            "git_commits": sorted({r.git_commit for r in source.runs if r.git_commit})}


def _write(folder: Path, source: StudySource, study: str, uri: str, found: Findings,
           progress: Callable[[str], None]) -> tuple[FigureSet, list[str]]:
    """The whole report into ``folder``: figures, curves, JSON files, report.md and report.html."""
    figs = FigureSet(folder)
    draw_figures(figs, source, found.records, found.table, found.surface, found.theory_rows)
    progress(f"drew {len(figs.drawn)} figures ({len(figs.skipped)} not run)")
    curves = write_curves(folder, found.table, found.records)
    atomic_write_text(folder / "table1.json", json.dumps(metrics_json(found.table, study), indent=2) + "\n")
    atomic_write_text(folder / "metrics.json", json.dumps(numeric_metrics(found.table), indent=2) + "\n")
    atomic_write_text(folder / "verdicts.json", json.dumps([asdict(v) for v in found.verdicts], indent=2) + "\n")
    atomic_write_text(folder / "theory.json", json.dumps(_theory_json(found), indent=2) + "\n")
    atomic_write_text(folder / TRACKING_FILE, json.dumps(tracking_record(source, study, uri), indent=2) + "\n")
    blocks = build_blocks(study, source, found.table, found.verdicts, figs, found.theory_rows, found.input_notes)
    atomic_write_text(folder / "report.md", render.to_markdown(blocks))
    atomic_write_text(folder / "report.html", render.to_html(blocks, folder, f"glorot report: {study}"))
    return figs, curves


def _readable(folder: Path) -> None:
    """Temp files are private (mode 600): make the finished report readable like any output."""
    os.chmod(folder, 0o755)
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def build_report(source: StudySource, study: str, out: str | Path, uri: str, data_dir: str | Path | None = None,
                 log_to_mlflow: bool = True, progress: Callable[[str], None] = lambda s: None) -> BuiltReport:
    """Build the report of ``source``'s sweep into ``out`` (replaced as a whole)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress(f"{len(source.runs)} runs in sweep {source.parent_id}")
    found = find(source, data_dir, progress)
    with atomic_folder(out) as tmp:  # replaced whole: the old report or the new one at every instant
        figs, curves = _write(tmp, source, study, uri, found, progress)
        _readable(tmp)
    if log_to_mlflow:
        source.log_report(out)
        progress(f"logged the report to MLflow run {source.parent_id} (artifacts: report/)")
    return BuiltReport(out, [f.path for f in figs.drawn], figs.skipped, curves, found.verdicts, found.table)
