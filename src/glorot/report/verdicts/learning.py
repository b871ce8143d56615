"""Verdicts on the learning curves: Figure 11 (Shapeset-3x2) and Figure 12 (the image sets).

Two claims per figure, read on one column of Table 1 per data set
(:func:`~glorot.report.verdicts.select.column`: depth 5 if run, else the deepest):

* **twins**: each normalized network is ahead of (lower test error than) its standard twin,
  Tanh N of Tanh and Softsign N of Softsign, at every evaluation after the first, on the
  seed-mean learning curves at the learning rates Table 1 chose;
* **ordering**: the networks end (final test error) in the paper's order, on every pair the
  paper separates clearly (:data:`ORDER_MARGIN_PCT` points, or :data:`ORDER_MARGIN_REL` of the
  smaller error); the others are within the paper's own noise.

A pair whose two networks are both at chance (:func:`glorot.report.comparable.at_chance`) says
nothing about either claim and is left out; with nothing left, the claim is not decided.
"""

from __future__ import annotations

from itertools import combinations

from glorot.config import DATASET_TITLES
from glorot.paper.table1 import table1_error
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT, at_chance, chance_pct
from glorot.report.curves import mean_curve
from glorot.report.records import Cell, Claim, Evidence, Series, Verdict
from glorot.report.verdicts.select import cell_scale, column

TWINS = (("Tanh N", "Tanh"), ("Softsign N", "Softsign"))
#: The paper separates two networks clearly when their errors differ by this many points ...
ORDER_MARGIN_PCT = 1.0
#: ... or by this fraction of the smaller one.
ORDER_MARGIN_REL = 0.10
IMAGE_SETS = ("mnist", "cifar10", "small_imagenet")

_TWINS_RULE = ("seed-mean test error at the chosen learning rates (Table 1's column: depth 5 if run, else the "
               "deepest): the normalized network below its standard twin (Tanh N vs Tanh, Softsign N vs Softsign) "
               "at every evaluation both recorded after the first; reproduced if every pair with curves is, on every "
               "data set; a pair at chance throughout is left out")
_ORDER_RULE = (f"final mean test error (Table 1's column): every pair of networks the paper separates by >= "
               f"{ORDER_MARGIN_PCT:g} points or >= {ORDER_MARGIN_REL:.0%} of the smaller error keeps the paper's order; "
               f"reproduced if at least one such pair was run and none is reversed; pairs of two networks at chance "
               f"are left out")
FIG11_TWINS = Claim("fig11_normalized_ahead", "On Shapeset-3x2 the normalized networks are ahead of their standard "
                    "twins at every evaluation after the first", "Figure 11", _TWINS_RULE)
FIG11_ORDER = Claim("fig11_ordering", "On Shapeset-3x2 the networks end in the paper's order", "Figure 11",
                    _ORDER_RULE)
FIG12_TWINS = Claim("fig12_normalized_ahead", "On the image sets (MNIST, CIFAR-10) the normalized networks are "
                    "ahead of their standard twins at every evaluation after the first", "Figure 12", _TWINS_RULE)
FIG12_ORDER = Claim("fig12_ordering", "On the image sets (MNIST, CIFAR-10) the networks end in the paper's order",
                    "Figure 12", _ORDER_RULE)


def _curve(evidence: Evidence, cell: Cell) -> Series:
    return mean_curve([r for r in evidence.records if r.run_id in cell.run_ids], "test/error")


def _chance_throughout(curve: Series, dataset: str) -> bool:
    chance = chance_pct(dataset)
    return chance is not None and all(100 * v >= chance - AT_CHANCE_MARGIN_PCT for v in curve.values)


def _twin(evidence: Evidence, norm: Cell, std: Cell) -> dict | None:
    """One twin pair on one data set: evaluations after the first, where the normalized one is not ahead."""
    cn, cs = _curve(evidence, norm), _curve(evidence, std)
    after = sorted(set(cn.steps) & set(cs.steps))[1:]
    if not after:
        return None
    behind = [s for s in after if not cn.at(s) < cs.at(s)]
    last = after[-1]
    return {"evaluations": len(after), "not_ahead_at": behind,
            "final_gap_pct": round(100 * (cn.at(last) - cs.at(last)), 3),
            "at_chance": _chance_throughout(cn, norm.dataset) and _chance_throughout(cs, std.dataset)}


def _twins_on(evidence: Evidence, dataset: str) -> dict[str, dict]:
    cells = column(evidence.cells, dataset)
    out = {}
    for norm, std in TWINS:
        cn, cs = cells.get(norm), cells.get(std)
        if cn is not None and cs is not None and cn.ok and cs.ok and (pair := _twin(evidence, cn, cs)):
            out[f"{norm} vs {std}"] = pair
    return out


def _ordering_on(evidence: Evidence, dataset: str) -> dict[str, list[str]]:
    """Pairs the paper separates clearly: kept in its order, reversed, or left out (both at chance)."""
    cells = {n: c for n, c in column(evidence.cells, dataset).items() if c.ok and table1_error(n, dataset) is not None}
    out: dict[str, list[str]] = {"kept": [], "reversed": [], "at_chance": []}
    for a, b in combinations(sorted(cells, key=lambda n: table1_error(n, dataset)), 2):
        pa, pb = table1_error(a, dataset), table1_error(b, dataset)  # pa <= pb: a is the paper's better one
        if pb - pa < ORDER_MARGIN_PCT and pb - pa < ORDER_MARGIN_REL * pa:
            continue
        ca, cb = cells[a], cells[b]
        key = "at_chance" if at_chance(ca) and at_chance(cb) else "kept" if ca.mean_pct < cb.mean_pct else "reversed"
        out[key].append(f"{a} < {b}" if key != "reversed" else f"{a} {ca.mean_pct:.2f}% >= {b} {cb.mean_pct:.2f}%")
    return out


def _scale(evidence: Evidence, datasets: tuple[str, ...]) -> str:
    cells = [c for d in datasets for c in column(evidence.cells, d).values() if c.ok]
    return "; ".join(sorted({cell_scale(c) for c in cells}))


def _twins_verdict(claim: Claim, evidence: Evidence, datasets: tuple[str, ...]) -> Verdict:
    per_set = {DATASET_TITLES.get(d, d): pairs for d in datasets if (pairs := _twins_on(evidence, d))}
    if not per_set:
        return claim.not_run("needs trained normalized and standard twins (Tanh N and Tanh, or Softsign N and "
                             "Softsign) with learning curves of 2+ evaluations")
    decidable = [p for pairs in per_set.values() for p in pairs.values() if not p["at_chance"]]
    if not decidable:
        return claim.not_decided("every twin pair is at chance at every evaluation", per_set, _scale(evidence, datasets))
    ahead = sum(not p["not_ahead_at"] for p in decidable)
    return claim.decided(ahead == len(decidable), per_set,
                         f"{ahead} of {len(decidable)} twin pair(s) ahead at every evaluation after the first",
                         _scale(evidence, datasets))


def _order_verdict(claim: Claim, evidence: Evidence, datasets: tuple[str, ...]) -> Verdict:
    per_set = {DATASET_TITLES.get(d, d): o for d in datasets if any((o := _ordering_on(evidence, d)).values())}
    if not per_set:
        return claim.not_run("needs trained results of two networks the paper separates clearly on the same data set")
    kept = sum(len(o["kept"]) for o in per_set.values())
    reversed_ = sum(len(o["reversed"]) for o in per_set.values())
    if not kept + reversed_:
        return claim.not_decided("every clearly separated pair is at chance", per_set, _scale(evidence, datasets))
    return claim.decided(not reversed_, per_set, f"{kept} pair(s) in the paper's order, {reversed_} reversed",
                         _scale(evidence, datasets))


def shapeset_twins_ahead(evidence: Evidence) -> Verdict:
    """Figure 11: on Shapeset-3x2 each normalized network leads its standard twin throughout."""
    return _twins_verdict(FIG11_TWINS, evidence, ("shapeset",))


def shapeset_ordering(evidence: Evidence) -> Verdict:
    """Figure 11: the networks end in the paper's order on Shapeset-3x2."""
    return _order_verdict(FIG11_ORDER, evidence, ("shapeset",))


def image_sets_twins_ahead(evidence: Evidence) -> Verdict:
    """Figure 12: on the image sets each normalized network leads its standard twin throughout."""
    return _twins_verdict(FIG12_TWINS, evidence, IMAGE_SETS)


def image_sets_ordering(evidence: Evidence) -> Verdict:
    """Figure 12: the networks end in the paper's order on the image sets."""
    return _order_verdict(FIG12_ORDER, evidence, IMAGE_SETS)
