"""Verdicts on the standard vs the normalized initialisation (Section 4.2, tanh networks).

At update 0: activations shrink with depth under the standard init (Figure 6), so do the
back-propagated gradients dC/ds going down (Figure 7) but not the weight gradients dC/dW
(Figure 8); the layer Jacobian's mean singular value is about 0.5 vs 0.8 (Section 4.2.2).
During training the normalized init keeps the weight gradients' spread across layers
smaller (Figure 9).

Each is decided by a paired t-test (:func:`~glorot.report.significance.paired_test`) through
:func:`~glorot.report.verdicts.judge.judge_test`: different at p < 0.005 decides by the sign; no
difference decides against the claim only if the test had 0.8 power to find the paper's own
effect, else the claim is not decided at this scale (with how many pairs would decide it).

* At update 0 the pairs are the layers of each seed (:data:`PAIRED_LAYERS`): the step of log
  std from one layer to the next, Tanh N's against Tanh's of the same seed and layer (Figures
  6-7), or dC/dW's against dC/ds's in the same net (Figure 8); the layer Jacobian's mean
  singular value per hidden-to-hidden layer (Section 4.2.2). The paper's effect is its own
  argument (Section 4.2.1): with the standard init each layer multiplies the variance by
  n Var(W) = 1/3 in the linear regime, so log std moves by :data:`DECAY_PER_LAYER` per layer,
  and by 0 with the normalized init; Section 4.2.2's 0.5 vs 0.8 for the Jacobian.
* During training (Figure 9) the pairs are the probes after update 0 of each seed
  (:data:`~glorot.report.significance.PAIRED_CURVE`): the spread across layers (standard
  deviation of log dCdW_std) of Tanh N against Tanh; the paper gives no size for it, so only a
  difference decides.
"""

from __future__ import annotations

import math

from glorot.report.power import PAIRED_CURVE, PAIRED_LAYERS
from glorot.report.records import Claim, Run, Verdict
from glorot.report.significance import paired_test
from glorot.report.verdicts.judge import judge_test, verdict_from
from glorot.report.verdicts.select import describe_scale, one_per_seed, paired_by_seed, pick_pair, pick_runs

#: Section 4.2.2: the paper's mean Jacobian singular values and the tolerance around them.
JACOBIAN_PAPER = {"standard": 0.5, "normalized": 0.8}
JACOBIAN_TOLERANCE = 0.15
#: Section 4.2.1: log std per layer under the standard init, log(sqrt(n Var(W))) = log(1/sqrt(3)).
DECAY_PER_LAYER = -0.5 * math.log(3)
_DECAY = f"the paper's Section 4.2.1 decay ({DECAY_PER_LAYER:+.3f} log-std per layer)"
_TEST = ("paired t-test at p < 0.005 across the layers of each seed; no difference decides against the claim only "
         "with power >= 0.8 to find " + _DECAY)


def _steps_rule(key: str, direction: str) -> str:
    return (f"|step| of log {key} per layer {direction} at update 0, Tanh N's minus Tanh's (same seed and layer) "
            f"below 0, and Tanh's steps shrinking on average: {_TEST}")


FIG6 = Claim(
    "fig6_activations_at_init", "At initialisation the standard init's activations shrink towards 0 with depth; "
    "the normalized init keeps their spread across layers", "Figure 6", _steps_rule("act_std", "going up"))
FIG7 = Claim(
    "fig7_backprop_at_init", "At initialisation the back-propagated gradients dC/ds shrink towards the input with "
    "the standard init; the normalized init keeps their std flat across layers", "Figure 7",
    _steps_rule("dCds_std", "going down"))
FIG8 = Claim(
    "fig8_weight_gradients_at_init",
    "At initialisation (standard init) the weight gradients dC/dW do not shrink towards the input the way the "
    "back-propagated gradients dC/ds do", "Figure 8",
    f"|step| of log dCdW_std per layer going down minus |step| of log dCds_std (Tanh, same seed and layer) below 0: "
    f"{_TEST}")
FIG9 = Claim(
    "fig9_weight_gradients_training",
    "During training the normalized init keeps the weight-gradient std more equal across layers than the standard "
    "init", "Figure 9",
    "spread = standard deviation over layers of log dCdW_std at each probe after update 0; Tanh N's minus Tanh's "
    "(same seed and probe) below 0: paired t-test at p < 0.005 across the probes of each seed (the paper gives no "
    "size: no difference leaves it not decided)")
SEC422 = Claim(
    "sec422_jacobian",
    "At initialisation the mean singular value of the layer Jacobian is about 0.5 (standard) vs 0.8 (normalized), "
    "tanh", "Section 4.2.2",
    f"jac_sv_mean at update 0 of the hidden-to-hidden layers 2..d (layer 1 if d = 1): Tanh's minus Tanh N's (same "
    f"seed and layer) below 0 by a paired t-test at p < 0.005 across layers and seeds (no difference decides "
    f"against only with power >= 0.8 to find the paper's -0.3), and the means within {JACOBIAN_TOLERANCE} of "
    f"{JACOBIAN_PAPER['standard']} and {JACOBIAN_PAPER['normalized']}")


def _log_steps(run: Run, key: str, upward: bool, step: int = 0) -> list[float] | None:
    """log v(i+1) - log v(i) for the layers i = 1..d-1 at ``step`` (``upward``), or its reverse
    going down; None if a value is missing or not positive."""
    values = [run.layer(i, key).at(step) for i in run.layers]
    if any(v is None or v <= 0 for v in values):
        return None
    steps = [math.log(b) - math.log(a) for a, b in zip(values, values[1:])]
    return steps if upward else [-s for s in steps]


def _deep_pair(records: list[Run]) -> tuple[list[Run], list[Run]]:
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    return [r for r in std_runs if r.depth >= 2], [r for r in norm_runs if r.depth >= 2]


def _flatter_with_normalized(claim: Claim, records: list[Run], key: str, upward: bool) -> Verdict:
    """Figures 6-7: per layer step of log ``key``, Tanh's shrinks and Tanh N's moves less."""
    std_runs, norm_runs = _deep_pair(records)
    if not std_runs or not norm_runs:
        return claim.not_run("needs Tanh and Tanh N runs with 2 or more hidden layers on the same data set")
    diffs, std_steps = [], []
    for s_run, n_run in paired_by_seed(std_runs, norm_runs):
        s_steps, n_steps = _log_steps(s_run, key, upward), _log_steps(n_run, key, upward)
        if s_steps is None or n_steps is None:
            return claim.not_run(f"{key} at update 0 not recorded", describe_scale(std_runs))
        std_steps += s_steps
        diffs += [abs(n) - abs(s) for s, n in zip(s_steps, n_steps)]
    mean_std = sum(std_steps) / len(std_steps)
    numbers = {"mean_step_standard": round(mean_std, 4),
               "mean_step_normalized": round(mean_std + sum(diffs) / len(diffs), 4)}
    said = f"mean log-std step per layer: Tanh {mean_std:+.3f} (Section 4.2.1: {DECAY_PER_LAYER:+.3f})"
    if mean_std >= 0:
        return claim.decided(False, numbers, f"{said}: the standard init's {key} does not shrink",
                             describe_scale(std_runs))
    judged = judge_test(paired_test(diffs, PAIRED_LAYERS), f"{said}; |Tanh N step| - |Tanh step|",
                        DECAY_PER_LAYER, numbers, effect=_DECAY)
    return verdict_from(claim, judged, describe_scale(std_runs))


def activations_shrink_with_standard_init(records: list[Run]) -> Verdict:
    """Figure 6: with the standard init, activations shrink with depth; normalized keeps them."""
    return _flatter_with_normalized(FIG6, records, "act_std", upward=True)


def normalized_keeps_backprop_flat(records: list[Run]) -> Verdict:
    """Figure 7: dC/ds shrinks towards the input with the standard init; normalized keeps it flat."""
    return _flatter_with_normalized(FIG7, records, "dCds_std", upward=False)


def weight_gradients_do_not_shrink(records: list[Run]) -> Verdict:
    """Figure 8: with the standard init, dC/dW does not shrink across layers the way dC/ds does."""
    runs = [r for r in pick_runs(records, "Tanh") if r.depth >= 2]
    if not runs:
        return FIG8.not_run("no Tanh run with 2 or more hidden layers")
    diffs = []
    for run in one_per_seed(runs).values():
        w_steps, s_steps = _log_steps(run, "dCdW_std", False), _log_steps(run, "dCds_std", False)
        if w_steps is None or s_steps is None:
            return FIG8.not_run("gradient stds at update 0 not recorded", describe_scale(runs))
        diffs += [abs(w) - abs(s) for w, s in zip(w_steps, s_steps)]
    judged = judge_test(paired_test(diffs, PAIRED_LAYERS), "|dC/dW step| - |dC/ds step| per layer going down (Tanh)",
                        DECAY_PER_LAYER, {}, effect=_DECAY)
    return verdict_from(FIG8, judged, describe_scale(runs))


def _spread(run: Run, step: int) -> float | None:
    """Standard deviation over layers of log dCdW_std at ``step``; None if a value is missing."""
    values = [run.layer(i, "dCdW_std").at(step) for i in run.layers]
    if any(v is None or v <= 0 for v in values):
        return None
    logs = [math.log(v) for v in values]
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / len(logs))


def normalized_equalises_weight_gradients(records: list[Run]) -> Verdict:
    """Figure 9: during training the normalized init keeps weight-gradient stds closer across layers."""
    std_runs, norm_runs = _deep_pair(records)
    std_runs, norm_runs = [r for r in std_runs if r.updates > 0], [r for r in norm_runs if r.updates > 0]
    diffs = []
    for s_run, n_run in paired_by_seed(std_runs, norm_runs):
        for step in s_run.layer(1, "dCdW_std").steps:
            a, b = (_spread(s_run, step), _spread(n_run, step)) if step > 0 else (None, None)
            if a is not None and b is not None:
                diffs.append(b - a)
    if not diffs:
        return FIG9.not_run("needs trained Tanh and Tanh N runs (2+ hidden layers, probes after update 0)")
    judged = judge_test(paired_test(diffs, PAIRED_CURVE), "spread of log dC/dW std across layers, Tanh N - Tanh",
                        None, {})
    return verdict_from(FIG9, judged, describe_scale(std_runs))


def _jacobian(run: Run) -> list[float] | None:
    values = [run.layer(i, "jac_sv_mean").at(0) for i in (range(2, run.depth + 1) if run.depth >= 2 else [1])]
    return None if any(v is None for v in values) else values


def jacobian_singular_values(records: list[Run]) -> Verdict:
    """Section 4.2.2: mean singular value of the layer Jacobian ~0.5 standard vs ~0.8 normalized (tanh)."""
    std_runs, norm_runs = pick_pair(records, "Tanh", "Tanh N")
    pairs = [(_jacobian(s), _jacobian(n)) for s, n in paired_by_seed(std_runs, norm_runs)]
    if not pairs or any(s is None or n is None for s, n in pairs):
        return SEC422.not_run("needs Tanh and Tanh N runs with jac_sv_mean at update 0 on the same data set")
    std = [v for s, _ in pairs for v in s]
    norm = [v for _, n in pairs for v in n]
    js, jn = sum(std) / len(std), sum(norm) / len(norm)
    numbers = {"standard": round(js, 4), "normalized": round(jn, 4)}
    said = f"mean singular value: standard {js:.3f}, normalized {jn:.3f} (paper 0.5 vs 0.8)"
    far = [f"{name} {v:.3f} is not within {JACOBIAN_TOLERANCE} of {JACOBIAN_PAPER[name]}"
           for name, v in (("standard", js), ("normalized", jn)) if abs(v - JACOBIAN_PAPER[name]) > JACOBIAN_TOLERANCE]
    judged = judge_test(paired_test([s - n for s, n in zip(std, norm)], PAIRED_LAYERS), said,
                        JACOBIAN_PAPER["standard"] - JACOBIAN_PAPER["normalized"], numbers,
                        effect="the paper's 0.5 vs 0.8 (-0.3)")
    if judged.holds and far:
        return SEC422.decided(False, judged.numbers, f"{judged.why}; but {'; '.join(far)}", describe_scale(std_runs))
    return verdict_from(SEC422, judged, describe_scale(std_runs))
