"""The verdicts on training dynamics (Figures 2, 3, 4, 10 and pre-training) on synthetic runs that
must, and must not, reproduce each claim."""

from dataclasses import replace

import numpy as np
import pytest
from report_synthetic import evidence, rec

from glorot.report import verdicts as V
from glorot.report.records import Histograms, Series

# --- Figure 2: every rate of the grid; depth 4 saturates and recovers, depth 5 does not recover --------

DENSE = [0, 1, 2, 4, 8, 16, 25, 50, 75, 100]  # the engine's log-spaced early probes, then every 25 updates
RECOVERS = [0.5, 0.4, 0.2, 0.05, 0.02, 0.02, 0.03, 0.1, 0.15, 0.2]
STAYS = [0.5, 0.4, 0.2, 0.05, 0.02, 0.01, 0.01, 0.01, 0.01, 0.02]
NEVER = [0.5] * 10
#: The same probes in a run as long as the paper's Figure 2 (its top layer comes back around 2 million updates).
LONG = [25_000 * s for s in DENSE]


def sigmoid(top, depth=4, seed=0, network="Sigmoid", lr=0.1, lower=0.5, steps=DENSE):
    values = {f"L{i}/act_mean": [lower if k else 0.5 for k in range(len(steps))] for i in range(1, depth)}
    values[f"L{depth}/act_mean"] = top
    run = rec(network, values, depth=depth, seed=seed, steps=steps, updates=steps[-1])
    return replace(run, lr=lr, run_id=f"{run.run_id}-{lr:g}")


def grid(*runs, chosen=()):
    return evidence(chosen, grid=runs)


def test_sigmoid_saturation_at_depth_4_per_rate():
    v = V.sigmoid_top_layer_saturates(grid(sigmoid(RECOVERS)))
    assert v.status == V.REPRODUCED and "1 of 1 rate(s) (lr 0.1)" in v.evidence
    assert v.numbers["depth 4"]["lr 0.1"]["seeds"]["seed 0"] == {
        "step": 4, "early_probes": 6, "top_act_mean": 0.05, "lower_min_act_mean": 0.5, "saturated": True,
        "lower_driven_down": False, "last_step": 100, "last_top_act_mean": 0.2, "recovered": True}
    assert "depth 4" in v.scale and "100 updates" in v.scale and "(every rate)" in v.scale


def test_a_tie_broken_rate_does_not_flip_figure_2():
    """Validation (ties to the smaller rate) chose lr 0.01, where the top layer does not saturate; at
    lr 0.1 it does. Today's rule read the chosen rate only and said not reproduced."""
    slow, fast = sigmoid(NEVER, lr=0.01), sigmoid(RECOVERS, lr=0.1)
    for chosen in ((slow,), (fast,)):
        v = V.sigmoid_top_layer_saturates(grid(slow, fast, chosen=chosen))
        assert v.status == V.REPRODUCED and set(v.numbers["depth 4"]) == {"lr 0.01", "lr 0.1"}
        assert not v.numbers["depth 4"]["lr 0.01"]["saturates"] and v.numbers["depth 4"]["lr 0.1"]["saturates"]


def test_a_sigmoid_that_never_saturates_is_not_decided():
    """A sigmoid net at chance whose top layer never falls: no rate shows the early phase (today: not reproduced)."""
    v = V.sigmoid_top_layer_saturates(grid(sigmoid(NEVER, lr=0.01), sigmoid(NEVER, lr=0.1)))
    assert v.status == V.NOT_DECIDED and "no rate shows the early phase" in v.evidence
    collapsed = V.sigmoid_top_layer_saturates(grid(sigmoid(STAYS, lower=0.05)))
    assert collapsed.status == V.NOT_REPRODUCED and "lower layers are driven down" in collapsed.evidence


def test_one_early_probe_decides_nothing():
    """Probes at 0, 25, ... of 100 updates: one probe in the early window (today: reproduced on it)."""
    coarse = sigmoid([0.5, 0.02, 0.03, 0.1, 0.2], steps=[0, 25, 50, 75, 100])
    v = V.sigmoid_top_layer_saturates(grid(coarse))
    assert v.status == V.NOT_DECIDED and "early phase is not resolved" in v.evidence
    assert V.sigmoid_top_layer_saturates(grid(sigmoid(RECOVERS, depth=5))).status == V.NOT_RUN


def test_majority_of_seeds_decides_a_rate():
    v = V.sigmoid_top_layer_saturates(grid(sigmoid(RECOVERS), sigmoid(NEVER, seed=1)))  # 1 of 2: no majority
    assert v.status == V.NOT_DECIDED and not v.numbers["depth 4"]["lr 0.1"]["saturates"]


def test_depth_4_and_5_side_by_side():
    v = V.sigmoid_top_layer_saturates(grid(sigmoid(RECOVERS), sigmoid(STAYS, depth=5)))
    assert v.numbers["depth 5"]["lr 0.1"]["saturates"] and v.numbers["depth 4"]["lr 0.1"]["recovers"]
    five = V.sigmoid_depth5_does_not_recover(grid(sigmoid(RECOVERS, steps=LONG), sigmoid(STAYS, depth=5, steps=LONG)))
    assert five.status == V.REPRODUCED and "depth 4" in five.numbers


def test_sigmoid_depth_4_recovers():
    assert V.sigmoid_top_layer_recovers(grid(sigmoid(RECOVERS))).status == V.REPRODUCED
    v = V.sigmoid_top_layer_recovers(grid(sigmoid(STAYS, steps=LONG)))
    assert v.status == V.NOT_REPRODUCED and "it recovers at 0" in v.evidence
    short = V.sigmoid_top_layer_recovers(grid(sigmoid(STAYS)))  # 100 updates: Figure 2's net had not come back yet
    assert short.status == V.NOT_DECIDED and "end at 100 updates" in short.evidence and "epoch 100" in short.evidence
    never = V.sigmoid_top_layer_recovers(grid(sigmoid(NEVER)))
    assert never.status == V.NOT_DECIDED and "nothing to recover from" in never.evidence
    assert V.sigmoid_top_layer_recovers(grid(sigmoid(RECOVERS, depth=5))).status == V.NOT_RUN


def test_sigmoid_depth_5_does_not_recover():
    assert V.sigmoid_depth5_does_not_recover(grid(sigmoid(STAYS, depth=5, steps=LONG))).status == V.REPRODUCED
    assert V.sigmoid_depth5_does_not_recover(grid(sigmoid(STAYS, depth=5))).status == V.NOT_DECIDED  # 100 updates
    assert V.sigmoid_depth5_does_not_recover(grid(sigmoid(RECOVERS, depth=5))).status == V.NOT_REPRODUCED
    never = V.sigmoid_depth5_does_not_recover(grid(sigmoid(NEVER, depth=5)))
    assert never.status == V.NOT_DECIDED  # today: not reproduced
    assert V.sigmoid_depth5_does_not_recover(grid(sigmoid(STAYS, depth=4))).status == V.NOT_RUN


# --- pre-training -------------------------------------------------------------------------------------

def dae(top, seed=0):
    return sigmoid(top, seed=seed, network="Sigmoid DAE")


def test_pretraining_prevents_saturation_by_fishers_exact_test_over_seeds():
    """One seed each (the old majority rule's reproduced and not reproduced): Fisher's exact test
    cannot tell 1 of 1 from 0 of 1 (it needs 6 seeds each); six seeds each decide it, either way."""
    v = V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), dae(NEVER)]))
    assert v.status == V.NOT_DECIDED and not v.numbers["Sigmoid DAE"]["seed 0"]["saturated"]
    assert "needs 6 seeds of each" in v.evidence
    assert V.pretraining_prevents_saturation(evidence([sigmoid(STAYS), dae(STAYS)])).status == V.NOT_DECIDED
    plain = [sigmoid(STAYS, seed=s) for s in range(6)]
    v = V.pretraining_prevents_saturation(evidence([*plain, *(dae(NEVER, seed=s) for s in range(6))]))
    assert v.status == V.REPRODUCED and v.numbers["test"] == "Fisher's exact test"
    v = V.pretraining_prevents_saturation(evidence([*plain, *(dae(STAYS, seed=s) for s in range(6))]))
    assert v.status == V.NOT_REPRODUCED
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


def test_tanh_sequential_saturation_by_an_exact_order_test():
    """One seed of 3 layers, two saturating in order (the old majority rule's reproduced): by
    chance 1 in 6 (layers 1-2 of 3 chosen, 1 in 3, in order, 1 in 2): not decided, naming the
    seeds that would decide it. Two seeds of 5 layers each saturating one after another (1 in
    120 each): p = 0.0007 by Fisher's method, reproduced."""
    v = V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", SEQUENTIAL)]))
    assert v.status == V.NOT_DECIDED and v.numbers["seed 0"] == {"L1": 25, "L2": 50, "L3": None}
    assert v.numbers["p"] == pytest.approx(1 / 6) and "15 such seed(s) would decide it" in v.evidence
    stairs = [[0.5] * k + [0.99] * (5 - k) for k in range(5)]  # layer i saturates at the (i)th probe after 0
    deep = [rec("Tanh", {f"L{i}/act_p98": v for i, v in enumerate(stairs, 1)}, depth=5, seed=s) for s in (0, 1)]
    v = V.tanh_saturates_layer_by_layer(evidence(deep))
    assert v.status == V.REPRODUCED and v.numbers["p"] == pytest.approx(0.000734, rel=1e-2)
    top_first = ([0.7, 0.7, 0.7, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99], [0.3, 0.99, 0.99, 0.99, 0.99])
    for layers in (top_first, TOGETHER):
        assert V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", layers)])).status == V.NOT_REPRODUCED
    calm = V.tanh_saturates_layer_by_layer(evidence([p98("Tanh", CALM)]))  # nothing saturates: as Figure 10
    assert calm.status == V.NOT_DECIDED and "no order of saturation can show" in calm.evidence
    untrained = replace(p98("Tanh", CALM), updates=0)
    assert V.tanh_saturates_layer_by_layer(evidence([untrained])).status == V.NOT_RUN
    assert V.tanh_saturates_layer_by_layer(evidence()).status == V.NOT_RUN


def test_tanh_n_does_not_saturate_in_order_by_fishers_exact_test_over_seeds():
    """One seed each, Tanh in order and Tanh N calm (the old majority rule's reproduced): Fisher's
    exact test cannot separate 1 of 1 from 0 of 1 (it needs 6 seeds each): not decided. Six seeds
    each decide it, either way."""
    standard = p98("Tanh", SEQUENTIAL)
    v = V.tanh_n_does_not_saturate_in_order(evidence([standard, p98("Tanh N", CALM)]))
    assert v.status == V.NOT_DECIDED and v.numbers["Tanh N"]["seed 0"] == {"L1": None, "L2": None, "L3": None}
    assert v.numbers["seeds_to_decide"] == 6 and "needs 6 seeds of each" in v.evidence
    tanh = [p98("Tanh", SEQUENTIAL, seed=s) for s in range(6)]
    calm = [p98("Tanh N", CALM, seed=s) for s in range(6)]
    v = V.tanh_n_does_not_saturate_in_order(evidence([*tanh, *calm]))
    assert v.status == V.REPRODUCED and v.numbers["p"] < 0.005
    also = V.tanh_n_does_not_saturate_in_order(evidence([*tanh, *(p98("Tanh N", SEQUENTIAL, seed=s) for s in range(6))]))
    assert also.status == V.NOT_REPRODUCED
    no_contrast = V.tanh_n_does_not_saturate_in_order(evidence([p98("Tanh", CALM), p98("Tanh N", CALM)]))
    assert no_contrast.status == V.NOT_DECIDED and "Tanh does not saturate layer by layer" in no_contrast.evidence
    assert V.tanh_n_does_not_saturate_in_order(evidence([standard])).status == V.NOT_RUN


# --- Figure 3 (bottom): softsign saturates less, and together ------------------------------------------

TANH_STAIRS = ([0.7, 0.97, 0.99, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99], [0.3, 0.4, 0.5, 0.96, 0.99])
SOFT_CALM = ([0.3, 0.6, 0.7, 0.75, 0.8], [0.3, 0.55, 0.7, 0.75, 0.8], [0.3, 0.56, 0.65, 0.7, 0.8])


def test_softsign_saturates_less_and_together_by_paired_tests():
    """Three seeds: softsign ends lower in every layer (paired across layers) and rises together
    (timing paired across seeds); with one seed the timing cannot be tested (the old rule, on the
    means, said reproduced)."""
    tanh = [p98("Tanh", TANH_STAIRS, seed=s) for s in (0, 1, 2)]
    soft = [p98("Softsign", SOFT_CALM, seed=s) for s in (0, 1, 2)]
    v = V.softsign_saturates_less(evidence([*tanh, *soft]))
    assert v.status == V.REPRODUCED
    assert v.numbers["Softsign"] == {"final_p98": 0.8, "timing_spread": 0.0, "pinned_seeds": 0}
    assert v.numbers["Tanh"] == {"final_p98": 0.99, "timing_spread": 0.5, "pinned_seeds": 0}  # up at 25, 50, 75
    assert v.numbers["timing_test"]["test"] == "paired t-test across seeds"
    one = V.softsign_saturates_less(evidence([tanh[0], soft[0]]))
    assert one.status == V.NOT_DECIDED and "a paired t-test needs 2 or more paired differences" in one.evidence
    higher = [p98("Softsign", TOGETHER, seed=s) for s in (0, 1, 2)]
    assert V.softsign_saturates_less(evidence([*tanh, *higher])).status == V.NOT_REPRODUCED  # saturates more
    assert V.softsign_saturates_less(evidence(soft)).status == V.NOT_RUN


def test_softsign_lower_but_one_layer_after_another_is_not_together():
    """Timing, not the spread of act_p98 across layers."""
    staggered = p98("Softsign", ([0.3, 0.7, 0.7, 0.7, 0.7], [0.3, 0.3, 0.3, 0.7, 0.7], [0.3, 0.3, 0.3, 0.3, 0.7]))
    tanh = [p98("Tanh", TANH_STAIRS, seed=s) for s in (0, 1)]
    v = V.softsign_saturates_less(evidence([*tanh, staggered, replace(staggered, seed=1, run_id="s1")]))
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


def test_final_histograms_are_compared_layer_by_layer_and_need_them():
    """Tanh at the ends in two layers of three, at the knees in the third: no paired difference at
    p < 0.005 across three layers (the old pooled rule said reproduced); no histograms: not run
    (the old rule fell back to act_p98)."""
    tanh, soft = p98("Tanh", TOGETHER), p98("Softsign", CALM)
    mixed = Histograms({**{f"u100/L{i}/act_{k}": v for i in (1, 2) for k, v in
                           (("counts", histogram_at((0.95, 0.05))), ("edges", EDGES))},
                        "u100/L3/act_counts": histogram_at((0.65, 0.75)), "u100/L3/act_edges": EDGES})
    hists = {tanh.run_id: mixed, soft.run_id: with_histograms(soft, histogram_at((0.65, 0.75)))}
    v = V.final_activation_histograms(evidence([tanh, soft], histograms=hists.get))
    assert v.status == V.NOT_DECIDED and v.numbers["extremes_test"]["test"] == "paired t-test across the layers of " \
                                                                             "each seed"
    assert V.final_activation_histograms(evidence([tanh, soft])).status == V.NOT_RUN
    assert V.final_activation_histograms(evidence([p98("Tanh", CALM)])).status == V.NOT_RUN
