"""Learning curves (Figures 11-12): test error against updates, the mean over seeds at the
learning rate Table 1 chose for each cell; also written as ``curves/*.csv`` for DVC plots.
And the depth figure: each network's final test error against the number of hidden layers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from glorot.atomic import atomic_write_text
from glorot.config import DATASET_TITLES
from glorot.report.records import Cell, Curve, CurvePanel, DepthLine, DepthPanel, Run, Series, Table1


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def mean_curve(records: list[Run], key: str) -> Series:
    """Seed-mean of a metric at the steps every seed recorded (empty if one has none)."""
    per_seed = [dict(r.metric(key).points()) for r in records]
    if not per_seed or not all(per_seed):
        return Series()
    steps = sorted(set.intersection(*(set(p) for p in per_seed)))
    return Series(tuple(steps), tuple(sum(p[s] for p in per_seed) / len(per_seed) for s in steps))


def _cell_runs(records: list[Run], cell: Cell) -> list[Run]:
    return [r for r in records if r.run_id in cell.run_ids]


def curve_panels(table: Table1, records: list[Run], datasets: tuple[str, ...]) -> list[CurvePanel]:
    """One panel per data set of ``datasets`` with a learning curve: one line per network
    (and depth, when the study ran several) with at least two points."""
    panels = []
    for dataset in datasets:
        curves = []
        for t in table.tables:
            for network in table.networks:
                cell = t.cell(network, dataset)
                if not cell.ok:
                    continue
                mean = mean_curve(_cell_runs(records, cell), "test/error")
                if len(mean) >= 2:
                    label = f"{network} {t.tag}" if len(table.tables) > 1 else network
                    curves.append(Curve(label, mean.steps, tuple(100 * e for e in mean.values)))
        if curves:
            panels.append(CurvePanel(f"{DATASET_TITLES.get(dataset, dataset)}: test error (%, mean over seeds, "
                                     f"learning rate chosen on validation error)", tuple(curves)))
    return panels


def _depth_points(table: Table1, network: str, dataset: str) -> list[Cell]:
    """The network's trained cells on ``dataset``, one per depth (the widest width), by depth."""
    best: dict[int, Cell] = {}
    for t in table.tables:
        cell = t.cell(network, dataset)
        if cell.ok and cell.updates > 0 and (t.depth not in best or (t.width or 0) > (best[t.depth].width or 0)):
            best[t.depth] = cell
    return [best[d] for d in sorted(best)]


def depth_panels(table: Table1) -> list[DepthPanel]:
    """One panel per data set where some network ran at 2 or more depths: its final test error
    (mean and std over seeds, learning rate chosen on validation error) against depth."""
    panels = []
    for dataset in table.datasets:
        lines = []
        for network in table.networks:
            cells = _depth_points(table, network, dataset)
            if len(cells) >= 2:
                lines.append(DepthLine(network, tuple(c.depth for c in cells), tuple(c.mean_pct for c in cells),
                                       tuple(c.std_pct for c in cells)))
        if lines:
            panels.append(DepthPanel(f"{DATASET_TITLES.get(dataset, dataset)}: test error (%) against the number of "
                                     f"hidden layers", tuple(lines)))
    return panels


def _curve_csv(test: Series, valid: Series) -> str:
    vmap = dict(valid.points())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["update", "test_error_pct", "valid_error_pct"])
    for s, e in test.points():
        w.writerow([s, round(100 * e, 4), "" if s not in vmap else round(100 * vmap[s], 4)])
    return buf.getvalue()


def write_curves(folder: Path, table: Table1, records: list[Run]) -> list[str]:
    """``curves/<dataset>_d<depth>_<network>.csv`` (update, test_error_pct, valid_error_pct): seed
    means; returns the paths written, relative to ``folder``."""
    out_dir = folder / "curves"
    out_dir.mkdir()
    written = []
    for t in table.tables:
        for (network, dataset), cell in t.cells.items():
            if not cell.ok:
                continue
            runs = _cell_runs(records, cell)
            test = mean_curve(runs, "test/error")
            if not test:
                continue
            name = f"{dataset}_{t.tag}_{slug(network)}.csv"
            atomic_write_text(out_dir / name, _curve_csv(test, mean_curve(runs, "valid/error")))
            written.append(f"curves/{name}")
    return written
