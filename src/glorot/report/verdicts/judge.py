"""Whether one Table 1 cell has a lower test error than another, soundly, or why it is not decided.

The rule (:func:`lower_error`), for a claim "a has a lower test error than b":

1. a network claimed to be the better one that sits at chance (:func:`glorot.report.comparable.at_chance`),
   or either network at chance where the paper's is not (:func:`unlike_paper`), has learned
   nothing at this scale: **not decided** (not comparable);
2. the two cells are compared by :func:`glorot.report.significance.compare` (like with like
   only: Welch over seeds, else McNemar on the test set); no test applies: **not decided**;
3. different at p < 0.005: the claim holds if a's error is the lower one, else it fails;
4. not different: if the test had at least :data:`POWER_TO_DECIDE` power to detect the
   paper's difference (when the paper gives one), the study would have seen it: the claim
   **fails**; otherwise **not decided**, the power says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from glorot.paper.table1 import table1_error
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT, at_chance, chance_pct
from glorot.report.power import (MCNEMAR, PAIRED_CURVE, PAIRED_LAYERS, PAIRED_SEEDS, WELCH, pairs_needed,
                                 power_to_detect, seeds_needed)
from glorot.report.records import Cell, Claim, Comparison, Verdict, no_artifact
from glorot.report.significance import ALPHA, MIN_SEEDS_FOR_T, compare, fisher_p, seeds_to_separate

#: The power a test needs to have before "no difference" counts against a claim.
POWER_TO_DECIDE = 0.8


@dataclass(frozen=True)
class Judgement:
    """``holds``: True or False when decided, None when not decided; ``why``: in words."""

    holds: bool | None
    why: str
    numbers: dict = field(default_factory=dict)


def _name(cell: Cell, other: Cell) -> str:
    """The cell's network, with its depth when both cells are the same network."""
    return cell.network if cell.network != other.network else f"{cell.network} (depth {cell.depth})"


def unlike_paper(cell: Cell) -> bool:
    """The network sits at chance here while the paper's (Table 1) does not: it has learned
    nothing at this scale, so it cannot show how it compares to the others."""
    chance, paper = chance_pct(cell.dataset), table1_error(cell.network, cell.dataset)
    paper_at_chance = chance is not None and paper is not None and paper >= chance - AT_CHANCE_MARGIN_PCT
    return at_chance(cell) and not paper_at_chance


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}%"


def _power_words(power: float | None, what: str) -> str:
    return f"power {power:.2f} to detect {what}" if power is not None else f"no power figure for {what}"


def lower_error(a: Cell, b: Cell, correct: Callable[[str], np.ndarray | None] = no_artifact,
                paper_diff_pct: float | None = None, ignore: Iterable[str] = ()) -> Judgement:
    """Whether cell ``a`` has a lower test error than ``b`` (see the module's rule);
    ``paper_diff_pct``: the paper's a - b difference (negative), when it gives one."""
    name_a, name_b = _name(a, b), _name(b, a)
    numbers = {name_a: round(a.mean_pct, 3), name_b: round(b.mean_pct, 3)}
    for cell, name in ((a, name_a), (b, name_b)):
        if unlike_paper(cell) or (cell is a and at_chance(a)):
            return Judgement(None, f"not comparable: {name} sits at chance ({_pct(cell.mean_pct)}; the majority-class "
                                   f"error is {_pct(chance_pct(cell.dataset))})", numbers)
    test = compare(a, b, correct, ignore=ignore)
    if test.method is None:
        return Judgement(None, test.reason, numbers)
    return judge_test(test, f"{name_a} {_pct(a.mean_pct)} vs {name_b} {_pct(b.mean_pct)}", paper_diff_pct, numbers)


def judge_test(test: Comparison, said: str, paper_diff_pct: float | None, numbers: dict | None = None,
               effect: str | None = None) -> Judgement:
    """Steps 3-4 of the module's rule on a test that ran (a - b < 0 is the claim): different at
    p < ALPHA decides it by the sign; no difference decides against it only with power >=
    :data:`POWER_TO_DECIDE` to detect ``paper_diff_pct`` (the paper's effect in the test's unit,
    named ``effect`` when it is not a Table 1 difference in points); else not decided, with the
    scale (paired differences) that would decide it."""
    if test.method is None:  # no test could run (too few pairs): the reason says why
        return Judgement(None, f"{said}: {test.reason}", dict(numbers or {}))
    paper_power = None if paper_diff_pct is None else power_to_detect(test, paper_diff_pct, ALPHA)
    numbers = {**(numbers or {}), "test": test.method, "p": test.p, "power_observed": _round(test.power),
               "power_paper_difference": _round(paper_power), "detail": test.detail}
    said = f"{said}, p = {test.p:.3g} ({test.method})"
    paper = effect or (_paper(paper_diff_pct) if paper_diff_pct is not None else "")
    if test.significant:
        return Judgement(test.diff_pct < 0, said, numbers)
    if paper_power is not None and paper_power >= POWER_TO_DECIDE:
        return Judgement(False, f"{said}: no difference at p < {ALPHA} though the test had "
                                f"{_power_words(paper_power, paper)}", numbers)
    what = (_power_words(paper_power, paper) if paper_diff_pct is not None
            else _power_words(test.power, "the observed difference"))
    return Judgement(None, f"{said}: no difference at p < {ALPHA}, and the test has only {what} "
                           f"(needs {POWER_TO_DECIDE}){_would_decide(test, paper_diff_pct)}", numbers)


def _would_decide(test: Comparison, paper_diff_pct: float | None) -> str:
    """``; N seeds would decide it`` for a paired test, from its own spread, else empty."""
    units = {PAIRED_SEEDS: "seeds", PAIRED_CURVE: "evaluations", PAIRED_LAYERS: "layer pairs (layers x seeds)"}
    if test.method == MCNEMAR:
        return f"; {MIN_SEEDS_FOR_T}+ seeds per network (Welch's t-test over seeds) could decide it"
    if test.method == WELCH and paper_diff_pct is not None and test.n and test.se_pct is not None:
        need = seeds_needed(paper_diff_pct, test.se_pct, test.n, ALPHA, POWER_TO_DECIDE)
        return (f"; at this spread {need} seeds per network would decide it" if need is not None
                else "; at this spread no practical number of seeds would decide it")
    if test.method not in units or paper_diff_pct is None or not test.n:
        return ""
    need = pairs_needed(paper_diff_pct, test.se_pct * math.sqrt(test.n), ALPHA, POWER_TO_DECIDE)
    unit = units[test.method]
    return (f"; at this spread {need} {unit} would decide it" if need is not None
            else f"; at this spread no practical number of {unit} would decide it")


def _paper(diff_pct: float) -> str:
    return f"the paper's difference ({diff_pct:+.2f} points)"


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def verdict_from(claim: Claim, judged: Judgement, scale: str) -> Verdict:
    """A claim's verdict from a :class:`Judgement`: decided, or not decided with its reason."""
    if judged.holds is None:
        return claim.not_decided(judged.why, judged.numbers, scale)
    return claim.decided(judged.holds, judged.numbers, judged.why, scale)


def share_contrast(claim: Claim, a: tuple[int, int], b: tuple[int, int], said: str, numbers: dict, scale: str,
                   names: tuple[str, str]) -> Verdict:
    """A claim that more of network a's seeds show something than b's (``a``, ``b``: seeds that
    show it, seeds), by Fisher's exact test at p < ALPHA: decided by the sign when different; not
    reproduced without a difference only with enough seeds each that all of a's against none of
    b's would have shown (:func:`~glorot.report.significance.seeds_to_separate`); else not
    decided, naming those seeds. ``names``: what one seed of a that shows it, and one of b, are called."""
    p, need = fisher_p(a[0], a[1], b[0], b[1]), seeds_to_separate()
    said += f", p = {p:.3g} (Fisher's exact test)"
    numbers = {**numbers, "test": "Fisher's exact test", "p": p, "seeds_to_decide": need}
    if p < ALPHA:
        return claim.decided(a[0] / a[1] > b[0] / b[1], numbers, said, scale)
    if need is not None and min(a[1], b[1]) >= need:
        return claim.decided(False, numbers, f"{said}: no difference at p < {ALPHA} with {need}+ seeds each", scale)
    return claim.not_decided(f"{said}: no difference at p < {ALPHA}; even every {names[0]} and no {names[1]} "
                             f"needs {need} seeds of each to reach it", numbers, scale)


def both_hold(claim: Claim, first: Judgement, second: Judgement, numbers: dict, scale: str, said: str = "") -> Verdict:
    """A claim of two parts, each judged by its own test: reproduced if both hold, not reproduced
    if either fails, else not decided; the evidence gives both tests."""
    why = "; ".join(x for x in (said, first.why, second.why) if x)
    if first.holds is False or second.holds is False:
        return claim.decided(False, numbers, why, scale)
    if first.holds and second.holds:
        return claim.decided(True, numbers, why, scale)
    return claim.not_decided(why, numbers, scale)
