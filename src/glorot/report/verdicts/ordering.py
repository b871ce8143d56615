"""The ordering of the networks at the end of Figures 11 and 12, and what the learning-curve
verdicts share (:mod:`glorot.report.verdicts.learning`).

The paper orders the networks of Figures 11-12 by their final test error, Table 1's numbers.
The claim, per data set, is that each pair the paper separates clearly (:data:`ORDER_MARGIN_PCT`
points, or :data:`ORDER_MARGIN_REL` of the smaller error; closer pairs are within the paper's
own noise) keeps the paper's order. Each such pair is tested by
:func:`~glorot.report.verdicts.judge.lower_error` (Welch over 3+ seeds, else McNemar's exact
test on the test set, with the power to detect the paper's difference), on one column of
Table 1 (:func:`~glorot.report.verdicts.select.column`). A pair with a network at chance where
the paper's is not (:func:`~glorot.report.verdicts.judge.unlike_paper`) is **not comparable**:
it is listed, never counted as kept. A data set is reproduced when every comparable pair is
kept, not reproduced when one is reversed, and otherwise not decided.
"""

from __future__ import annotations

from itertools import combinations

from glorot.config import DATASET_TITLES
from glorot.paper.table1 import table1_error
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT
from glorot.report.records import Claim, Evidence, Verdict
from glorot.report.verdicts.judge import Judgement, lower_error, unlike_paper
from glorot.report.verdicts.select import cell_scale, column

#: The paper separates two networks clearly when their errors differ by this many points ...
ORDER_MARGIN_PCT = 1.0
#: ... or by this fraction of the smaller one.
ORDER_MARGIN_REL = 0.10
IMAGE_SETS = ("mnist", "cifar10", "small_imagenet")

_ORDER_RULE = (f"every pair of networks the paper's Table 1 separates by >= {ORDER_MARGIN_PCT:g} points or >= "
               f"{ORDER_MARGIN_REL:.0%} of the smaller error is tested (Welch over 3+ seeds, else McNemar's exact test "
               f"on the test set, p < 0.005, power >= 0.8 to detect the paper's difference before no difference "
               f"counts against it); a pair with a network at chance (within {AT_CHANCE_MARGIN_PCT:g} points of the "
               f"majority-class error) where the paper's is not is not comparable; reproduced if every comparable "
               f"pair keeps the paper's order, not reproduced if one is reversed, else not decided")
FIG11_ORDER = Claim("fig11_ordering", "On Shapeset-3x2 the networks end in the paper's order (Figure 11, Table 1)",
                    "Figure 11", _ORDER_RULE)
FIG12_ORDER = Claim("fig12_ordering", "On the image sets (MNIST, CIFAR-10) the networks end in the paper's order "
                    "(Figure 12, Table 1)", "Figure 12", _ORDER_RULE)


def combine(claim: Claim, per_set: dict[str, Judgement], scale: str) -> Verdict:
    """One verdict from each data set's judgement: not reproduced if one fails, reproduced if one
    holds and none fails, else not decided (each data set's reason)."""
    numbers = {name: {"holds": j.holds, "why": j.why, **j.numbers} for name, j in per_set.items()}
    said = "; ".join(f"{name}: {j.why}" for name, j in per_set.items())
    held = [j.holds for j in per_set.values()]
    if False in held or True in held:
        return claim.decided(False not in held, numbers, said, scale)
    return claim.not_decided(said, numbers, scale)


def scale_of(evidence: Evidence, datasets: tuple[str, ...]) -> str:
    cells = [c for d in datasets for c in column(evidence.cells, d).values() if c.ok]
    return "; ".join(sorted({cell_scale(c) for c in cells}))


def _separated(a: str, b: str, dataset: str) -> bool:
    pa, pb = table1_error(a, dataset), table1_error(b, dataset)
    return pb - pa >= ORDER_MARGIN_PCT or pb - pa >= ORDER_MARGIN_REL * pa


def _ordering_on(evidence: Evidence, dataset: str) -> Judgement | None:
    """Every clearly separated pair on one data set: kept, reversed, not decided or not comparable."""
    cells = {n: c for n, c in column(evidence.cells, dataset).items() if c.ok and table1_error(n, dataset) is not None}
    pairs = {"kept": [], "reversed": [], "not decided": [], "not comparable": []}
    for a, b in combinations(sorted(cells, key=lambda n: table1_error(n, dataset)), 2):
        if not _separated(a, b, dataset):
            continue
        ca, cb = cells[a], cells[b]  # the paper has a below b
        stuck = [f"{c.network} at chance, {c.mean_pct:.2f}%" for c in (ca, cb) if unlike_paper(c)]
        if stuck:
            pairs["not comparable"].append(f"{a} < {b} ({'; '.join(stuck)})")
            continue
        judged = lower_error(ca, cb, evidence.correct, table1_error(a, dataset) - table1_error(b, dataset))
        key = {True: "kept", False: "reversed", None: "not decided"}[judged.holds]
        pairs[key].append(f"{a} < {b}: {judged.why}")
    if not any(pairs.values()):
        return None
    n = {k: len(v) for k, v in pairs.items()}
    said = ", ".join(f"{v} {k}" for k, v in n.items() if v)
    holds = False if n["reversed"] else None if n["not decided"] or not n["kept"] else True
    return Judgement(holds, f"separated pair(s): {said}", pairs)


def _order_verdict(claim: Claim, evidence: Evidence, datasets: tuple[str, ...]) -> Verdict:
    per_set = {DATASET_TITLES.get(d, d): j for d in datasets if (j := _ordering_on(evidence, d)) is not None}
    if not per_set:
        return claim.not_run("needs trained results of two networks the paper separates clearly on the same data set")
    return combine(claim, per_set, scale_of(evidence, datasets))


def shapeset_ordering(evidence: Evidence) -> Verdict:
    """Figure 11: the networks end in the paper's order on Shapeset-3x2, pair by pair, tested."""
    return _order_verdict(FIG11_ORDER, evidence, ("shapeset",))


def image_sets_ordering(evidence: Evidence) -> Verdict:
    """Figure 12: the networks end in the paper's order on the image sets, pair by pair, tested."""
    return _order_verdict(FIG12_ORDER, evidence, IMAGE_SETS)
