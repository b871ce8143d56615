"""Verdicts on the standard vs the normalized initialisation (Section 4.2, tanh networks).

At update 0: activations shrink with depth under the standard init (Figure 6), so do the
back-propagated gradients dC/ds going down (Figure 7) but not the weight gradients dC/dW
(Figure 8); the layer Jacobian's mean singular value is about 0.5 vs 0.8 (Section 4.2.2).
During training the normalized init keeps the weight gradients' spread across layers
smaller (Figure 9). Ratios and spreads are geometric means over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from glorot.report.records import Claim, Run, Verdict
from glorot.report.verdicts.select import describe_scale, geo_mean, pick_pair, pick_runs

#: Section 4.2.2: the paper's mean Jacobian singular values and the tolerance around them.
JACOBIAN_PAPER = {"standard": 0.5, "normalized": 0.8}
JACOBIAN_TOLERANCE = 0.15

FIG8 = Claim(
    "fig8_weight_gradients_at_init",
    "At initialisation (standard init) the weight gradients dC/dW do not shrink towards the input the way the "
    "back-propagated gradients dC/ds do", "Figure 8",
    "L1 / L_top ratio at update 0 of dCdW_std vs dCds_std (Tanh); reproduced if |log| of the dCdW ratio is smaller")
FIG9 = Claim(
    "fig9_weight_gradients_training",
    "During training the normalized init keeps the weight-gradient std more equal across layers than the standard "
    "init", "Figure 9",
    "spread = max/min over layers of dCdW_std at each probe after update 0, geometric mean over probes and seeds; "
    "reproduced if Tanh N's spread is smaller than Tanh's")
SEC422 = Claim(
    "sec422_jacobian",
    "At initialisation the mean singular value of the layer Jacobian is about 0.5 (standard) vs 0.8 (normalized), "
    "tanh", "Section 4.2.2",
    f"jac_sv_mean at update 0, mean over the hidden-to-hidden layers 2..d (layer 1 if d = 1) and seeds; reproduced "
    f"if standard is within {JACOBIAN_TOLERANCE} of {JACOBIAN_PAPER['standard']}, normalized within "
    f"{JACOBIAN_TOLERANCE} of {JACOBIAN_PAPER['normalized']}, and normalized > standard")

_TOP, _L1 = (lambda d: d), (lambda d: 1)


def _ratio_at_init(runs: list[Run], key: str, num_layer: Callable[[int], int],
                   den_layer: Callable[[int], int]) -> float | None:
    ratios = []
    for r in runs:
        a, b = r.layer(num_layer(r.depth), key).at(0), r.layer(den_layer(r.depth), key).at(0)
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        ratios.append(a / b)
    return geo_mean(ratios) if ratios else None


def _ratio_rule(key: str, ratio_name: str) -> str:
    return (f"ratio {ratio_name} of {key} at update 0 (geometric mean over seeds); reproduced if the standard "
            f"init's ratio is < 1 and the normalized init's ratio is closer to 1 (|log ratio| smaller)")


FIG6 = Claim(
    "fig6_activations_at_init", "At initialisation the standard init's activations shrink towards 0 with depth; "
    "the normalized init keeps their spread across layers", "Figure 6", _ratio_rule("act_std", "L_top / L1"))
FIG7 = Claim(
    "fig7_backprop_at_init", "At initialisation the back-propagated gradients dC/ds shrink towards the input with "
    "the standard init; the normalized init keeps their std flat across layers", "Figure 7",
    _ratio_rule("dCds_std", "L1 / L_top"))


def _flatter_with_normalized(claim: Claim, records: list[Run], key: str, ratio_name: str,
                             top_over_l1: bool) -> Verdict:
    """Figures 6-7: the ratio of ``key`` between the top layer and layer 1 at update 0 is < 1
    with the standard init and closer to 1 with the normalized one."""
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    std_runs = [r for r in std_runs if r.depth >= 2]
    norm_runs = [r for r in norm_runs if r.depth >= 2]
    if not std_runs or not norm_runs:
        return claim.not_run("needs Tanh and Tanh N runs with 2 or more hidden layers on the same data set")
    num, den = (_TOP, _L1) if top_over_l1 else (_L1, _TOP)
    rs, rn = _ratio_at_init(std_runs, key, num, den), _ratio_at_init(norm_runs, key, num, den)
    if rs is None or rn is None:
        return claim.not_run(f"{key} at update 0 not recorded", describe_scale(std_runs))
    ok = abs(math.log(rn)) < abs(math.log(rs)) and rs < 1
    return claim.decided(ok, {"ratio_standard": round(rs, 4), "ratio_normalized": round(rn, 4)},
                         f"{ratio_name}: standard {rs:.3f}, normalized {rn:.3f}", describe_scale(std_runs))


def activations_shrink_with_standard_init(records: list[Run]) -> Verdict:
    """Figure 6: with the standard init, activations shrink with depth; normalized keeps them."""
    return _flatter_with_normalized(FIG6, records, "act_std", "L_top / L1", top_over_l1=True)


def normalized_keeps_backprop_flat(records: list[Run]) -> Verdict:
    """Figure 7: dC/ds shrinks towards the input with the standard init; normalized keeps it flat."""
    return _flatter_with_normalized(FIG7, records, "dCds_std", "L1 / L_top", top_over_l1=False)


def weight_gradients_do_not_shrink(records: list[Run]) -> Verdict:
    """Figure 8: with the standard init, dC/dW does not shrink across layers the way dC/ds does."""
    runs = [r for r in pick_runs(records, "Tanh") if r.depth >= 2]
    if not runs:
        return FIG8.not_run("no Tanh run with 2 or more hidden layers")
    rw, rs = _ratio_at_init(runs, "dCdW_std", _L1, _TOP), _ratio_at_init(runs, "dCds_std", _L1, _TOP)
    if rw is None or rs is None:
        return FIG8.not_run("gradient stds at update 0 not recorded", describe_scale(runs))
    return FIG8.decided(abs(math.log(rw)) < abs(math.log(rs)), {"ratio_dCdW": round(rw, 4), "ratio_dCds": round(rs, 4)},
                        f"L1/L_top: dC/dW {rw:.3f} vs dC/ds {rs:.3f}", describe_scale(runs))


def _spread_during_training(runs: list[Run]) -> float | None:
    """Geometric mean over probes after update 0 (and over seeds) of max/min dCdW_std across layers."""
    spreads = []
    for r in runs:
        for s in r.layer(1, "dCdW_std").steps:
            if s == 0:
                continue
            values = [r.layer(i, "dCdW_std").at(s) for i in r.layers]
            if all(v is not None and v > 0 for v in values):
                spreads.append(max(values) / min(values))
    return geo_mean(spreads) if spreads else None


def normalized_equalises_weight_gradients(records: list[Run]) -> Verdict:
    """Figure 9: during training the normalized init keeps weight-gradient stds closer across layers."""
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    std_runs = [r for r in std_runs if r.depth >= 2 and r.updates > 0]
    norm_runs = [r for r in norm_runs if r.depth >= 2 and r.updates > 0]
    ss, sn = _spread_during_training(std_runs), _spread_during_training(norm_runs)
    if ss is None or sn is None:
        return FIG9.not_run("needs trained Tanh and Tanh N runs (2+ hidden layers, probes after update 0)")
    return FIG9.decided(sn < ss, {"spread_standard": round(ss, 4), "spread_normalized": round(sn, 4)},
                        f"max/min across layers: standard {ss:.3f}, normalized {sn:.3f}", describe_scale(std_runs))


def _jacobian_mean(runs: list[Run]) -> float | None:
    values = []
    for r in runs:
        for i in (range(2, r.depth + 1) if r.depth >= 2 else range(1, 2)):
            v = r.layer(i, "jac_sv_mean").at(0)
            if v is None:
                return None
            values.append(v)
    return sum(values) / len(values) if values else None


def jacobian_singular_values(records: list[Run]) -> Verdict:
    """Section 4.2.2: mean singular value of the layer Jacobian ~0.5 standard vs ~0.8 normalized (tanh)."""
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    js, jn = _jacobian_mean(std_runs), _jacobian_mean(norm_runs)
    if js is None or jn is None:
        return SEC422.not_run("needs Tanh and Tanh N runs with jac_sv_mean at update 0 on the same data set")
    ok = (abs(js - JACOBIAN_PAPER["standard"]) <= JACOBIAN_TOLERANCE
          and abs(jn - JACOBIAN_PAPER["normalized"]) <= JACOBIAN_TOLERANCE and jn > js)
    return SEC422.decided(ok, {"standard": round(js, 4), "normalized": round(jn, 4)},
                          f"mean singular value: standard {js:.3f}, normalized {jn:.3f} (paper 0.5 vs 0.8)",
                          describe_scale(std_runs))
