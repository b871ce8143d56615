"""Verdicts on saturation during training: Figure 3 (tanh, top; softsign, bottom) and
Figure 10 (tanh with the normalized init).

Figure 3 (top): tanh layers saturate one after another, starting from layer 1. Figure 3
(bottom): softsign layers saturate less, and together. Figure 10: with the normalized
init, tanh layers no longer saturate one after another. All read the runs' ``act_p98``
diagnostics. Figure 3 (top) is decided by an exact test per seed against layers that saturate
in no particular order (:func:`order_p`), combined over seeds by Fisher's method; Figure 10 by
Fisher's exact test on the seeds in order, Tanh's against Tanh N's; Figure 3 (bottom) on the
means over seeds. A claim about the order or
timing of saturation is not decided when nothing saturates one layer after another to show
it: no layer saturating (Figures 3 and 10 alike), or tanh pinned at the ceiling in every layer
from the first probe (Figure 3, bottom, whose claim is about timing).
"""

from __future__ import annotations

import math
from statistics import fmean

from scipy import stats

from glorot.report.records import Claim, Evidence, Run, Verdict
from glorot.report.significance import ALPHA
from glorot.report.power import PAIRED_LAYERS, PAIRED_SEEDS
from glorot.report.significance import paired_test
from glorot.report.verdicts.judge import both_hold, judge_test, share_contrast
from glorot.report.verdicts.select import (describe_scale, majority, needs_pair, paired_by_seed, pick_pair, pick_runs,
                                          trained_deep)

#: A layer counts as saturated once its 98th percentile reaches this.
TANH_P98_SATURATED = 0.95
#: A layer's act_p98 must rise by this much over training for its timing to count (Figure 3, bottom).
RISE_MIN = 0.05

_IN_ORDER = (f"a layer is saturated from the first probe where act_p98 >= {TANH_P98_SATURATED}; the layers saturate "
             f"in order when the saturated ones are 1..k with k >= 2, their first-saturation updates do not decrease "
             f"with the layer index and layer 1 saturates strictly before layer k")
FIG3 = Claim(
    "fig3_tanh_sequential", "Tanh layers (standard init) saturate one after another, starting from layer 1",
    "Figure 3", f"{_IN_ORDER}; per seed, the exact probability of an order at least that tidy if the layers "
                f"saturated in no particular order (the saturated ones 1..k and their times in layer order, "
                f":func:`order_p`), combined over seeds by Fisher's method: reproduced at p < 0.005; not "
                f"reproduced when no seed with 2 or more saturated layers saturates in order; else not decided; "
                f"not decided either when no seed has 2 or more saturated layers")
FIG3_SOFTSIGN = Claim(
    "fig3_softsign_saturates_less", "Softsign layers saturate less than tanh's, and together rather than one after "
    "another (Figure 3, bottom; Section 3.2)", "Figure 3 (bottom)",
    f"a layer rises at the first probe after update 0 where its act_p98 has covered half of its rise from update 0 to "
    f"its highest value (a rise of >= {RISE_MIN} to count); the layers' timing spread is (last rise - first rise) / "
    f"updates; Softsign's minus Tanh's (same data set, depth, width and seed) below 0 for act_p98 at the last probe "
    f"(a paired t-test across the layers of each seed) and for the timing spread (a paired t-test across seeds), "
    f"each at p < 0.005: reproduced if both hold, not reproduced if one differs the other way, else not decided (the "
    f"paper gives no size); not decided either when Tanh's layers do not rise one after another (timing spread 0, "
    f"or every layer already at act_p98 >= {TANH_P98_SATURATED} at the first probe after update 0: pinned at the "
    f"ceiling)")
FIG10 = Claim(
    "fig10_tanh_n_no_sequential_saturation", "With the normalized init, tanh layers do not saturate one after "
    "another", "Figure 10", f"{_IN_ORDER}; the share of seeds that saturate in order, Tanh's against Tanh N's (same "
                            f"scale), by Fisher's exact test at p < 0.005: reproduced if Tanh's is the larger; not "
                            f"reproduced if not, with enough seeds that every Tanh seed in order and no Tanh N seed "
                            f"would have been found; not decided when Tanh does not saturate in order in most seeds "
                            f"(no contrast to show) or with fewer seeds")


def _first_saturation(run: Run) -> dict[int, int | None]:
    """Per layer, the first update where act_p98 reaches the threshold (None: never)."""
    return {i: next((s for s, v in run.layer(i, "act_p98").points() if v >= TANH_P98_SATURATED), None)
            for i in run.layers}


def _in_layer_order(first: dict[int, int | None]) -> bool:
    saturated = [i for i in first if first[i] is not None]
    k = len(saturated)
    return (k >= 2 and saturated == list(range(1, k + 1))
            and all(first[i] <= first[i + 1] for i in range(1, k)) and first[1] < first[k])


def _order_votes(runs: list[Run]) -> tuple[int, dict]:
    """How many seeds saturate in layer order, and each seed's first-saturation updates."""
    per_seed, hits = {}, 0
    for r in runs:
        first = _first_saturation(r)
        hits += _in_layer_order(first)
        per_seed[f"seed {r.seed}"] = {f"L{i}": first[i] for i in first}
    return hits, per_seed


def order_p(first: dict[int, int | None]) -> float:
    """The probability that a seed's layers are as much in order as ``first`` (each layer's first
    saturation update, None: never) if the saturation updates fell on the layers in no particular
    order: 1 when they are not in order (:func:`_in_layer_order`); else the chance that the k
    saturated layers are layers 1..k, 1 / C(d, k), times the chance that their updates come in
    layer order, prod(m!) / k! for updates shared by m layers."""
    if not _in_layer_order(first):
        return 1.0
    times = [t for t in first.values() if t is not None]
    ties = math.prod(math.factorial(times.count(t)) for t in set(times))
    return ties / (math.factorial(len(times)) * math.comb(len(first), len(times)))


def fisher_combined(ps: list[float]) -> float:
    """Fisher's method: P(chi2 with 2n df >= -2 sum log p) for the seeds' independent p-values."""
    return float(stats.chi2.sf(-2 * sum(math.log(p) for p in ps), 2 * len(ps)))


def tanh_saturates_layer_by_layer(evidence: Evidence) -> Verdict:
    """Figure 3 (top): tanh layers saturate one after another, starting from layer 1."""
    runs = trained_deep(pick_runs(list(evidence.records), "Tanh"))
    if not runs:
        return FIG3.not_run("no trained Tanh run with 2 or more hidden layers")
    hits, per_seed = _order_votes(runs)
    firsts = [_first_saturation(r) for r in runs]
    if not any(sum(v is not None for v in first.values()) >= 2 for first in firsts):
        return FIG3.not_decided(f"fewer than 2 layers reach act_p98 >= {TANH_P98_SATURATED} in every seed, so no "
                                f"order of saturation can show (as Figure 10)", per_seed, describe_scale(runs))
    p = fisher_combined([order_p(first) for first in firsts])
    numbers = {**per_seed, "test": "exact order test per seed, Fisher's method over seeds", "p": p}
    said = (f"update of first act_p98 >= {TANH_P98_SATURATED} per layer (None: never); {hits} of {len(runs)} "
            f"seed(s) saturate in layer order, p = {p:.3g} (exact order test per seed, Fisher's method)")
    if p < ALPHA:
        return FIG3.decided(True, numbers, said, describe_scale(runs))
    if hits == 0:
        return FIG3.decided(False, numbers, f"{said}: the layers that saturate do not in layer order",
                            describe_scale(runs))
    depth = runs[0].depth
    return FIG3.not_decided(f"{said}: no order at p < {ALPHA}; a seed of {depth} layers all saturating one after "
                            f"another counts p = 1/{math.factorial(depth)}, so {_seeds_for(depth)} such seed(s) "
                            f"would decide it", numbers, describe_scale(runs))


def _seeds_for(depth: int) -> int:
    """How many seeds whose ``depth`` layers all saturate strictly in order reach p < ALPHA together."""
    one = 1 / math.factorial(depth)
    return next(n for n in range(1, 100) if fisher_combined([one] * n) < ALPHA)


def tanh_n_does_not_saturate_in_order(evidence: Evidence) -> Verdict:
    """Figure 10: with the normalized init, tanh layers do not saturate one after another."""
    standard, normalized = pick_pair(list(evidence.records), "Tanh", "Tanh N", trained=True)
    if not normalized:
        return FIG10.not_run(needs_pair("Tanh", "Tanh N"))
    n_hits, n_seeds = _order_votes(normalized)
    s_hits, s_seeds = _order_votes(standard)
    numbers = {"Tanh N": n_seeds, "Tanh": s_seeds}
    said = (f"{n_hits} of {len(normalized)} Tanh N seed(s) and {s_hits} of {len(standard)} Tanh seed(s) saturate "
            f"in layer order")
    scale = describe_scale(normalized)
    if not majority(s_hits, len(standard)):
        return FIG10.not_decided(f"{said}: Tanh does not saturate layer by layer at this scale either, so the "
                                 f"contrast of Figures 3 and 10 cannot show", numbers, scale)
    return share_contrast(FIG10, (s_hits, len(standard)), (n_hits, len(normalized)), said, numbers, scale,
                          ("Tanh seed in order", "Tanh N seed"))


def _rise_updates(run: Run) -> list[int]:
    """The update at which each layer that rises by :data:`RISE_MIN` has covered half of its rise."""
    out = []
    for i in run.layers:
        points = list(run.layer(i, "act_p98").points())
        if len(points) < 2:
            continue
        start, top = points[0][1], max(v for _, v in points)
        if top - start >= RISE_MIN:
            out.append(next(s for s, v in points[1:] if v >= start + (top - start) / 2))
    return out


def _pinned(run: Run) -> bool:
    """Every layer's act_p98 is at the ceiling already at the first probe after update 0."""
    firsts = [next(((s, v) for s, v in run.layer(i, "act_p98").points() if s > 0), None) for i in run.layers]
    return all(f is not None and f[1] >= TANH_P98_SATURATED for f in firsts)


def _lasts(run: Run) -> list[float] | None:
    """Each layer's act_p98 at the last probe; None without probes after update 0."""
    lasts = [run.layer(i, "act_p98").values[-1] for i in run.layers if len(run.layer(i, "act_p98")) > 1]
    return lasts if len(lasts) == run.depth else None


def _timing_spread(run: Run) -> float:
    """(last rise - first rise) / updates of the layers that rise (:func:`_rise_updates`), 0 for fewer than 2."""
    rises = _rise_updates(run)
    return (max(rises) - min(rises)) / run.updates if len(rises) >= 2 else 0.0


def _p98_profile(runs: list[Run]) -> dict | None:
    """Mean over seeds of act_p98 at the last probe averaged over layers, and of the timing spread
    of the layers' rises; how many seeds are pinned at the ceiling; None without probes after 0."""
    lasts = [_lasts(r) for r in runs]
    if not runs or any(x is None for x in lasts):
        return None
    return {"final_p98": round(fmean(fmean(x) for x in lasts), 4),
            "timing_spread": round(fmean(_timing_spread(r) for r in runs), 4),
            "pinned_seeds": sum(_pinned(r) for r in runs)}


def softsign_saturates_less(evidence: Evidence) -> Verdict:
    """Figure 3 (bottom): softsign layers saturate less than tanh's (act_p98 at the end, paired
    across layers and seeds), and together (the layers' timing spread, paired across seeds)."""
    tanh, softsign = pick_pair(list(evidence.records), "Tanh", "Softsign", trained=True)
    pt, ps = _p98_profile(tanh), _p98_profile(softsign)
    if pt is None or ps is None:
        return FIG3_SOFTSIGN.not_run(needs_pair("Tanh", "Softsign") + ", with probes after update 0")
    numbers, scale = {"Tanh": pt, "Softsign": ps}, describe_scale(softsign)
    said = (f"act_p98 at the end: softsign {ps['final_p98']:.3f} vs tanh {pt['final_p98']:.3f}; layers' timing "
            f"spread: softsign {ps['timing_spread']:.3f} vs tanh {pt['timing_spread']:.3f} of the run")
    if majority(pt["pinned_seeds"], len(tanh)) or pt["timing_spread"] == 0:
        return FIG3_SOFTSIGN.not_decided(f"{said}: tanh's layers do not rise one after another at this scale "
                                         f"({pt['pinned_seeds']} of {len(tanh)} seed(s) pinned at the ceiling from "
                                         f"the first probe), so the timing contrast cannot show", numbers, scale)
    pairs = paired_by_seed(tanh, softsign)
    level = judge_test(paired_test([s - t for tr, sr in pairs for t, s in zip(_lasts(tr), _lasts(sr))],
                                   PAIRED_LAYERS), "act_p98 at the end, softsign - tanh", None)
    timing = judge_test(paired_test([_timing_spread(sr) - _timing_spread(tr) for tr, sr in pairs], PAIRED_SEEDS),
                        "timing spread, softsign - tanh", None)
    return both_hold(FIG3_SOFTSIGN, level, timing, {**numbers, "level_test": level.numbers,
                                                     "timing_test": timing.numbers}, scale, said)
