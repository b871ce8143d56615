"""The verdicts on training dynamics (Figures 2, 3, 4, 10 and pre-training) on synthetic runs that
must, and must not, reproduce each claim."""

from dataclasses import replace

import numpy as np
from report_synthetic import evidence, rec

from glorot.report import verdicts as V
from glorot.report.records import Histograms, Series

# --- Figure 2: depth 4 saturates and recovers, depth 5 does not recover -------------------------

LOWER = {"L1/act_mean": [0.5, 0.6, 0.65, 0.7, 0.7], "L2/act_mean": [0.5, 0.55, 0.6, 0.6, 0.6],
         "L3/act_mean": [0.5, 0.5, 0.5, 0.5, 0.5], "L4/act_mean": [0.5, 0.5, 0.5, 0.5, 0.5]}
RECOVERS, STAYS, NEVER = [0.5, 0.02, 0.03, 0.1, 0.2], [0.5, 0.02, 0.01, 0.01, 0.02], [0.5] * 5


def sigmoid(top, depth=4, seed=0, network="Sigmoid"):
    values = {f"L{i}/act_mean": LOWER[f"L{i}/act_mean"] for i in range(1, depth)}
    values[f"L{depth}/act_mean"] = top
    return rec(network, values, depth=depth, seed=seed)


def test_sigmoid_saturation_at_depth_4():
    v = V.sigmoid_top_layer_saturates(evidence([sigmoid(RECOVERS)]))
    assert v.status == V.REPRODUCED
    assert v.numbers["seed 0"] == {"step": 25, "top_act_mean": 0.02, "lower_min_act_mean": 0.5, "saturated": True,
                                   "last_step": 100, "last_top_act_mean": 0.2, "recovered": True}
    assert "depth 4" in v.scale and "100 updates" in v.scale and "1 seed(s)" in v.scale
    late = sigmoid([0.5, 0.5, 0.05, 0.05, 0.05])
    assert V.sigmoid_top_layer_saturates(evidence([late])).status == V.NOT_REPRODUCED
    assert V.sigmoid_top_layer_saturates(evidence([sigmoid(NEVER)])).status == V.NOT_REPRODUCED


def test_sigmoid_saturation_is_decided_at_depth_4_only():
    assert V.sigmoid_top_layer_saturates(evidence([sigmoid(RECOVERS, depth=5)])).status == V.NOT_RUN
    coarse = sigmoid(RECOVERS)
    coarse = replace(coarse, series={k: Series((s.steps[0], 100), (s.values[0], 0.02))
                                     for k, s in coarse.series.items()})
    assert V.sigmoid_top_layer_saturates(evidence([coarse])).status == V.NOT_RUN  # no probe in the first 25%


def test_majority_of_seeds_decides():
    yes, no = sigmoid(RECOVERS), sigmoid(NEVER, seed=1)
    assert V.sigmoid_top_layer_saturates(evidence([yes, no])).status == V.NOT_REPRODUCED  # 1 of 2: no majority


def test_sigmoid_depth_4_recovers():
    assert V.sigmoid_top_layer_recovers(evidence([sigmoid(RECOVERS)])).status == V.REPRODUCED
    v = V.sigmoid_top_layer_recovers(evidence([sigmoid(STAYS)]))
    assert v.status == V.NOT_REPRODUCED and "0 of 1 saturated seed(s) recover" in v.evidence
    never = V.sigmoid_top_layer_recovers(evidence([sigmoid(NEVER)]))
    assert never.status == V.NOT_DECIDED and "nothing to recover from" in never.evidence
    assert V.sigmoid_top_layer_recovers(evidence([sigmoid(RECOVERS, depth=5)])).status == V.NOT_RUN


def test_sigmoid_depth_5_does_not_recover():
    assert V.sigmoid_depth5_does_not_recover(evidence([sigmoid(STAYS, depth=5)])).status == V.REPRODUCED
    assert V.sigmoid_depth5_does_not_recover(evidence([sigmoid(RECOVERS, depth=5)])).status == V.NOT_REPRODUCED
    assert V.sigmoid_depth5_does_not_recover(evidence([sigmoid(NEVER, depth=5)])).status == V.NOT_REPRODUCED
    assert V.sigmoid_depth5_does_not_recover(evidence([sigmoid(STAYS, depth=4)])).status == V.NOT_RUN


# --- pre-training -------------------------------------------------------------------------------------

def dae(top, seed=0):
    return sigmoid(top, seed=seed, network="Sigmoid DAE")


def test_pretraining_prevents_saturation():
    v = V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), dae(NEVER)]))
    assert v.status == V.REPRODUCED and not v.numbers["Sigmoid DAE"]["seed 0"]["saturated"]
    assert V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), dae(STAYS)])).status == V.NOT_REPRODUCED
    both_fine = V.pretraining_prevents_saturation(evidence([sigmoid(NEVER), dae(NEVER)]))
    assert both_fine.status == V.NOT_DECIDED and "Sigmoid does not saturate" in both_fine.evidence
    assert V.pretraining_prevents_saturation(evidence([sigmoid(STAYS)])).status == V.NOT_RUN
    other_depth = replace(dae(NEVER), depth=5, run_id="x")
    assert V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), other_depth])).status == V.NOT_RUN


def test_pretraining_scale_names_the_pretraining():
    pre = replace(dae(NEVER), pretrain_noise=0.25, pretrain_updates=5000)
    v = V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), pre]))
    assert "DAE pre-training: noise 0.25, 5000 updates" in v.scale


# --- Figure 3 (top) and Figure 10: tanh layers saturate one after another -----------------------------

SEQUENTIAL = ([0.7, 0.97, 0.99, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99], [0.3, 0.4, 0.5, 0.6, 0.7])
TOGETHER = ([0.7, 0.99, 1, 1, 1], [0.7, 0.99, 1, 1, 1], [0.7, 0.99, 1, 1, 1])
CALM = ([0.5] * 5, [0.5] * 5, [0.5] * 5)


def p98(network, layers, seed=0):
    return rec(network, {f"L{i}/act_p98": v for i, v in enumerate(layers, 1)}, seed=seed)


def test_tanh_sequential_saturation():
    v = V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", SEQUENTIAL)]))
    assert v.status == V.REPRODUCED and v.numbers["seed 0"] == {"L1": 25, "L2": 50, "L3": None}
    top_first = ([0.7, 0.7, 0.7, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99], [0.3, 0.99, 0.99, 0.99, 0.99])
    for layers in (top_first, TOGETHER):
        assert V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", layers)])).status == V.NOT_REPRODUCED
    calm = V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", CALM)]))  # nothing saturates: as Figure 10
    assert calm.status == V.NOT_DECIDED and "no order of saturation can show" in calm.evidence
    untrained = replace(p98("Tanh", CALM), updates=0)
    assert V.tanh_saturates_layer_by_layer(evidence([untrained])).status == V.NOT_RUN
    assert V.tanh_saturates_layer_by_layer(evidence()).status == V.NOT_RUN


def test_tanh_n_does_not_saturate_in_order():
    standard = p98("Tanh", SEQUENTIAL)
    v = V.tanh_n_does_not_saturate_in_order(evidence([standard, p98("Tanh N", CALM)]))
    assert v.status == V.REPRODUCED and v.numbers["Tanh N"]["seed 0"] == {"L1": None, "L2": None, "L3": None}
    also = V.tanh_n_does_not_saturate_in_order(evidence([standard, p98("Tanh N", SEQUENTIAL)]))
    assert also.status == V.NOT_REPRODUCED
    no_contrast = V.tanh_n_does_not_saturate_in_order(evidence([p98("Tanh", CALM), p98("Tanh N", CALM)]))
    assert no_contrast.status == V.NOT_DECIDED and "Tanh does not saturate layer by layer" in no_contrast.evidence
    assert V.tanh_n_does_not_saturate_in_order(evidence([standard])).status == V.NOT_RUN


# --- Figure 3 (bottom): softsign saturates less, and together ------------------------------------------

def test_softsign_saturates_less_and_together():
    soft = p98("Softsign", ([0.3, 0.6, 0.7, 0.75, 0.8], [0.3, 0.55, 0.7, 0.75, 0.8], [0.3, 0.56, 0.65, 0.7, 0.8]))
    v = V.softsign_saturates_less(evidence([p98("Tanh", SEQUENTIAL), soft]))
    assert v.status == V.REPRODUCED
    assert v.numbers["Softsign"] == {"final_p98": 0.8, "timing_spread": 0.0, "pinned_seeds": 0}
    assert v.numbers["Tanh"] == {"final_p98": round((0.99 + 0.99 + 0.7) / 3, 4), "timing_spread": 0.25,
                                 "pinned_seeds": 0}  # layers 1, 2, 3 half-way up at updates 25, 50, 50
    assert V.softsign_saturates_less(evidence([p98("Tanh", SEQUENTIAL), p98("Softsign", TOGETHER)])).status \
        == V.NOT_REPRODUCED  # saturates more
    assert V.softsign_saturates_less(evidence([soft])).status == V.NOT_RUN


def test_softsign_lower_but_one_layer_after_another_is_not_together():
    """Timing, not the spread of act_p98 across layers (today's rule reproduced this)."""
    staggered = p98("Softsign", ([0.3, 0.7, 0.7, 0.7, 0.7], [0.3, 0.3, 0.3, 0.7, 0.7], [0.3, 0.3, 0.3, 0.3, 0.7]))
    v = V.softsign_saturates_less(evidence([p98("Tanh", SEQUENTIAL), staggered]))
    assert v.status == V.NOT_REPRODUCED and v.numbers["Softsign"]["timing_spread"] == 0.75


def test_tanh_pinned_at_the_ceiling_leaves_softsign_not_decided():
    """Tanh at act_p98 ~ 1 in every layer from the first probe: no timing to compare (a ceiling confound)."""
    calm_soft = p98("Softsign", ([0.3, 0.5, 0.5, 0.5, 0.5], [0.3, 0.5, 0.5, 0.5, 0.5], [0.3, 0.5, 0.5, 0.5, 0.5]))
    v = V.softsign_saturates_less(evidence([p98("Tanh", TOGETHER), calm_soft]))
    assert v.status == V.NOT_DECIDED and "1 of 1 seed(s) pinned at the ceiling" in v.evidence


# --- Figure 4: histograms at the end of training ------------------------------------------------------

EDGES = np.linspace(-1, 1, 21)  # bins of width 0.1; centres -0.95 .. 0.95
CENTRES = (EDGES[:-1] + EDGES[1:]) / 2


def histogram_at(where):
    """Counts piled at the bins whose |centre| is in ``where`` (a tuple of |centre| values)."""
    return np.array([100 if any(abs(abs(c) - w) < 1e-9 for w in where) else 1 for c in CENTRES])


def with_histograms(run, counts, last=100):
    arrays = {}
    for i in run.layers:
        arrays[f"u{last}/L{i}/act_counts"], arrays[f"u{last}/L{i}/act_edges"] = counts, EDGES
    return Histograms(arrays)


def test_final_histograms_tanh_at_the_ends_softsign_at_the_knees():
    tanh, soft = p98("Tanh", TOGETHER), p98("Softsign", CALM)
    hists = {tanh.run_id: with_histograms(tanh, histogram_at((0.95, 0.05))),
             soft.run_id: with_histograms(soft, histogram_at((0.65, 0.75)))}
    v = V.final_activation_histograms(evidence([tanh, soft], histograms=hists.get))
    assert v.status == V.REPRODUCED
    assert v.numbers["tanh"]["extremes"] > 0.4 and v.numbers["softsign"]["knees"] > 0.8
    swapped = {tanh.run_id: hists[soft.run_id], soft.run_id: hists[tanh.run_id]}
    assert V.final_activation_histograms(evidence([tanh, soft], histograms=swapped.get)).status == V.NOT_REPRODUCED


def test_final_histograms_fall_back_to_p98():
    v = V.final_activation_histograms(evidence([p98("Tanh", TOGETHER), p98("Softsign", CALM)]))
    assert v.status == V.REPRODUCED and v.numbers["from"] == "act_p98 (no histograms)"
    v = V.final_activation_histograms(evidence([p98("Tanh", CALM), p98("Softsign", CALM)]))
    assert v.status == V.NOT_REPRODUCED
    assert V.final_activation_histograms(evidence([p98("Tanh", CALM)])).status == V.NOT_RUN
