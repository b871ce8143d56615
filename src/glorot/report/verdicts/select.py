"""Which runs decide a claim, how their scale is described, and the seed majority.

The diagnostics claims (Figures 2-3 and 6-9, Section 4.2.2) are decided on one data set
(Shapeset-3x2 first, the paper's), one depth and one width, over every seed of the
learning rate Table 1 chose.
"""

from __future__ import annotations

import math

from glorot.config import DATASET_TITLES, DATASETS
from glorot.report.records import Run


def _dataset_order(dataset: str) -> int:
    return DATASETS.index(dataset) if dataset in DATASETS else len(DATASETS)


def describe_scale(runs: list[Run]) -> str:
    """The scale a verdict rests on: data set, depth, width, updates, seeds, learning rate."""
    if not runs:
        return ""
    r = runs[0]
    seeds = sorted({x.seed for x in runs})
    return (f"{DATASET_TITLES.get(r.dataset, r.dataset)}, depth {r.depth}, width {r.width}, "
            f"{r.updates} updates, {len(seeds)} seed(s), lr {r.lr:g}")


def _with_series(records: list[Run], network: str) -> list[Run]:
    return [r for r in records if r.network == network and r.series]


def pick_runs(records: list[Run], network: str, prefer_depth: int | None = None) -> list[Run]:
    """The runs of ``network`` on one data set (Shapeset-3x2 first) at one depth
    (``prefer_depth`` if run, else the deepest) and width (the widest), all seeds, by seed."""
    runs = _with_series(records, network)
    if not runs:
        return []
    dataset = min({r.dataset for r in runs}, key=_dataset_order)
    runs = [r for r in runs if r.dataset == dataset]
    depths = {r.depth for r in runs}
    depth = prefer_depth if prefer_depth in depths else max(depths)
    width = max(r.width for r in runs if r.depth == depth)
    return sorted((r for r in runs if r.depth == depth and r.width == width), key=lambda r: r.seed)


def pick_pair(records: list[Run], a: str, b: str) -> tuple[list[Run], list[Run]]:
    """Runs of networks ``a`` and ``b`` on a data set, depth and width both have (Shapeset, deepest,
    widest first)."""
    ra, rb = _with_series(records, a), _with_series(records, b)
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
