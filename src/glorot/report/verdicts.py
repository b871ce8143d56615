"""A verdict per claim of the paper, computed from the study's own numbers.

Each function takes plain records and returns a verdict dict:
``{id, claim, source, status, rule, numbers, evidence, scale}`` with ``status`` one of
``reproduced``, ``not reproduced`` or ``not run`` (the study lacks the data to decide).

* diagnostics records (see :mod:`glorot.report.collect`): ``network, activation, init,
  dataset, depth, width, lr, seed, updates`` and ``series`` {``L{i}/act_mean``: [[step,
  value], ...], ...};
* Table 1 cells (see :mod:`glorot.report.table1`): ``network, dataset, depth, state,
  mean_pct, test_errors_pct, test_n, seeds, updates``;
* the Figure 5 experiment's result (see :mod:`glorot.report.costsurface`).

Where a claim is decided per seed, it is reproduced when more than half of the seeds
show it. Thresholds are module constants, named in each verdict's ``rule``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from glorot.config import DATASET_TITLES, DATASETS
from glorot.report.significance import ALPHA, compare

REPRODUCED, NOT_REPRODUCED, NOT_RUN = "reproduced", "not reproduced", "not run"

#: Figure 2: the top sigmoid layer's mean activation must fall below this ...
SIGMOID_TOP_BELOW = 0.1
#: ... within this fraction of the run's updates (at a probe after update 0) ...
SIGMOID_EARLY_FRACTION = 0.25
#: ... while every lower layer's mean stays at or above this (not driven to 0).
SIGMOID_LOWER_ABOVE = 0.4
#: Figure 3: a tanh layer counts as saturated once its 98th percentile reaches this.
TANH_P98_SATURATED = 0.95
#: Section 4.2.2: the paper's mean Jacobian singular values and the tolerance around them.
JACOBIAN_PAPER = {"standard": 0.5, "normalized": 0.8}
JACOBIAN_TOLERANCE = 0.15


def _verdict(vid: str, claim: str, source: str, status: str, rule: str, numbers: dict | None = None,
             evidence: str = "", scale: str = "") -> dict:
    return {"id": vid, "claim": claim, "source": source, "status": status, "rule": rule,
            "numbers": numbers or {}, "evidence": evidence, "scale": scale}


def _dataset_order(dataset: str) -> int:
    return DATASETS.index(dataset) if dataset in DATASETS else len(DATASETS)


def describe_scale(runs: list[dict]) -> str:
    """The scale a verdict rests on: data set, depth, width, updates, seeds, learning rate."""
    if not runs:
        return ""
    r = runs[0]
    seeds = sorted({x["seed"] for x in runs})
    return (f"{DATASET_TITLES.get(r['dataset'], r['dataset'])}, depth {r['depth']}, width {r['width']}, "
            f"{r['updates']} updates, {len(seeds)} seed(s), lr {r['lr']:g}")


def _with_series(records: list[dict], network: str) -> list[dict]:
    return [r for r in records if r["network"] == network and r.get("series")]


def pick_runs(records: list[dict], network: str, prefer_depth: int | None = None) -> list[dict]:
    """The runs of ``network`` on one data set (Shapeset-3x2 first) at one depth
    (``prefer_depth`` if run, else the deepest) and width (the widest), all seeds, by seed."""
    runs = _with_series(records, network)
    if not runs:
        return []
    dataset = min({r["dataset"] for r in runs}, key=_dataset_order)
    runs = [r for r in runs if r["dataset"] == dataset]
    depths = {r["depth"] for r in runs}
    depth = prefer_depth if prefer_depth in depths else max(depths)
    width = max(r["width"] for r in runs if r["depth"] == depth)
    return sorted((r for r in runs if r["depth"] == depth and r["width"] == width), key=lambda r: r["seed"])


def pick_pair(records: list[dict], a: str, b: str) -> tuple[list[dict], list[dict]]:
    """Runs of networks ``a`` and ``b`` on a data set, depth and width both have (Shapeset, deepest,
    widest first)."""
    ra, rb = _with_series(records, a), _with_series(records, b)
    common = ({(r["dataset"], r["depth"], r["width"]) for r in ra}
              & {(r["dataset"], r["depth"], r["width"]) for r in rb})
    if not common:
        return [], []
    key = min(common, key=lambda k: (_dataset_order(k[0]), -k[1], -k[2]))

    def keep(runs: list[dict]) -> list[dict]:
        return sorted((r for r in runs if (r["dataset"], r["depth"], r["width"]) == key), key=lambda r: r["seed"])
    return keep(ra), keep(rb)


def value_at(record: dict, key: str, step: int) -> float | None:
    """The metric ``key`` of a diagnostics record at ``step`` (None if not recorded)."""
    for s, v in record.get("series", {}).get(key, ()):
        if s == step:
            return v
    return None


def steps_of(record: dict, key: str) -> list[int]:
    return [s for s, _ in record.get("series", {}).get(key, ())]


def _geo_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _majority(hits: int, total: int) -> bool:
    return total > 0 and hits * 2 > total


# --- Figure 2 -----------------------------------------------------------------------------

def _lower_min(record: dict, step: int) -> float | None:
    """The smallest act_mean of the layers below the top one at ``step``."""
    values = [value_at(record, f"L{i}/act_mean", step) for i in range(1, record["depth"])]
    return None if any(v is None for v in values) else min(values)


def sigmoid_top_layer_saturates(records: list[dict]) -> dict:
    """Figure 2: the sigmoid net's top hidden layer is driven to 0 early while lower layers are not."""
    claim = "The sigmoid net's top hidden layer saturates near 0 early in training, while lower layers do not"
    rule = (f"top layer act_mean < {SIGMOID_TOP_BELOW} at some probe in the first {SIGMOID_EARLY_FRACTION:.0%} "
            f"of updates (after update 0), with every lower layer's act_mean >= {SIGMOID_LOWER_ABOVE} at that "
            f"probe; reproduced if more than half of the seeds show it")
    runs = pick_runs(records, "Sigmoid", prefer_depth=4)
    runs = [r for r in runs if r["depth"] >= 2]
    if not runs:
        return _verdict("fig2_sigmoid_saturation", claim, "Figure 2", NOT_RUN, rule,
                        evidence="no Sigmoid run with 2 or more hidden layers")
    per_seed, measured, hits = {}, 0, 0
    for r in runs:
        top = f"L{r['depth']}/act_mean"
        window = [s for s in steps_of(r, top) if 0 < s <= SIGMOID_EARLY_FRACTION * r["updates"]]
        if not window:
            continue
        measured += 1
        tops = {s: value_at(r, top, s) for s in window}
        lower = {s: _lower_min(r, s) for s in window}
        hit_step = next((s for s in window if tops[s] < SIGMOID_TOP_BELOW and lower[s] is not None
                         and lower[s] >= SIGMOID_LOWER_ABOVE), None)
        hits += hit_step is not None
        first = hit_step if hit_step is not None else min(window, key=lambda s: tops[s])
        per_seed[f"seed {r['seed']}"] = {
            "step": first, "top_act_mean": round(tops[first], 4),
            "lower_min_act_mean": None if lower[first] is None else round(lower[first], 4),
            "saturated": hit_step is not None}
    if not measured:
        return _verdict("fig2_sigmoid_saturation", claim, "Figure 2", NOT_RUN, rule, scale=describe_scale(runs),
                        evidence=f"no diagnostics probe within the first {SIGMOID_EARLY_FRACTION:.0%} of training")
    status = REPRODUCED if _majority(hits, measured) else NOT_REPRODUCED
    return _verdict("fig2_sigmoid_saturation", claim, "Figure 2", status, rule, per_seed,
                    f"{hits} of {measured} seed(s) saturate the top layer (layer {runs[0]['depth']}) early",
                    describe_scale(runs))


# --- Figure 3 -----------------------------------------------------------------------------

def tanh_saturates_layer_by_layer(records: list[dict]) -> dict:
    """Figure 3 (top): tanh layers saturate one after another, starting from layer 1."""
    claim = "Tanh layers (standard init) saturate one after another, starting from layer 1"
    rule = (f"a layer is saturated from the first probe where act_p98 >= {TANH_P98_SATURATED}; reproduced if "
            f"the saturated layers are 1..k with k >= 2, their first-saturation updates do not decrease with "
            f"the layer index and layer 1 saturates strictly before layer k (in more than half of the seeds)")
    runs = [r for r in pick_runs(records, "Tanh") if r["depth"] >= 2 and r["updates"] > 0]
    if not runs:
        return _verdict("fig3_tanh_sequential", claim, "Figure 3", NOT_RUN, rule,
                        evidence="no trained Tanh run with 2 or more hidden layers")
    per_seed, hits = {}, 0
    for r in runs:
        first = {}
        for i in range(1, r["depth"] + 1):
            key = f"L{i}/act_p98"
            first[i] = next((s for s, v in r["series"].get(key, ()) if v >= TANH_P98_SATURATED), None)
        saturated = [i for i in first if first[i] is not None]
        k = len(saturated)
        ok = (k >= 2 and saturated == list(range(1, k + 1))
              and all(first[i] <= first[i + 1] for i in range(1, k)) and first[1] < first[k])
        hits += ok
        per_seed[f"seed {r['seed']}"] = {f"L{i}": first[i] for i in first}
    status = REPRODUCED if _majority(hits, len(runs)) else NOT_REPRODUCED
    return _verdict("fig3_tanh_sequential", claim, "Figure 3", status, rule, per_seed,
                    f"update of first act_p98 >= {TANH_P98_SATURATED} per layer (None: never); "
                    f"{hits} of {len(runs)} seed(s) saturate in layer order", describe_scale(runs))


# --- Figures 6-8: at initialisation, standard vs normalized ---------------------------------

def _ratio_at_init(runs: list[dict], key: str, num_layer: Callable[[int], int],
                   den_layer: Callable[[int], int]) -> float | None:
    ratios = []
    for r in runs:
        a, b = value_at(r, f"L{num_layer(r['depth'])}/{key}", 0), value_at(r, f"L{den_layer(r['depth'])}/{key}", 0)
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        ratios.append(a / b)
    return _geo_mean(ratios) if ratios else None


def _flatter_with_normalized(vid: str, claim: str, source: str, records: list[dict], key: str,
                             ratio_name: str, top_over_l1: bool, standard_below_one: bool) -> dict:
    rule = (f"ratio {ratio_name} of {key} at update 0 (geometric mean over seeds); reproduced if "
            + ("the standard init's ratio is < 1 and " if standard_below_one else "")
            + "the normalized init's ratio is closer to 1 (|log ratio| smaller)")
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    std_runs = [r for r in std_runs if r["depth"] >= 2]
    norm_runs = [r for r in norm_runs if r["depth"] >= 2]
    if not std_runs or not norm_runs:
        return _verdict(vid, claim, source, NOT_RUN, rule,
                        evidence="needs Tanh and Tanh N runs with 2 or more hidden layers on the same data set")
    top, l1 = (lambda d: d), (lambda d: 1)
    num, den = (top, l1) if top_over_l1 else (l1, top)
    rs, rn = _ratio_at_init(std_runs, key, num, den), _ratio_at_init(norm_runs, key, num, den)
    if rs is None or rn is None:
        return _verdict(vid, claim, source, NOT_RUN, rule, scale=describe_scale(std_runs),
                        evidence=f"{key} at update 0 not recorded")
    ok = abs(math.log(rn)) < abs(math.log(rs)) and (rs < 1 or not standard_below_one)
    return _verdict(vid, claim, source, REPRODUCED if ok else NOT_REPRODUCED, rule,
                    {"ratio_standard": round(rs, 4), "ratio_normalized": round(rn, 4)},
                    f"{ratio_name}: standard {rs:.3f}, normalized {rn:.3f}", describe_scale(std_runs))


def activations_shrink_with_standard_init(records: list[dict]) -> dict:
    """Figure 6: with the standard init, activations shrink with depth; normalized keeps them."""
    return _flatter_with_normalized(
        "fig6_activations_at_init", "At initialisation the standard init's activations shrink towards 0 with "
        "depth; the normalized init keeps their spread across layers", "Figure 6", records, "act_std",
        "L_top / L1", top_over_l1=True, standard_below_one=True)


def normalized_keeps_backprop_flat(records: list[dict]) -> dict:
    """Figure 7: dC/ds shrinks towards the input with the standard init; normalized keeps it flat."""
    return _flatter_with_normalized(
        "fig7_backprop_at_init", "At initialisation the back-propagated gradients dC/ds shrink towards the "
        "input with the standard init; the normalized init keeps their std flat across layers", "Figure 7",
        records, "dCds_std", "L1 / L_top", top_over_l1=False, standard_below_one=True)


def weight_gradients_do_not_shrink(records: list[dict]) -> dict:
    """Figure 8: with the standard init, dC/dW does not shrink across layers the way dC/ds does."""
    claim = ("At initialisation (standard init) the weight gradients dC/dW do not shrink towards the input "
             "the way the back-propagated gradients dC/ds do")
    rule = ("L1 / L_top ratio at update 0 of dCdW_std vs dCds_std (Tanh); reproduced if |log| of the dCdW ratio "
            "is smaller")
    runs = [r for r in pick_runs(records, "Tanh") if r["depth"] >= 2]
    if not runs:
        return _verdict("fig8_weight_gradients_at_init", claim, "Figure 8", NOT_RUN, rule,
                        evidence="no Tanh run with 2 or more hidden layers")
    l1, top = (lambda d: 1), (lambda d: d)
    rw, rs = _ratio_at_init(runs, "dCdW_std", l1, top), _ratio_at_init(runs, "dCds_std", l1, top)
    if rw is None or rs is None:
        return _verdict("fig8_weight_gradients_at_init", claim, "Figure 8", NOT_RUN, rule,
                        scale=describe_scale(runs), evidence="gradient stds at update 0 not recorded")
    ok = abs(math.log(rw)) < abs(math.log(rs))
    return _verdict("fig8_weight_gradients_at_init", claim, "Figure 8", REPRODUCED if ok else NOT_REPRODUCED,
                    rule, {"ratio_dCdW": round(rw, 4), "ratio_dCds": round(rs, 4)},
                    f"L1/L_top: dC/dW {rw:.3f} vs dC/ds {rs:.3f}", describe_scale(runs))


# --- Figure 9 -----------------------------------------------------------------------------

def _spread_during_training(runs: list[dict]) -> float | None:
    """Geometric mean over probes after update 0 (and over seeds) of max/min dCdW_std across layers."""
    spreads = []
    for r in runs:
        for s in steps_of(r, "L1/dCdW_std"):
            if s == 0:
                continue
            values = [value_at(r, f"L{i}/dCdW_std", s) for i in range(1, r["depth"] + 1)]
            if all(v is not None and v > 0 for v in values):
                spreads.append(max(values) / min(values))
    return _geo_mean(spreads) if spreads else None


def normalized_equalises_weight_gradients(records: list[dict]) -> dict:
    """Figure 9: during training the normalized init keeps weight-gradient stds closer across layers."""
    claim = ("During training the normalized init keeps the weight-gradient std more equal across layers than the "
             "standard init")
    rule = ("spread = max/min over layers of dCdW_std at each probe after update 0, geometric mean over probes "
            "and seeds; reproduced if Tanh N's spread is smaller than Tanh's")
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    std_runs = [r for r in std_runs if r["depth"] >= 2 and r["updates"] > 0]
    norm_runs = [r for r in norm_runs if r["depth"] >= 2 and r["updates"] > 0]
    ss, sn = _spread_during_training(std_runs), _spread_during_training(norm_runs)
    if ss is None or sn is None:
        return _verdict("fig9_weight_gradients_training", claim, "Figure 9", NOT_RUN, rule,
                        evidence="needs trained Tanh and Tanh N runs (2+ hidden layers, probes after update 0)")
    return _verdict("fig9_weight_gradients_training", claim, "Figure 9", REPRODUCED if sn < ss else NOT_REPRODUCED,
                    rule, {"spread_standard": round(ss, 4), "spread_normalized": round(sn, 4)},
                    f"max/min across layers: standard {ss:.3f}, normalized {sn:.3f}", describe_scale(std_runs))


# --- Section 4.2.2 --------------------------------------------------------------------------

def _jacobian_mean(runs: list[dict]) -> float | None:
    values = []
    for r in runs:
        layers = range(2, r["depth"] + 1) if r["depth"] >= 2 else range(1, 2)
        for i in layers:
            v = value_at(r, f"L{i}/jac_sv_mean", 0)
            if v is None:
                return None
            values.append(v)
    return sum(values) / len(values) if values else None


def jacobian_singular_values(records: list[dict]) -> dict:
    """Section 4.2.2: mean singular value of the layer Jacobian ~0.5 standard vs ~0.8 normalized (tanh)."""
    claim = ("At initialisation the mean singular value of the layer Jacobian is about 0.5 (standard) vs 0.8 "
             "(normalized), tanh")
    rule = (f"jac_sv_mean at update 0, mean over the hidden-to-hidden layers 2..d (layer 1 if d = 1) and seeds; "
            f"reproduced if standard is within {JACOBIAN_TOLERANCE} of {JACOBIAN_PAPER['standard']}, normalized "
            f"within {JACOBIAN_TOLERANCE} of {JACOBIAN_PAPER['normalized']}, and normalized > standard")
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    js, jn = _jacobian_mean(std_runs), _jacobian_mean(norm_runs)
    if js is None or jn is None:
        return _verdict("sec422_jacobian", claim, "Section 4.2.2", NOT_RUN, rule,
                        evidence="needs Tanh and Tanh N runs with jac_sv_mean at update 0 on the same data set")
    ok = (abs(js - JACOBIAN_PAPER["standard"]) <= JACOBIAN_TOLERANCE
          and abs(jn - JACOBIAN_PAPER["normalized"]) <= JACOBIAN_TOLERANCE and jn > js)
    return _verdict("sec422_jacobian", claim, "Section 4.2.2", REPRODUCED if ok else NOT_REPRODUCED, rule,
                    {"standard": round(js, 4), "normalized": round(jn, 4)},
                    f"mean singular value: standard {js:.3f}, normalized {jn:.3f} (paper 0.5 vs 0.8)",
                    describe_scale(std_runs))


# --- Table 1 --------------------------------------------------------------------------------

def _column(cells: list[dict], dataset: str) -> tuple[int | None, dict[str, dict]]:
    """The depth (5 first, else the deepest) and width (the widest) at which ``dataset`` has
    results of trained networks (an init-only study has none), and that column's cells by network."""
    keys = sorted({(c["depth"], c.get("width") or 0) for c in cells
                   if c["dataset"] == dataset and c["state"] == "ok" and c.get("updates", 0) > 0},
                  key=lambda k: (k[0] != 5, -k[0], -k[1]))
    if not keys:
        return None, {}
    return keys[0][0], {c["network"]: c for c in cells
                        if c["dataset"] == dataset and (c["depth"], c.get("width") or 0) == keys[0]}


def _cell_scale(cell: dict) -> str:
    return (f"{DATASET_TITLES.get(cell['dataset'], cell['dataset'])}, depth {cell['depth']}, "
            f"{cell.get('updates', '?')} updates, {len(cell.get('seeds', []))} seed(s)")


def tanh_n_beats_tanh(cells: list[dict]) -> dict:
    """Table 1: Tanh N has a lower test error than Tanh on Shapeset-3x2 (27.15% -> 15.60%), significantly."""
    claim = "Tanh N beats Tanh on Shapeset-3x2 (paper: 15.60% vs 27.15%)"
    rule = (f"lower mean test error at the learning rate chosen on validation error, and different at "
            f"p < {ALPHA} (Table 1's test); a Tanh cell that diverged at every learning rate counts as beaten")
    depth, column = _column(cells, "shapeset")
    tn, t = column.get("Tanh N"), column.get("Tanh")
    if tn is None or t is None or tn["state"] != "ok" or t["state"] not in ("ok", "diverged"):
        return _verdict("table1_tanh_n_vs_tanh", claim, "Table 1", NOT_RUN, rule,
                        evidence="needs trained Tanh N and Tanh results on Shapeset-3x2 at the same depth")
    if t["state"] == "diverged":
        return _verdict("table1_tanh_n_vs_tanh", claim, "Table 1", REPRODUCED, rule,
                        {"tanh_n_pct": round(tn["mean_pct"], 3), "tanh": "diverged"},
                        "Tanh diverged at every learning rate", _cell_scale(tn))
    test = compare(tn["test_errors_pct"], tn.get("test_n"), t["test_errors_pct"], t.get("test_n"))
    lower = tn["mean_pct"] < t["mean_pct"]
    ok = lower and bool(test["significant"])
    p = test["p"]
    return _verdict("table1_tanh_n_vs_tanh", claim, "Table 1", REPRODUCED if ok else NOT_REPRODUCED, rule,
                    {"tanh_n_pct": round(tn["mean_pct"], 3), "tanh_pct": round(t["mean_pct"], 3),
                     "p": p, "test": test["method"]},
                    f"Tanh N {tn['mean_pct']:.2f}% vs Tanh {t['mean_pct']:.2f}%, "
                    f"p = {'n/a' if p is None else f'{p:.3g}'} ({test['method'] or 'no test'})", _cell_scale(tn))


def sigmoid_worst_on_shapeset(cells: list[dict]) -> dict:
    """Table 1: the sigmoid net is by far the worst on Shapeset-3x2 (82.61%: it does not learn)."""
    claim = "Sigmoid is the worst network on Shapeset-3x2 (paper: 82.61%, chance is about 89%)"
    rule = "Sigmoid's mean test error is the highest of the networks with results on Shapeset-3x2 (at least 2)"
    depth, column = _column(cells, "shapeset")
    ok_cells = {n: c for n, c in column.items() if c["state"] == "ok"}
    if "Sigmoid" not in ok_cells or len(ok_cells) < 2:
        return _verdict("table1_sigmoid_worst", claim, "Table 1", NOT_RUN, rule,
                        evidence="needs trained Sigmoid and at least one other trained network on Shapeset-3x2 "
                                 "at the same depth")
    worst = max(ok_cells.values(), key=lambda c: c["mean_pct"])
    return _verdict("table1_sigmoid_worst", claim, "Table 1",
                    REPRODUCED if worst["network"] == "Sigmoid" else NOT_REPRODUCED, rule,
                    {n: round(c["mean_pct"], 3) for n, c in ok_cells.items()},
                    f"worst: {worst['network']} ({worst['mean_pct']:.2f}%)", _cell_scale(ok_cells["Sigmoid"]))


# --- Figure 5 -------------------------------------------------------------------------------

def quadratic_cost_has_plateaus(surface: dict | None) -> dict:
    """Figure 5: the quadratic cost's surface has flatter plateaus than the cross-entropy's."""
    claim = "The quadratic cost has more plateaus than the cross-entropy (log-likelihood) cost"
    rule = ("plateau fraction = share of the grid where |grad C| < "
            f"{(surface or {}).get('plateau_threshold', 0.1):g} x the surface's largest |grad C|; "
            "reproduced if the quadratic cost's fraction is larger")
    if not surface or "plateau_fraction" not in surface:
        return _verdict("fig5_cost_plateaus", claim, "Figure 5", NOT_RUN, rule, evidence="experiment not run")
    fq, fn = surface["plateau_fraction"]["quadratic"], surface["plateau_fraction"]["nll"]
    return _verdict("fig5_cost_plateaus", claim, "Figure 5", REPRODUCED if fq > fn else NOT_REPRODUCED, rule,
                    {"plateau_quadratic": round(fq, 4), "plateau_nll": round(fn, 4)},
                    f"plateau fraction: quadratic {fq:.3f}, cross-entropy {fn:.3f}", surface.get("scale", ""))


def all_verdicts(records: list[dict], cells: list[dict], surface: dict | None) -> list[dict]:
    """Every verdict, in the paper's order."""
    return [
        sigmoid_top_layer_saturates(records),
        tanh_saturates_layer_by_layer(records),
        quadratic_cost_has_plateaus(surface),
        activations_shrink_with_standard_init(records),
        normalized_keeps_backprop_flat(records),
        weight_gradients_do_not_shrink(records),
        normalized_equalises_weight_gradients(records),
        jacobian_singular_values(records),
        tanh_n_beats_tanh(cells),
        sigmoid_worst_on_shapeset(cells),
    ]
