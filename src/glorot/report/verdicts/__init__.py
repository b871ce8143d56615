"""A verdict per claim of the paper, computed from the study's own numbers.

Each rule takes records (:mod:`glorot.report.records`) and returns a
:class:`~glorot.report.records.Verdict` whose ``status`` is ``reproduced``, ``not
reproduced`` or ``not run`` (the study lacks the data to decide), with the rule, the
deciding numbers and the scale they rest on:

* :mod:`~glorot.report.verdicts.saturation`: Figures 2 and 3, from runs' diagnostics;
* :mod:`~glorot.report.verdicts.cost`: Figure 5, from the cost-surface experiment;
* :mod:`~glorot.report.verdicts.initialisation`: Figures 6-9 and Section 4.2.2 (standard
  vs normalized init), from runs' diagnostics;
* :mod:`~glorot.report.verdicts.ranking`: Table 1, from its cells;
* :mod:`~glorot.report.verdicts.select`: which runs decide a claim, and their scale.

Where a claim is decided per seed, it is reproduced when more than half of the seeds
show it. Thresholds are module constants, named in each verdict's ``rule``.
"""

from __future__ import annotations

from glorot.report.records import NOT_REPRODUCED, NOT_RUN, REPRODUCED, Cell, CostSurface, Run, Verdict
from glorot.report.verdicts.cost import quadratic_cost_has_plateaus
from glorot.report.verdicts.initialisation import (activations_shrink_with_standard_init, jacobian_singular_values,
                                                   normalized_equalises_weight_gradients,
                                                   normalized_keeps_backprop_flat, weight_gradients_do_not_shrink)
from glorot.report.verdicts.ranking import sigmoid_worst_on_shapeset, tanh_n_beats_tanh
from glorot.report.verdicts.saturation import sigmoid_top_layer_saturates, tanh_saturates_layer_by_layer
from glorot.report.verdicts.select import describe_scale, pick_pair, pick_runs

__all__ = [
    "NOT_REPRODUCED", "NOT_RUN", "REPRODUCED", "activations_shrink_with_standard_init", "all_verdicts",
    "describe_scale", "jacobian_singular_values", "normalized_equalises_weight_gradients",
    "normalized_keeps_backprop_flat", "pick_pair", "pick_runs", "quadratic_cost_has_plateaus",
    "sigmoid_top_layer_saturates", "sigmoid_worst_on_shapeset", "tanh_n_beats_tanh", "tanh_saturates_layer_by_layer",
    "weight_gradients_do_not_shrink",
]


def all_verdicts(records: list[Run], cells: list[Cell], surface: CostSurface | None) -> list[Verdict]:
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
