"""Verdicts on Table 1's ranking of the networks on Shapeset-3x2.

Tanh N beats Tanh (15.60% vs 27.15%, different at the paper's p = 0.005) and Sigmoid is by
far the worst (82.61%: it does not learn). Both read one column of Table 1: depth 5 (the
paper's) when the study ran it, else the deepest, trained networks only.
"""

from __future__ import annotations

from glorot.config import DATASET_TITLES
from glorot.report.records import DIVERGED, OK, PAPER_DEPTH, Cell, Claim, Verdict
from glorot.report.significance import ALPHA, compare

TANH_N_VS_TANH = Claim(
    "table1_tanh_n_vs_tanh", "Tanh N beats Tanh on Shapeset-3x2 (paper: 15.60% vs 27.15%)", "Table 1",
    f"lower mean test error at the learning rate chosen on validation error, and different at p < {ALPHA} "
    f"(Table 1's test); a Tanh cell that diverged at every learning rate counts as beaten")
SIGMOID_WORST = Claim(
    "table1_sigmoid_worst", "Sigmoid is the worst network on Shapeset-3x2 (paper: 82.61%, chance is about 89%)",
    "Table 1", "Sigmoid's mean test error is the highest of the networks with results on Shapeset-3x2 (at least 2)")


def _column(cells: list[Cell], dataset: str) -> tuple[int | None, dict[str, Cell]]:
    """The depth (5 first, else the deepest) and width (the widest) at which ``dataset`` has
    results of trained networks (an init-only study has none), and that column's cells by network."""
    keys = sorted({(c.depth, c.width or 0) for c in cells if c.dataset == dataset and c.ok and c.updates > 0},
                  key=lambda k: (k[0] != PAPER_DEPTH, -k[0], -k[1]))
    if not keys:
        return None, {}
    return keys[0][0], {c.network: c for c in cells if c.dataset == dataset and (c.depth, c.width or 0) == keys[0]}


def _cell_scale(cell: Cell) -> str:
    return (f"{DATASET_TITLES.get(cell.dataset, cell.dataset)}, depth {cell.depth}, "
            f"{cell.updates} updates, {len(cell.seeds)} seed(s)")


def tanh_n_beats_tanh(cells: list[Cell]) -> Verdict:
    """Table 1: Tanh N has a lower test error than Tanh on Shapeset-3x2 (27.15% -> 15.60%), significantly."""
    _, column = _column(cells, "shapeset")
    tn, t = column.get("Tanh N"), column.get("Tanh")
    if tn is None or t is None or not tn.ok or t.state not in (OK, DIVERGED):
        return TANH_N_VS_TANH.not_run("needs trained Tanh N and Tanh results on Shapeset-3x2 at the same depth")
    if t.state == DIVERGED:
        return TANH_N_VS_TANH.decided(True, {"tanh_n_pct": round(tn.mean_pct, 3), "tanh": "diverged"},
                                      "Tanh diverged at every learning rate", _cell_scale(tn))
    test = compare(tn.test_errors_pct, tn.test_n, t.test_errors_pct, t.test_n)
    p = test.p
    return TANH_N_VS_TANH.decided(
        tn.mean_pct < t.mean_pct and bool(test.significant),
        {"tanh_n_pct": round(tn.mean_pct, 3), "tanh_pct": round(t.mean_pct, 3), "p": p, "test": test.method},
        f"Tanh N {tn.mean_pct:.2f}% vs Tanh {t.mean_pct:.2f}%, p = {'n/a' if p is None else f'{p:.3g}'} "
        f"({test.method or 'no test'})", _cell_scale(tn))


def sigmoid_worst_on_shapeset(cells: list[Cell]) -> Verdict:
    """Table 1: the sigmoid net is by far the worst on Shapeset-3x2 (82.61%: it does not learn)."""
    _, column = _column(cells, "shapeset")
    ok_cells = {n: c for n, c in column.items() if c.ok}
    if "Sigmoid" not in ok_cells or len(ok_cells) < 2:
        return SIGMOID_WORST.not_run("needs trained Sigmoid and at least one other trained network on "
                                     "Shapeset-3x2 at the same depth")
    worst = max(ok_cells.values(), key=lambda c: c.mean_pct)
    return SIGMOID_WORST.decided(worst.network == "Sigmoid", {n: round(c.mean_pct, 3) for n, c in ok_cells.items()},
                                 f"worst: {worst.network} ({worst.mean_pct:.2f}%)", _cell_scale(ok_cells["Sigmoid"]))
