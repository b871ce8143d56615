"""The verdicts on initialisation (Figures 6-9, Section 4.2.2) and Figure 5, on synthetic records:
reproduced, not reproduced and not run; and the whole list."""

from dataclasses import replace

import pytest
from report_synthetic import evidence, rec

from glorot.report import verdicts as V
from glorot.report.records import CostSurface


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


# --- Figure 5 -------------------------------------------------------------------------------------

def test_quadratic_plateaus():
    surface = CostSurface(grid=(), surfaces={}, plateau_threshold=0.1,
                          plateau_fraction={"nll": 0.15, "quadratic": 0.3}, weights={}, scale="tiny")
    assert V.quadratic_cost_has_plateaus(surface).status == V.REPRODUCED
    surface = replace(surface, plateau_fraction={"nll": 0.3, "quadratic": 0.15})
    assert V.quadratic_cost_has_plateaus(surface).status == V.NOT_REPRODUCED
    assert V.quadratic_cost_has_plateaus(None).status == V.NOT_RUN


def test_all_verdicts_on_nothing_are_not_run():
    out = V.all_verdicts(evidence())
    assert len(out) == 23 and {v.status for v in out} == {V.NOT_RUN}
    assert all(v.rule and v.claim for v in out) and len({v.id for v in out}) == len(out)


@pytest.mark.parametrize("network", ["Tanh", "Tanh N"])
def test_pick_runs_prefers_shapeset_and_deepest(network):
    runs = [at_init(network, act_std=[1, 1, 1]) for _ in range(3)]
    runs = [replace(runs[0], dataset="mnist"), replace(runs[1], depth=5), replace(runs[2], seed=1)]
    picked = V.pick_runs(runs, network)
    assert [(r.dataset, r.depth) for r in picked] == [("shapeset", 5)]
