"""The verdict on Figure 4: activation histograms at the end of training, tanh vs softsign.

The paper: tanh's activations pile up at the saturation values -1 and +1 (and at 0), while
softsign's sit near the "knees" of the non-linearity, about +-0.6 to 0.8, where it is
non-linear but still passes gradients. Read on the histograms of each run's last probe
(``diagnostics.npz``: ``u<last>/L<i>/act_counts`` and ``_edges``), layer by layer: the share of
activations at the extremes and at the knees, Tanh's against Softsign's of the same seed and
layer, each by a paired t-test across the layers of each seed at p < 0.005
(:func:`~glorot.report.verdicts.judge.judge_test`). Reproduced when both differ in the paper's
direction; not reproduced when one differs the other way; else not decided (the paper gives
no size, so no difference cannot count against it).
"""

from __future__ import annotations

import numpy as np

from glorot.report.power import PAIRED_LAYERS
from glorot.report.records import Claim, Evidence, Run, Verdict
from glorot.report.significance import paired_test
from glorot.report.verdicts.judge import both_hold, judge_test
from glorot.report.verdicts.select import describe_scale, needs_pair, paired_by_seed, pick_pair

#: |a| at or above this counts as at +-1 (saturated) ...
EXTREME = 0.9
#: ... within these bounds as at the knees ...
KNEES = (0.6, 0.8)
#: ... and below this as at 0.
CENTRE = 0.1

FIG4 = Claim(
    "fig4_final_activations", "At the end of training tanh's activations pile up at -1 and +1 (and 0), while "
    "softsign's sit near the knees, about +-0.6 to 0.8", "Figure 4",
    f"histograms of the last probe, per layer: the share of activations with |a| >= {EXTREME} larger for tanh than "
    f"for softsign, and the share with {KNEES[0]} <= |a| <= {KNEES[1]} larger for softsign than for tanh, each by a "
    f"paired t-test across the layers of each seed at p < 0.005; reproduced if both hold, not reproduced if one "
    f"differs the other way, else not decided")


def band_shares(counts: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """The shares of a histogram's mass at the extremes, at the knees and at the centre (by |bin centre|)."""
    centre = np.abs((edges[:-1] + edges[1:]) / 2)
    total = float(np.sum(counts)) or 1.0
    return {"extremes": float(np.sum(counts[centre >= EXTREME])) / total,
            "knees": float(np.sum(counts[(centre >= KNEES[0]) & (centre <= KNEES[1])])) / total,
            "centre": float(np.sum(counts[centre < CENTRE])) / total}


def _layer_shares(evidence: Evidence, run: Run) -> list[dict[str, float]] | None:
    """:func:`band_shares` of each layer's histogram at the run's last probe; None if it has none."""
    hists = evidence.histograms(run.run_id)
    if hists is None or hists.last_update() == 0:
        return None
    layers = [hists.layer(hists.last_update(), i, "act") for i in run.layers]
    return None if any(h is None for h in layers) else [band_shares(*h) for h in layers]


def final_activation_histograms(evidence: Evidence) -> Verdict:
    """Figure 4: at the end, tanh's activations sit at +-1 (and 0), softsign's at the knees."""
    tanh, softsign = pick_pair(list(evidence.records), "Tanh", "Softsign", trained=True)
    if not tanh or not softsign:
        return FIG4.not_run(needs_pair("Tanh", "Softsign"))
    shares = [(_layer_shares(evidence, t), _layer_shares(evidence, s)) for t, s in paired_by_seed(tanh, softsign)]
    if any(t is None or s is None for t, s in shares):
        return FIG4.not_run("no activation histograms (diagnostics.npz) at the last probe of the Tanh and Softsign "
                            "runs", describe_scale(softsign))
    pairs = [(t, s) for ts, ss in shares for t, s in zip(ts, ss)]
    mean = {name: {k: round(float(np.mean([p[j][k] for p in pairs])), 4) for k in ("extremes", "knees", "centre")}
            for j, name in enumerate(("tanh", "softsign"))}
    extremes = judge_test(paired_test([s["extremes"] - t["extremes"] for t, s in pairs], PAIRED_LAYERS),
                          f"share at |a| >= {EXTREME}, softsign {mean['softsign']['extremes']:.3f} - tanh "
                          f"{mean['tanh']['extremes']:.3f}", None)
    knees = judge_test(paired_test([t["knees"] - s["knees"] for t, s in pairs], PAIRED_LAYERS),
                       f"share at the knees, tanh {mean['tanh']['knees']:.3f} - softsign "
                       f"{mean['softsign']['knees']:.3f}", None)
    return both_hold(FIG4, extremes, knees, {**mean, "extremes_test": extremes.numbers, "knees_test": knees.numbers},
                     describe_scale(softsign))
