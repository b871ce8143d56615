"""Figures 11-12 on synthetic learning curves: Tanh N below Tanh along training, softsign robust to
the init, and the final ordering, each tested (paired t-test or Table 1's test) with its power."""

import numpy as np
from report_synthetic import cell, evidence, rec

from glorot.report import verdicts as V
from glorot.report.significance import PAIRED_CURVE, PAIRED_SEEDS, WELCH

STEPS = list(range(0, 1200, 100))  # 12 evaluations
WOBBLE = np.array([0, 0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.001, -0.001, 0.004, -0.003, 0.002])


def net(network, level, dataset="shapeset", seeds=(0,), steps=STEPS, wobble=WOBBLE):
    """Runs of ``network`` whose test error (fraction) falls from 0.85 to ``level``, one per seed
    (seed s shifted by 0.002 s), and its Table 1 cell (depth 5)."""
    base = np.linspace(0.85, level, len(steps)) + wobble[:len(steps)]
    runs = [rec(network, {"test/error": list(base + 0.002 * s)}, depth=5, steps=steps, seed=s, dataset=dataset)
            for s in seeds]
    return runs, cell(network, [100 * r.metric("test/error").values[-1] for r in runs], dataset=dataset)


def ev(*nets):
    return evidence([r for runs, _ in nets for r in runs], [c for _, c in nets])


def test_tanh_n_below_tanh_along_the_curve_on_one_seed():
    v = V.shapeset_tanh_n_ahead(ev(net("Tanh N", 0.15), net("Tanh", 0.27, wobble=-WOBBLE)))
    assert v.status == V.REPRODUCED and v.numbers["Shapeset-3x2"]["test"] == PAIRED_CURVE
    assert "gap Tanh N - Tanh" in v.evidence and v.numbers["Shapeset-3x2"]["power_paper_difference"] > 0.8


def test_one_evaluation_behind_does_not_fail_the_curve():
    """Today's rule ("ahead at every evaluation after the first") failed this; the paper's claim is the curve."""
    lapse = WOBBLE.copy()
    lapse[1] = 0.03  # Tanh N 2 points behind Tanh at update 100 only
    assert V.shapeset_tanh_n_ahead(ev(net("Tanh N", 0.15, wobble=lapse), net("Tanh", 0.27))).status == V.REPRODUCED


def test_tanh_n_ahead_is_paired_across_seeds_with_three():
    v = V.shapeset_tanh_n_ahead(ev(net("Tanh N", 0.15, seeds=(0, 1, 2)), net("Tanh", 0.27, seeds=(0, 1, 2),
                                                                                wobble=-WOBBLE)))
    assert v.status == V.REPRODUCED and v.numbers["Shapeset-3x2"]["test"] == PAIRED_SEEDS


def test_tanh_n_ahead_not_decided_without_power_for_the_papers_effect():
    """MNIST: the paper's Tanh N - Tanh is -0.12 points; 4 noisy evaluations cannot see it."""
    few = STEPS[:4]
    v = V.image_sets_tanh_n_ahead(ev(net("Tanh N", 0.5, "mnist", steps=few), net("Tanh", 0.5, "mnist", steps=few,
                                                                                   wobble=-WOBBLE)))
    assert v.status == V.NOT_DECIDED and "(needs 0.8)" in v.evidence and "evaluations would decide it" in v.evidence


def test_tanh_at_chance_where_the_papers_is_not_is_not_comparable():
    v = V.shapeset_tanh_n_ahead(ev(net("Tanh N", 0.15), net("Tanh", 0.84, wobble=-WOBBLE)))
    assert v.status == V.NOT_DECIDED and "not comparable: Tanh (" in v.evidence


def test_softsign_is_robust_when_the_init_moves_it_less_than_tanh():
    """The paper's Softsign N is behind Softsign on MNIST: a robust softsign pair reproduces the claim
    (today's twin rule failed it for Softsign N not leading)."""
    robust = ev(net("Softsign N", 0.17, wobble=-WOBBLE), net("Softsign", 0.165), net("Tanh N", 0.15),
                net("Tanh", 0.27, wobble=-WOBBLE))
    v = V.shapeset_softsign_robust(robust)
    assert v.status == V.REPRODUCED, v.evidence
    sensitive = ev(net("Softsign N", 0.15), net("Softsign", 0.30, wobble=-WOBBLE), net("Tanh N", 0.16),
                   net("Tanh", 0.17, wobble=-WOBBLE))
    assert V.shapeset_softsign_robust(sensitive).status == V.NOT_REPRODUCED
    assert V.shapeset_softsign_robust(ev(net("Softsign N", 0.17), net("Softsign", 0.16))).status == V.NOT_RUN


def test_the_paired_test_decides_against_with_power():
    """Tanh N steadily above Tanh by 10 points: significant, the wrong way."""
    v = V.shapeset_tanh_n_ahead(ev(net("Tanh N", 0.37), net("Tanh", 0.27, wobble=-WOBBLE)))
    assert v.status == V.NOT_REPRODUCED


# --- the ordering, pair by pair, tested -------------------------------------------------------------------------

def test_a_sigmoid_at_chance_is_not_comparable_never_kept():
    """MNIST's paper Sigmoid learns (2.21%); ours at 88.65% is at chance: today's rule counted Sigmoid's
    pairs as kept and said reproduced."""
    mnist = [cell("Tanh N", [1.5, 1.6, 1.55], dataset="mnist"), cell("Sigmoid", [88.6, 88.7, 88.65], dataset="mnist")]
    v = V.image_sets_ordering(evidence(cells=mnist))
    assert v.status == V.NOT_DECIDED
    assert v.numbers["MNIST"]["not comparable"] == ["Tanh N < Sigmoid (Sigmoid at chance, 88.65%)"]
    assert v.numbers["MNIST"]["kept"] == []


def test_the_ordering_is_tested_pair_by_pair():
    seeds3 = {"Tanh N": [15.0, 15.5, 15.2], "Softsign": [17.0, 16.8, 17.3], "Tanh": [26.0, 27.0, 26.5]}
    v = V.shapeset_ordering(evidence(cells=[cell(n, e) for n, e in seeds3.items()]))
    assert v.status == V.REPRODUCED and len(v.numbers["Shapeset-3x2"]["kept"]) == 2  # Tanh N-Softsign: paper's noise
    assert all(WELCH in k for k in v.numbers["Shapeset-3x2"]["kept"])
    seeds3["Tanh"] = [14.0, 14.2, 13.9]
    v = V.shapeset_ordering(evidence(cells=[cell(n, e) for n, e in seeds3.items()]))
    assert v.status == V.NOT_REPRODUCED and len(v.numbers["Shapeset-3x2"]["reversed"]) == 2
    noisy = [cell("Tanh N", [10.0, 30.0, 20.0]), cell("Tanh", [15.0, 35.0, 25.0])]
    v = V.shapeset_ordering(evidence(cells=noisy))  # in order on the means, but the test cannot tell
    assert v.status == V.NOT_DECIDED and len(v.numbers["Shapeset-3x2"]["not decided"]) == 1
    assert V.shapeset_ordering(evidence(cells=[cell("Tanh", [20.0])])).status == V.NOT_RUN
