"""Each verdict on synthetic records: reproduced, not reproduced and not run."""

from dataclasses import replace

import pytest

from glorot.report import verdicts as V
from glorot.report.records import Cell, CostSurface, Run, Series

STEPS = [0, 25, 50, 75, 100]


def rec(network, values, depth=3, steps=STEPS, seed=0, dataset="shapeset", updates=100):
    """A diagnostics record whose ``series`` holds ``values`` {key: [value per step]}."""
    activation, _, n = network.partition(" ")
    return Run(run_id=f"{network}-{seed}", network=network, activation=activation.lower(),
               init="normalized" if n == "N" else "standard", dataset=dataset, depth=depth,
               width=100, lr=0.1, seed=seed, updates=updates,
               series={k: Series.of(zip(steps, vs)) for k, vs in values.items()})


def constant(keys, value, n=len(STEPS)):
    return {k: [value] * n for k in keys}


# --- Figure 2 -------------------------------------------------------------------------------

def sigmoid(top):
    values = {"L1/act_mean": [0.5, 0.6, 0.65, 0.7, 0.7], "L2/act_mean": [0.5, 0.55, 0.6, 0.6, 0.6],
              "L3/act_mean": top}
    return rec("Sigmoid", values)


def test_sigmoid_saturation_reproduced():
    v = V.sigmoid_top_layer_saturates([sigmoid([0.5, 0.02, 0.03, 0.1, 0.2])])
    assert v.status == V.REPRODUCED
    assert v.numbers["seed 0"] == {"step": 25, "top_act_mean": 0.02, "lower_min_act_mean": 0.55,
                                   "saturated": True}
    assert "100 updates" in v.scale and "1 seed(s)" in v.scale


def test_sigmoid_saturation_not_reproduced_when_late_or_absent():
    assert V.sigmoid_top_layer_saturates([sigmoid([0.5, 0.5, 0.05, 0.05, 0.05])]).status == V.NOT_REPRODUCED
    assert V.sigmoid_top_layer_saturates([sigmoid([0.5] * 5)]).status == V.NOT_REPRODUCED


def test_sigmoid_saturation_not_run():
    assert V.sigmoid_top_layer_saturates([]).status == V.NOT_RUN
    coarse = sigmoid([0.5, 0.02])
    coarse = replace(coarse, series={k: Series((s.steps[0], 100), (s.values[0], 0.02))
                                     for k, s in coarse.series.items()})
    assert V.sigmoid_top_layer_saturates([coarse]).status == V.NOT_RUN  # no probe in the first 25%


def test_majority_of_seeds_decides():
    yes, no = sigmoid([0.5, 0.02, 0.03, 0.1, 0.2]), replace(sigmoid([0.5] * 5), seed=1)
    assert V.sigmoid_top_layer_saturates([yes, no]).status == V.NOT_REPRODUCED  # 1 of 2 is not a majority


# --- Figure 3 -------------------------------------------------------------------------------

def tanh_p98(l1, l2, l3):
    return rec("Tanh", {"L1/act_p98": l1, "L2/act_p98": l2, "L3/act_p98": l3})


def test_tanh_sequential_saturation_reproduced():
    v = V.tanh_saturates_layer_by_layer([tanh_p98([0.7, 0.97, 0.99, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99],
                                                  [0.3, 0.4, 0.5, 0.6, 0.7])])
    assert v.status == V.REPRODUCED
    assert v.numbers["seed 0"] == {"L1": 25, "L2": 50, "L3": None}


def test_tanh_sequential_saturation_not_reproduced():
    top_first = tanh_p98([0.7, 0.7, 0.7, 0.99, 0.99], [0.5, 0.6, 0.96, 0.99, 0.99], [0.3, 0.99, 0.99, 0.99, 0.99])
    assert V.tanh_saturates_layer_by_layer([top_first]).status == V.NOT_REPRODUCED
    all_at_once = tanh_p98([0.7, 0.99, 1, 1, 1], [0.7, 0.99, 1, 1, 1], [0.7, 0.99, 1, 1, 1])
    assert V.tanh_saturates_layer_by_layer([all_at_once]).status == V.NOT_REPRODUCED
    never = tanh_p98([0.5] * 5, [0.5] * 5, [0.5] * 5)
    assert V.tanh_saturates_layer_by_layer([never]).status == V.NOT_REPRODUCED


def test_tanh_sequential_saturation_not_run():
    untrained = tanh_p98([0.5], [0.5], [0.5])
    untrained = replace(untrained, updates=0, series={k: Series(s.steps[:1], s.values[:1])
                                                      for k, s in untrained.series.items()})
    assert V.tanh_saturates_layer_by_layer([untrained]).status == V.NOT_RUN
    assert V.tanh_saturates_layer_by_layer([]).status == V.NOT_RUN


# --- Figures 6-8: ratios at initialisation ---------------------------------------------------

def at_init(network, **per_layer):
    return rec(network, {f"L{i}/{k}": [v[i - 1]] for k, v in per_layer.items() for i in (1, 2, 3)}, steps=[0])


def test_backprop_flat_with_normalized():
    standard = at_init("Tanh", dCds_std=[0.01, 0.02, 0.04])
    normalized = at_init("Tanh N", dCds_std=[0.035, 0.037, 0.04])
    v = V.normalized_keeps_backprop_flat([standard, normalized])
    assert v.status == V.REPRODUCED and v.numbers == {"ratio_standard": 0.25, "ratio_normalized": 0.875}
    swapped = [replace(standard, network="Tanh N", init="normalized"),
               replace(normalized, network="Tanh", init="standard")]
    assert V.normalized_keeps_backprop_flat(swapped).status == V.NOT_REPRODUCED
    assert V.normalized_keeps_backprop_flat([standard]).status == V.NOT_RUN


def test_activations_shrink_with_standard_init():
    standard = at_init("Tanh", act_std=[0.3, 0.15, 0.08])
    normalized = at_init("Tanh N", act_std=[0.45, 0.4, 0.38])
    assert V.activations_shrink_with_standard_init([standard, normalized]).status == V.REPRODUCED
    grow = at_init("Tanh", act_std=[0.08, 0.15, 0.3])  # standard ratio > 1: not the paper's shrinking
    assert V.activations_shrink_with_standard_init([grow, normalized]).status == V.NOT_REPRODUCED
    other_dataset = replace(normalized, dataset="mnist")
    assert V.activations_shrink_with_standard_init([standard, other_dataset]).status == V.NOT_RUN


def test_weight_gradients_do_not_shrink():
    flat = at_init("Tanh", dCds_std=[0.01, 0.02, 0.04], dCdW_std=[0.002, 0.0021, 0.0019])
    v = V.weight_gradients_do_not_shrink([flat])
    assert v.status == V.REPRODUCED and v.numbers["ratio_dCds"] == 0.25
    shrinking = at_init("Tanh", dCds_std=[0.03, 0.035, 0.04], dCdW_std=[0.0005, 0.001, 0.002])
    assert V.weight_gradients_do_not_shrink([shrinking]).status == V.NOT_REPRODUCED
    assert V.weight_gradients_do_not_shrink([at_init("Tanh N", dCds_std=[1, 1, 1],
                                                     dCdW_std=[1, 1, 1])]).status == V.NOT_RUN


# --- Figure 9 -------------------------------------------------------------------------------

def test_weight_gradient_spread_during_training():
    spread = rec("Tanh", {"L1/dCdW_std": [1, 1, 1, 1, 1], "L2/dCdW_std": [1, 2, 2, 2, 2],
                          "L3/dCdW_std": [1, 4, 4, 4, 4]})
    even = rec("Tanh N", {"L1/dCdW_std": [1, 1, 1, 1, 1], "L2/dCdW_std": [1, 1.1, 1.1, 1.1, 1.1],
                          "L3/dCdW_std": [1, 1.2, 1.2, 1.2, 1.2]})
    v = V.normalized_equalises_weight_gradients([spread, even])
    assert v.status == V.REPRODUCED and v.numbers == {"spread_standard": 4.0, "spread_normalized": 1.2}
    flipped = [replace(spread, network="Tanh N"), replace(even, network="Tanh")]
    assert V.normalized_equalises_weight_gradients(flipped).status == V.NOT_REPRODUCED
    assert V.normalized_equalises_weight_gradients([spread]).status == V.NOT_RUN


# --- Section 4.2.2 ------------------------------------------------------------------------------

def test_jacobian_singular_values():
    std = at_init("Tanh", jac_sv_mean=[0.9, 0.48, 0.52])  # layer 1 (w.r.t. the input) is left out
    norm = at_init("Tanh N", jac_sv_mean=[1.5, 0.79, 0.81])
    v = V.jacobian_singular_values([std, norm])
    assert v.status == V.REPRODUCED and v.numbers == {"standard": 0.5, "normalized": 0.8}
    far = at_init("Tanh N", jac_sv_mean=[1.5, 0.55, 0.55])
    assert V.jacobian_singular_values([std, far]).status == V.NOT_REPRODUCED
    assert V.jacobian_singular_values([std]).status == V.NOT_RUN


# --- Table 1 ------------------------------------------------------------------------------------

def cell(network, errors, dataset="shapeset", depth=5, state="ok", test_n=10_000):
    if state != "ok":
        return Cell(network, dataset, depth, state, test_n=test_n, updates=1000)
    return Cell(network, dataset, depth, state, test_n=test_n, updates=1000, test_errors_pct=tuple(errors),
                mean_pct=sum(errors) / len(errors), seeds=tuple(range(len(errors))))


def test_tanh_n_beats_tanh():
    v = V.tanh_n_beats_tanh([cell("Tanh N", [15.5, 15.7, 15.6]), cell("Tanh", [27.0, 27.3, 27.1])])
    assert v.status == V.REPRODUCED and v.numbers["test"] == "Welch t-test over seeds"
    assert v.numbers["p"] < 0.005 and "3 seed(s)" in v.scale
    # lower but not significant (one seed, z-test on 10,000 examples: 16.0 vs 16.2 is p ~ 0.7)
    weak = V.tanh_n_beats_tanh([cell("Tanh N", [16.0]), cell("Tanh", [16.2])])
    assert weak.status == V.NOT_REPRODUCED and weak.numbers["test"].startswith("two-proportion")
    worse = V.tanh_n_beats_tanh([cell("Tanh N", [30.0]), cell("Tanh", [20.0])])
    assert worse.status == V.NOT_REPRODUCED
    diverged = V.tanh_n_beats_tanh([cell("Tanh N", [30.0]), cell("Tanh", [], state="diverged")])
    assert diverged.status == V.REPRODUCED
    assert V.tanh_n_beats_tanh([cell("Tanh N", [15.0])]).status == V.NOT_RUN
    assert V.tanh_n_beats_tanh([cell("Tanh N", [15.0], dataset="mnist"),
                                cell("Tanh", [20.0], dataset="mnist")]).status == V.NOT_RUN


def test_table_verdicts_need_trained_networks():
    untrained = [replace(cell("Tanh N", [15.0]), updates=0), replace(cell("Tanh", [27.0]), updates=0),
                 replace(cell("Sigmoid", [88.0]), updates=0)]
    assert V.tanh_n_beats_tanh(untrained).status == V.NOT_RUN
    assert V.sigmoid_worst_on_shapeset(untrained).status == V.NOT_RUN


def test_tanh_n_beats_tanh_uses_depth_5_when_several():
    cells = [cell("Tanh N", [15.0], depth=5), cell("Tanh", [27.0], depth=5),
             cell("Tanh N", [40.0], depth=4), cell("Tanh", [20.0], depth=4)]
    assert V.tanh_n_beats_tanh(cells).status == V.REPRODUCED


def test_sigmoid_worst():
    cells = [cell("Sigmoid", [82.0]), cell("Tanh N", [16.0]), cell("Tanh", [27.0])]
    assert V.sigmoid_worst_on_shapeset(cells).status == V.REPRODUCED
    cells[0] = cell("Sigmoid", [20.0])
    assert V.sigmoid_worst_on_shapeset(cells).status == V.NOT_REPRODUCED
    assert V.sigmoid_worst_on_shapeset([cell("Sigmoid", [82.0])]).status == V.NOT_RUN


# --- Figure 5 -------------------------------------------------------------------------------------

def test_quadratic_plateaus():
    surface = CostSurface(grid=(), surfaces={}, plateau_threshold=0.1,
                          plateau_fraction={"nll": 0.15, "quadratic": 0.3}, weights={}, scale="tiny")
    assert V.quadratic_cost_has_plateaus(surface).status == V.REPRODUCED
    surface = replace(surface, plateau_fraction={"nll": 0.3, "quadratic": 0.15})
    assert V.quadratic_cost_has_plateaus(surface).status == V.NOT_REPRODUCED
    assert V.quadratic_cost_has_plateaus(None).status == V.NOT_RUN


def test_all_verdicts_on_nothing_are_not_run():
    out = V.all_verdicts([], [], None)
    assert len(out) == 10 and {v.status for v in out} == {V.NOT_RUN}
    assert all(v.rule and v.claim for v in out)


@pytest.mark.parametrize("network", ["Tanh", "Tanh N"])
def test_pick_runs_prefers_shapeset_and_deepest(network):
    runs = [at_init(network, act_std=[1, 1, 1]) for _ in range(3)]
    runs = [replace(runs[0], dataset="mnist"), replace(runs[1], depth=5), replace(runs[2], seed=1)]
    picked = V.pick_runs(runs, network)
    assert [(r.dataset, r.depth) for r in picked] == [("shapeset", 5)]
