"""Learning curves (Figures 11-12): test error against updates, the mean over seeds at the
learning rate Table 1 chose for each cell; also written as one long-format ``curves.csv`` for DVC plots.
And the depth figure: each network's final test error against the number of hidden layers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from glorot.atomic import atomic_write_text
from glorot.config import DATASET_TITLES
from glorot.report.records import Cell, Curve, CurvePanel, DepthLine, DepthPanel, Run, Series, Table1


def mean_curve(records: list[Run], key: str) -> Series:
    """Seed-mean of a metric at the steps every seed recorded (empty if one has none)."""
    per_seed = [dict(r.metric(key).points()) for r in records]
    if not per_seed or not all(per_seed):
        return Series()
    steps = sorted(set.intersection(*(set(p) for p in per_seed)))
    return Series(tuple(steps), tuple(sum(p[s] for p in per_seed) / len(per_seed) for s in steps))


def seed_band(records: list[Run], key: str, steps: tuple[int, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The lowest and highest value of a metric over seeds at each of ``steps`` (which every seed
    recorded, :func:`mean_curve`); empty with fewer than two seeds."""
    if len(records) < 2:
        return (), ()
    per_seed = [dict(r.metric(key).points()) for r in records]
    return (tuple(min(p[s] for p in per_seed) for s in steps), tuple(max(p[s] for p in per_seed) for s in steps))


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
                runs = _cell_runs(records, cell)
                mean = mean_curve(runs, "test/error")
                if len(mean) >= 2:
                    label = f"{network} {t.tag}" if len(table.tables) > 1 else network
                    low, high = seed_band(runs, "test/error", mean.steps)
                    curves.append(Curve(label, mean.steps, tuple(100 * e for e in mean.values),
                                        tuple(100 * e for e in low), tuple(100 * e for e in high)))
        if curves:
            panels.append(CurvePanel(f"{DATASET_TITLES.get(dataset, dataset)}: test error (%, mean over seeds, band: "
                                     f"their range; learning rate chosen on validation error)", tuple(curves)))
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


CURVE_COLUMNS = ("update", "series", "network", "dataset", "depth", "width", "test_error_pct", "valid_error_pct")


def _series_label(network: str, dataset: str, tag: str, table: Table1) -> str:
    """The line's name in the one overlaid chart: the network, with the data set and the
    depth (width) only when the study ran several."""
    parts = [network]
    if len({c.dataset for c in table.all_cells() if c.ok}) > 1:
        parts.append(DATASET_TITLES.get(dataset, dataset))
    if len(table.tables) > 1:
        parts.append(tag)
    return " / ".join(parts)


def curve_rows(table: Table1, records: list[Run]) -> list[tuple]:
    """Every cell's seed-mean learning curve in long format, one row per (series, update):
    the columns of :data:`CURVE_COLUMNS`, errors in %, valid error "" where not recorded."""
    rows = []
    for t in table.tables:
        for (network, dataset), cell in t.cells.items():
            if not cell.ok:
                continue
            runs = _cell_runs(records, cell)
            test, valid = mean_curve(runs, "test/error"), dict(mean_curve(runs, "valid/error").points())
            series = _series_label(network, dataset, t.tag, table)
            width = cell.width or (cell.widths[0] if cell.widths else "")
            for step, err in test.points():
                rows.append((step, series, network, dataset, t.depth, width, round(100 * err, 4),
                             "" if step not in valid else round(100 * valid[step], 4)))
    return rows


def write_curves(folder: Path, table: Table1, records: list[Run]) -> list[str]:
    """``curves.csv``: every network's seed-mean test (and valid) error against updates in one
    long-format file (:func:`curve_rows`), which DVC draws as one overlaid chart; written even
    when empty (header only). Returns the path written, relative to ``folder``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    writer.writerows(curve_rows(table, records))
    atomic_write_text(folder / "curves.csv", buf.getvalue())
    return ["curves.csv"]
