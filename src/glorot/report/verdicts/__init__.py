"""A verdict per claim of the paper, computed from the study's own numbers.

Each rule takes records (:mod:`glorot.report.records`) and returns a
:class:`~glorot.report.records.Verdict` whose ``status`` is ``reproduced``, ``not
reproduced``, ``not decided`` (the study ran what the claim needs, at a scale that cannot
decide it: the evidence says why) or ``not run`` (the study lacks the runs), with the rule,
the deciding numbers and the scale they rest on:

* :mod:`~glorot.report.verdicts.sigmoid`: Figure 2 (depths 4 and 5) and pre-training;
* :mod:`~glorot.report.verdicts.saturation`: Figures 3 and 10, from runs' diagnostics;
* :mod:`~glorot.report.verdicts.histograms`: Figure 4, from the last probe's histograms;
* :mod:`~glorot.report.verdicts.cost`: Figure 5, from the cost-surface experiment;
* :mod:`~glorot.report.verdicts.initialisation`: Figures 6-9 and Section 4.2.2 (standard
  vs normalized init), from runs' diagnostics;
* :mod:`~glorot.report.verdicts.learning`: Figures 11 and 12, from the learning curves;
* :mod:`~glorot.report.verdicts.ordering`: Figures 11 and 12's final order, from Table 1's cells;
* :mod:`~glorot.report.verdicts.ranking`: Table 1, from its cells;
* :mod:`~glorot.report.verdicts.depth`: depth 4 against depth 5 (a depth study);
* :mod:`~glorot.report.verdicts.initlab`: the init lab's claims from the papers that followed
  (He et al. 2015, Pennington et al. 2017, Mishkin & Matas 2016), for a study that ran their
  initialisations;
* :mod:`~glorot.report.verdicts.judge`: whether one cell beats another, soundly;
* :mod:`~glorot.report.verdicts.select`: which runs decide a claim, and their scale.

Where a claim is decided per seed, it is reproduced when more than half of the seeds
show it. Thresholds are module constants, named in each verdict's ``rule``.
"""

from __future__ import annotations

from glorot.report.records import NOT_DECIDED, NOT_REPRODUCED, NOT_RUN, REPRODUCED, Evidence, Verdict
from glorot.report.verdicts.cost import quadratic_cost_has_plateaus
from glorot.report.verdicts.depth import sigmoid_deeper_is_worse
from glorot.report.verdicts.histograms import final_activation_histograms
from glorot.report.verdicts.initialisation import (activations_shrink_with_standard_init, jacobian_singular_values,
                                                   normalized_equalises_weight_gradients,
                                                   normalized_keeps_backprop_flat, weight_gradients_do_not_shrink)
from glorot.report.verdicts.initlab import INITLAB_VERDICTS, is_initlab
from glorot.report.verdicts.learning import (image_sets_softsign_robust, image_sets_tanh_n_ahead,
                                             shapeset_softsign_robust, shapeset_tanh_n_ahead)
from glorot.report.verdicts.ordering import image_sets_ordering, shapeset_ordering
from glorot.report.verdicts.ranking import sigmoid_worst_on_shapeset, tanh_n_beats_tanh
from glorot.report.verdicts.saturation import (softsign_saturates_less, tanh_n_does_not_saturate_in_order,
                                               tanh_saturates_layer_by_layer)
from glorot.report.verdicts.select import describe_scale, pick_pair, pick_runs
from glorot.report.verdicts.sigmoid import (pretraining_prevents_saturation, sigmoid_depth5_does_not_recover,
                                            sigmoid_top_layer_recovers, sigmoid_top_layer_saturates)

__all__ = [
    "NOT_DECIDED", "NOT_REPRODUCED", "NOT_RUN", "REPRODUCED", "activations_shrink_with_standard_init",
    "all_verdicts", "describe_scale", "final_activation_histograms", "image_sets_ordering",
    "image_sets_softsign_robust", "image_sets_tanh_n_ahead", "jacobian_singular_values",
    "normalized_equalises_weight_gradients", "normalized_keeps_backprop_flat", "pick_pair", "pick_runs",
    "pretraining_prevents_saturation", "quadratic_cost_has_plateaus", "shapeset_ordering",
    "shapeset_softsign_robust", "shapeset_tanh_n_ahead", "sigmoid_deeper_is_worse",
    "sigmoid_depth5_does_not_recover", "sigmoid_top_layer_recovers", "sigmoid_top_layer_saturates",
    "sigmoid_worst_on_shapeset", "softsign_saturates_less", "tanh_n_beats_tanh", "tanh_n_does_not_saturate_in_order",
    "tanh_saturates_layer_by_layer", "weight_gradients_do_not_shrink",
]


def all_verdicts(evidence: Evidence) -> list[Verdict]:
    """Every verdict, in the paper's order; then the init lab's, for a study that ran its initialisations."""
    records = list(evidence.records)
    lab = [rule(records) for rule in INITLAB_VERDICTS] if is_initlab(records) else []
    return [
        sigmoid_top_layer_saturates(evidence),
        sigmoid_top_layer_recovers(evidence),
        sigmoid_depth5_does_not_recover(evidence),
        pretraining_prevents_saturation(evidence),
        tanh_saturates_layer_by_layer(evidence),
        softsign_saturates_less(evidence),
        final_activation_histograms(evidence),
        quadratic_cost_has_plateaus(evidence.surface),
        activations_shrink_with_standard_init(records),
        normalized_keeps_backprop_flat(records),
        weight_gradients_do_not_shrink(records),
        normalized_equalises_weight_gradients(records),
        tanh_n_does_not_saturate_in_order(evidence),
        jacobian_singular_values(records),
        shapeset_tanh_n_ahead(evidence),
        shapeset_softsign_robust(evidence),
        shapeset_ordering(evidence),
        image_sets_tanh_n_ahead(evidence),
        image_sets_softsign_robust(evidence),
        image_sets_ordering(evidence),
        tanh_n_beats_tanh(evidence),
        sigmoid_worst_on_shapeset(evidence),
        sigmoid_deeper_is_worse(evidence),
        *lab,
    ]
