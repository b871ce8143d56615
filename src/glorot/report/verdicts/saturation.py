"""Verdicts on saturation during training: Figure 3 (tanh, top; softsign, bottom) and
Figure 10 (tanh with the normalized init).

Figure 3 (top): tanh layers saturate one after another, starting from layer 1. Figure 3
(bottom): softsign layers saturate less, and together. Figure 10: with the normalized
init, tanh layers no longer saturate one after another. All read the runs' ``act_p98``
diagnostics; Figures 3 (top) and 10 are decided per seed (reproduced when more than half of
the seeds show it), Figure 3 (bottom) on the means over seeds.
"""

from __future__ import annotations

from statistics import fmean

from glorot.report.records import Claim, Evidence, Run, Verdict
from glorot.report.verdicts.select import describe_scale, majority, needs_pair, pick_pair, pick_runs, trained_deep

#: A layer counts as saturated once its 98th percentile reaches this.
TANH_P98_SATURATED = 0.95

_IN_ORDER = (f"a layer is saturated from the first probe where act_p98 >= {TANH_P98_SATURATED}; the layers saturate "
             f"in order when the saturated ones are 1..k with k >= 2, their first-saturation updates do not decrease "
             f"with the layer index and layer 1 saturates strictly before layer k")
FIG3 = Claim(
    "fig3_tanh_sequential", "Tanh layers (standard init) saturate one after another, starting from layer 1",
    "Figure 3", f"{_IN_ORDER}; reproduced if more than half of the seeds saturate in order")
FIG3_SOFTSIGN = Claim(
    "fig3_softsign_saturates_less", "Softsign layers saturate less than tanh's, and together rather than one after "
    "another", "Figure 3 (bottom)",
    "mean over seeds of (a) act_p98 at the last probe, averaged over layers, and (b) the spread of act_p98 across "
    "layers (max - min) averaged over the probes after update 0; reproduced if Softsign's (a) and (b) are both "
    "smaller than Tanh's (same data set, depth and width)")
FIG10 = Claim(
    "fig10_tanh_n_no_sequential_saturation", "With the normalized init, tanh layers do not saturate one after "
    "another", "Figure 10", f"{_IN_ORDER}; reproduced if more than half of the Tanh N seeds do not saturate in "
                            f"order while more than half of the Tanh seeds (same scale) do; not decided when Tanh "
                            f"does not saturate in order either")


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


def tanh_saturates_layer_by_layer(evidence: Evidence) -> Verdict:
    """Figure 3 (top): tanh layers saturate one after another, starting from layer 1."""
    runs = trained_deep(pick_runs(list(evidence.records), "Tanh"))
    if not runs:
        return FIG3.not_run("no trained Tanh run with 2 or more hidden layers")
    hits, per_seed = _order_votes(runs)
    return FIG3.decided(majority(hits, len(runs)), per_seed,
                        f"update of first act_p98 >= {TANH_P98_SATURATED} per layer (None: never); "
                        f"{hits} of {len(runs)} seed(s) saturate in layer order", describe_scale(runs))


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
    return FIG10.decided(not majority(n_hits, len(normalized)), numbers, said, scale)


def _p98_profile(runs: list[Run]) -> tuple[float, float] | None:
    """Mean over seeds of (act_p98 at the last probe averaged over layers, spread of act_p98
    across layers averaged over the probes after update 0); None without probes after 0."""
    finals, spreads = [], []
    for r in runs:
        steps = [s for s in r.layer(1, "act_p98").steps if s > 0]
        rows = [[r.layer(i, "act_p98").at(s) for i in r.layers] for s in steps]
        rows = [row for row in rows if None not in row]
        if not rows:
            return None
        finals.append(fmean(rows[-1]))
        spreads.append(fmean(max(row) - min(row) for row in rows))
    return (fmean(finals), fmean(spreads)) if finals else None


def softsign_saturates_less(evidence: Evidence) -> Verdict:
    """Figure 3 (bottom): softsign layers saturate less than tanh's, and together."""
    tanh, softsign = pick_pair(list(evidence.records), "Tanh", "Softsign", trained=True)
    pt, ps = _p98_profile(tanh), _p98_profile(softsign)
    if pt is None or ps is None:
        return FIG3_SOFTSIGN.not_run(needs_pair("Tanh", "Softsign") + ", with probes after update 0")
    numbers = {"final_p98_tanh": round(pt[0], 4), "final_p98_softsign": round(ps[0], 4),
               "spread_tanh": round(pt[1], 4), "spread_softsign": round(ps[1], 4)}
    return FIG3_SOFTSIGN.decided(
        ps[0] < pt[0] and ps[1] < pt[1], numbers,
        f"act_p98 at the end: softsign {ps[0]:.3f} vs tanh {pt[0]:.3f}; spread across layers: softsign "
        f"{ps[1]:.3f} vs tanh {pt[1]:.3f}", describe_scale(softsign))
