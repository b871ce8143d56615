"""The verdict on Figure 4: activation histograms at the end of training, tanh vs softsign.

The paper: tanh's activations pile up at the saturation values -1 and +1 (and at 0), while
softsign's sit near the "knees" of the non-linearity, about +-0.6 to 0.8, where it is
non-linear but still passes gradients. Decided on the histograms of each run's last probe
(``diagnostics.npz``: ``u<last>/L<i>/act_counts`` and ``_edges``), pooled over layers and
seeds; runs without histograms fall back to the 98th percentile of the last probe.
"""

from __future__ import annotations

from statistics import fmean

import numpy as np

from glorot.report.records import Claim, Evidence, Run, Verdict
from glorot.report.verdicts.select import describe_scale, needs_pair, pick_pair

#: |a| at or above this counts as at +-1 (saturated) ...
EXTREME = 0.9
#: ... within these bounds as at the knees ...
KNEES = (0.6, 0.8)
#: ... and below this as at 0.
CENTRE = 0.1

FIG4 = Claim(
    "fig4_final_activations", "At the end of training tanh's activations pile up at -1 and +1 (and 0), while "
    "softsign's sit near the knees, about +-0.6 to 0.8", "Figure 4",
    f"histograms of the last probe pooled over layers and seeds: the share of activations with |a| >= {EXTREME} is "
    f"larger for tanh than for softsign, and the share with {KNEES[0]} <= |a| <= {KNEES[1]} is larger for softsign "
    f"than for tanh; without histograms, act_p98 at the last probe averaged over layers and seeds: tanh's >= "
    f"{EXTREME} and softsign's < {EXTREME}")


def band_shares(counts: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """The shares of a histogram's mass at the extremes, at the knees and at the centre (by |bin centre|)."""
    centre = np.abs((edges[:-1] + edges[1:]) / 2)
    total = float(np.sum(counts)) or 1.0
    return {"extremes": float(np.sum(counts[centre >= EXTREME])) / total,
            "knees": float(np.sum(counts[(centre >= KNEES[0]) & (centre <= KNEES[1])])) / total,
            "centre": float(np.sum(counts[centre < CENTRE])) / total}


def _pooled(evidence: Evidence, runs: list[Run]) -> tuple[np.ndarray, np.ndarray] | None:
    """The activation histogram of the last probe, summed over layers and runs; None if one lacks it."""
    total, edges = None, None
    for r in runs:
        hists = evidence.histograms(r.run_id)
        if hists is None or hists.last_update() == 0:
            return None
        for i in r.layers:
            layer = hists.layer(hists.last_update(), i, "act")
            if layer is None or (edges is not None and not np.array_equal(layer[1], edges)):
                return None
            total = layer[0].astype(np.float64) if total is None else total + layer[0]
            edges = layer[1]
    return None if total is None else (total, edges)


def _final_p98(runs: list[Run]) -> float | None:
    values = []
    for r in runs:
        last = [r.layer(i, "act_p98").values[-1] for i in r.layers if len(r.layer(i, "act_p98"))]
        if len(last) != r.depth:
            return None
        values.append(fmean(last))
    return fmean(values) if values else None


def _from_p98(tanh: list[Run], softsign: list[Run]) -> Verdict:
    pt, ps = _final_p98(tanh), _final_p98(softsign)
    if pt is None or ps is None:
        return FIG4.not_run("no histograms or act_p98 at the last probe of the Tanh and Softsign runs")
    return FIG4.decided(pt >= EXTREME > ps, {"final_p98_tanh": round(pt, 4), "final_p98_softsign": round(ps, 4),
                                             "from": "act_p98 (no histograms)"},
                        f"from act_p98 (no histograms): tanh {pt:.3f}, softsign {ps:.3f}", describe_scale(softsign))


def final_activation_histograms(evidence: Evidence) -> Verdict:
    """Figure 4: at the end, tanh's activations sit at +-1 (and 0), softsign's at the knees."""
    tanh, softsign = pick_pair(list(evidence.records), "Tanh", "Softsign", trained=True)
    if not tanh or not softsign:
        return FIG4.not_run(needs_pair("Tanh", "Softsign"))
    ht, hs = _pooled(evidence, tanh), _pooled(evidence, softsign)
    if ht is None or hs is None:
        return _from_p98(tanh, softsign)
    st, ss = band_shares(*ht), band_shares(*hs)
    numbers = {"tanh": {k: round(v, 4) for k, v in st.items()}, "softsign": {k: round(v, 4) for k, v in ss.items()}}
    return FIG4.decided(
        st["extremes"] > ss["extremes"] and ss["knees"] > st["knees"], numbers,
        f"share at |a| >= {EXTREME}: tanh {st['extremes']:.3f}, softsign {ss['extremes']:.3f}; at the knees: "
        f"tanh {st['knees']:.3f}, softsign {ss['knees']:.3f}; at 0: tanh {st['centre']:.3f}, softsign "
        f"{ss['centre']:.3f}", describe_scale(softsign))
