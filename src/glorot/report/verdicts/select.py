"""Which runs decide a claim, how their scale is described, and the seed majority.

The diagnostics claims (Figures 2-4 and 6-10, Section 4.2.2) are decided on one data set
(Shapeset-3x2 first, the paper's), one depth and one width, over every seed of the
learning rate Table 1 chose; the claims on Table 1 and the learning curves (Figures 11-12)
on one column of Table 1 (:func:`column`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from glorot.config import DATASET_TITLES, DATASETS
from glorot.report.records import PAPER_DEPTH, Cell, Run


def _dataset_order(dataset: str) -> int:
    return DATASETS.index(dataset) if dataset in DATASETS else len(DATASETS)


def describe_scale(runs: list[Run]) -> str:
    """The scale a verdict rests on: data set, depth, width, updates, seeds, learning rate."""
    if not runs:
        return ""
    r = runs[0]
    seeds = sorted({x.seed for x in runs})
    return (f"{DATASET_TITLES.get(r.dataset, r.dataset)}, depth {r.depth}, width {r.width}, "
            f"{r.updates} updates, {len(seeds)} seed(s), lr {r.lr:g}" + _pretraining(runs))


def _with_series(records: list[Run], network: str) -> list[Run]:
    return [r for r in records if r.network == network and r.series]


def pick_runs(records: list[Run], network: str, prefer_depth: int | None = None,
              only_depth: int | None = None) -> list[Run]:
    """The runs of ``network`` on one data set (Shapeset-3x2 first) at one depth (``only_depth``
    or none; else ``prefer_depth`` if run, else the deepest) and width (the widest), all seeds, by seed."""
    runs = [r for r in _with_series(records, network) if only_depth is None or r.depth == only_depth]
    if not runs:
        return []
    dataset = min({r.dataset for r in runs}, key=_dataset_order)
    runs = [r for r in runs if r.dataset == dataset]
    depths = {r.depth for r in runs}
    depth = prefer_depth if prefer_depth in depths else max(depths)
    width = max(r.width for r in runs if r.depth == depth)
    return sorted((r for r in runs if r.depth == depth and r.width == width), key=lambda r: r.seed)


def pick_pair(records: list[Run], a: str, b: str, trained: bool = False) -> tuple[list[Run], list[Run]]:
    """Runs of networks ``a`` and ``b`` on a data set, depth and width both have (Shapeset, deepest,
    widest first); with ``trained``, only runs of 2 or more hidden layers that were trained."""
    ra, rb = _with_series(records, a), _with_series(records, b)
    if trained:
        ra, rb = trained_deep(ra), trained_deep(rb)
    common = {(r.dataset, r.depth, r.width) for r in ra} & {(r.dataset, r.depth, r.width) for r in rb}
    if not common:
        return [], []
    key = min(common, key=lambda k: (_dataset_order(k[0]), -k[1], -k[2]))

    def keep(runs: list[Run]) -> list[Run]:
        return sorted((r for r in runs if (r.dataset, r.depth, r.width) == key), key=lambda r: r.seed)
    return keep(ra), keep(rb)


def geo_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def majority(hits: int, total: int) -> bool:
    """More than half of ``total`` (seeds) show the claim."""
    return total > 0 and hits * 2 > total


def needs_pair(a: str, b: str) -> str:
    """Why a claim on networks ``a`` and ``b`` (:func:`pick_pair` with ``trained``) is not run."""
    return f"needs trained {a} and {b} runs with 2 or more hidden layers on the same data set, depth and width"


def trained_deep(runs: list[Run]) -> list[Run]:
    """The runs with 2 or more hidden layers that were trained (updates > 0)."""
    return [r for r in runs if r.depth >= 2 and r.updates > 0]


def column(cells: Sequence[Cell], dataset: str) -> dict[str, Cell]:
    """The cells by network of one column of Table 1: ``dataset`` at the depth (5, the paper's,
    else the deepest) and width (the widest) where it has results of trained networks (an
    init-only study has none); empty when there are none."""
    keys = sorted({(c.depth, c.width or 0) for c in cells if c.dataset == dataset and c.ok and c.updates > 0},
                  key=lambda k: (k[0] != PAPER_DEPTH, -k[0], -k[1]))
    if not keys:
        return {}
    return {c.network: c for c in cells if c.dataset == dataset and (c.depth, c.width or 0) == keys[0]}


def cell_scale(cell: Cell) -> str:
    """The scale of a Table 1 cell: data set, depth, updates, seeds, chosen learning rate."""
    lr = "" if cell.lr is None else f", lr {cell.lr:g}"
    return (f"{DATASET_TITLES.get(cell.dataset, cell.dataset)}, depth {cell.depth}, "
            f"{cell.updates} updates, {len(cell.seeds)} seed(s){lr}")


def _pretraining(runs: list[Run]) -> str:
    """``, DAE pre-training: noise 0.25, 10000 updates`` for denoising auto-encoder runs, else empty."""
    r = next((x for x in runs if x.pretrain_updates is not None or x.pretrain_noise is not None), None)
    if r is None:
        return ""
    parts = ([f"noise {r.pretrain_noise:g}"] if r.pretrain_noise is not None else []) + \
        ([f"{r.pretrain_updates} updates"] if r.pretrain_updates is not None else [])
    return ", DAE pre-training: " + ", ".join(parts)


def one_per_seed(runs: list[Run]) -> dict[int, Run]:
    """One run per seed (the first): runs of one seed at several learning rates share their update 0."""
    out: dict[int, Run] = {}
    for r in runs:
        out.setdefault(r.seed, r)
    return out


def paired_by_seed(a_runs: list[Run], b_runs: list[Run]) -> list[tuple[Run, Run]]:
    """Runs of two networks paired by seed (by order when they share no seed)."""
    a, b = one_per_seed(a_runs), one_per_seed(b_runs)
    shared = sorted(set(a) & set(b))
    if shared:
        return [(a[s], b[s]) for s in shared]
    return list(zip(a.values(), b.values()))
