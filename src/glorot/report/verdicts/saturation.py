"""Verdicts on saturation during training: Figure 2 (sigmoid) and Figure 3 (tanh).

Figure 2: the sigmoid net's top hidden layer is driven to 0 early in training while the
lower layers are not. Figure 3 (top): tanh layers saturate one after another, starting
from layer 1. Both are decided per seed, on the runs' ``act_mean`` and ``act_p98``
diagnostics; reproduced when more than half of the seeds show it.
"""

from __future__ import annotations

from glorot.report.records import Claim, Run, Verdict
from glorot.report.verdicts.select import describe_scale, majority, pick_runs

#: Figure 2: the top sigmoid layer's mean activation must fall below this ...
SIGMOID_TOP_BELOW = 0.1
#: ... within this fraction of the run's updates (at a probe after update 0) ...
SIGMOID_EARLY_FRACTION = 0.25
#: ... while every lower layer's mean stays at or above this (not driven to 0).
SIGMOID_LOWER_ABOVE = 0.4
#: Figure 3: a tanh layer counts as saturated once its 98th percentile reaches this.
TANH_P98_SATURATED = 0.95

FIG2 = Claim(
    "fig2_sigmoid_saturation",
    "The sigmoid net's top hidden layer saturates near 0 early in training, while lower layers do not",
    "Figure 2",
    f"top layer act_mean < {SIGMOID_TOP_BELOW} at some probe in the first {SIGMOID_EARLY_FRACTION:.0%} of updates "
    f"(after update 0), with every lower layer's act_mean >= {SIGMOID_LOWER_ABOVE} at that probe; reproduced if "
    f"more than half of the seeds show it")
FIG3 = Claim(
    "fig3_tanh_sequential", "Tanh layers (standard init) saturate one after another, starting from layer 1",
    "Figure 3",
    f"a layer is saturated from the first probe where act_p98 >= {TANH_P98_SATURATED}; reproduced if the saturated "
    f"layers are 1..k with k >= 2, their first-saturation updates do not decrease with the layer index and layer 1 "
    f"saturates strictly before layer k (in more than half of the seeds)")


def _lower_min(run: Run, step: int) -> float | None:
    """The smallest act_mean of the layers below the top one at ``step``."""
    values = [run.layer(i, "act_mean").at(step) for i in range(1, run.depth)]
    return None if any(v is None for v in values) else min(values)


def _sigmoid_seed(run: Run) -> dict | None:
    """One seed of Figure 2: the probe where the top layer saturates early (or its lowest
    early probe), None without a probe in the early window."""
    top = run.layer(run.depth, "act_mean")
    window = [s for s in top.steps if 0 < s <= SIGMOID_EARLY_FRACTION * run.updates]
    if not window:
        return None
    tops = {s: top.at(s) for s in window}
    lower = {s: _lower_min(run, s) for s in window}
    hit_step = next((s for s in window if tops[s] < SIGMOID_TOP_BELOW and lower[s] is not None
                     and lower[s] >= SIGMOID_LOWER_ABOVE), None)
    first = hit_step if hit_step is not None else min(window, key=lambda s: tops[s])
    return {"step": first, "top_act_mean": round(tops[first], 4),
            "lower_min_act_mean": None if lower[first] is None else round(lower[first], 4),
            "saturated": hit_step is not None}


def sigmoid_top_layer_saturates(records: list[Run]) -> Verdict:
    """Figure 2: the sigmoid net's top hidden layer is driven to 0 early while lower layers are not."""
    runs = [r for r in pick_runs(records, "Sigmoid", prefer_depth=4) if r.depth >= 2]
    if not runs:
        return FIG2.not_run("no Sigmoid run with 2 or more hidden layers")
    per_seed, measured, hits = {}, 0, 0
    for r in runs:
        seed = _sigmoid_seed(r)
        if seed is not None:
            per_seed[f"seed {r.seed}"] = seed
            measured += 1
            hits += seed["saturated"]
    if not measured:
        return FIG2.not_run(f"no diagnostics probe within the first {SIGMOID_EARLY_FRACTION:.0%} of training",
                            describe_scale(runs))
    return FIG2.decided(majority(hits, measured), per_seed,
                        f"{hits} of {measured} seed(s) saturate the top layer (layer {runs[0].depth}) early",
                        describe_scale(runs))


def _first_saturation(run: Run) -> dict[int, int | None]:
    """Per layer, the first update where act_p98 reaches the threshold (None: never)."""
    return {i: next((s for s, v in run.layer(i, "act_p98").points() if v >= TANH_P98_SATURATED), None)
            for i in run.layers}


def _in_layer_order(first: dict[int, int | None]) -> bool:
    saturated = [i for i in first if first[i] is not None]
    k = len(saturated)
    return (k >= 2 and saturated == list(range(1, k + 1))
            and all(first[i] <= first[i + 1] for i in range(1, k)) and first[1] < first[k])


def tanh_saturates_layer_by_layer(records: list[Run]) -> Verdict:
    """Figure 3 (top): tanh layers saturate one after another, starting from layer 1."""
    runs = [r for r in pick_runs(records, "Tanh") if r.depth >= 2 and r.updates > 0]
    if not runs:
        return FIG3.not_run("no trained Tanh run with 2 or more hidden layers")
    per_seed, hits = {}, 0
    for r in runs:
        first = _first_saturation(r)
        hits += _in_layer_order(first)
        per_seed[f"seed {r.seed}"] = {f"L{i}": first[i] for i in first}
    return FIG3.decided(majority(hits, len(runs)), per_seed,
                        f"update of first act_p98 >= {TANH_P98_SATURATED} per layer (None: never); "
                        f"{hits} of {len(runs)} seed(s) saturate in layer order", describe_scale(runs))
