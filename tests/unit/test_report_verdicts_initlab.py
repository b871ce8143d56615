"""The init lab's verdicts (issue 25) on synthetic records that must, and must not, reproduce each
claim, and the ones its runs cannot decide."""

import pytest

from glorot.config import network_name
from glorot.report.records import NOT_DECIDED, NOT_REPRODUCED, NOT_RUN, REPRODUCED, Run, Series
from glorot.report.verdicts.initlab import (deep_rectifier_training, he_forward_signal, jacobian_isometry,
                                            lsuv_unit_variance)


def at_init(activation, init, depth, layers=None, network=None, **fields):
    """A run at update 0: ``layers`` {scalar: [value per hidden layer]}, ``network`` {scalar: value}."""
    series = {f"L{i}/{k}": Series.of([(0, v)]) for k, vs in (layers or {}).items() for i, v in enumerate(vs, 1)}
    series.update({f"net/{k}": Series.of([(0, v)]) for k, v in (network or {}).items()})
    return Run(run_id=f"{activation}-{init}-{depth}-{fields.get('lr', 0)}", network=network_name(activation, init),
               activation=activation, init=init, dataset=fields.pop("dataset", "shapeset"), depth=depth, width=256,
               updates=fields.pop("updates", 0), series=series, status=fields.pop("status", "completed"), **fields)


def geometric(ratio, depth, start=1.0):
    """Pre-activation stds whose variance is multiplied by ``ratio`` at each layer."""
    return [start * ratio ** (i / 2) for i in range(depth)]


def test_he_forward_signal_halves_with_normalized_and_holds_with_he():
    reproduced = [at_init("relu", "normalized", 10, {"pre_std": geometric(0.5, 10, 3.0)}),
                  at_init("relu", "he", 10, {"pre_std": geometric(1.02, 10, 3.0)})]
    v = he_forward_signal(reproduced)
    assert v.status == REPRODUCED and v.numbers["normalized"] == pytest.approx(0.5) and "Section 2.2" in v.source
    both_constant = [at_init("relu", "normalized", 10, {"pre_std": geometric(0.95, 10)}), reproduced[1]]
    assert he_forward_signal(both_constant).status == NOT_REPRODUCED
    assert he_forward_signal([at_init("relu", "he", 10, {"pre_std": geometric(1, 10)})]).status == NOT_RUN
    narrow = [Run(**{**vars(r), "width": 8}) for r in reproduced]
    assert he_forward_signal(narrow).status == NOT_DECIDED and "width 8 < 64" in he_forward_signal(narrow).evidence
    shallow = [at_init("relu", "normalized", 2, {"pre_std": [1, 0.7]}), at_init("relu", "he", 2, {"pre_std": [1, 1]})]
    assert he_forward_signal(shallow).status == NOT_RUN


def jac(activation, init, depth, spread):
    return at_init(activation, init, depth, network={"jac_io_sv_mean": 1.0, "jac_io_sv_std": spread})


def test_pennington_orthogonal_tanh_concentrated_uniform_and_relu_spread():
    # spreads as measured at width 256 on Shapeset-3x2 (0.52 -> 0.61, 1.43 -> 4.84, 1.70 -> 4.58)
    runs = [jac("tanh", "orthogonal", 5, 0.52), jac("tanh", "orthogonal", 50, 0.61),
            jac("tanh", "normalized", 5, 1.43), jac("tanh", "normalized", 50, 4.84),
            jac("relu", "orthogonal", 5, 1.70), jac("relu", "orthogonal", 50, 4.58)]
    v = jacobian_isometry(runs)
    assert v.status == REPRODUCED and v.numbers["ortho_tanh_depth50"] == 0.61 and "Pennington" in v.source
    ortho_spreads = runs[:1] + [jac("tanh", "orthogonal", 50, 1.5)] + runs[2:]  # x2.9 with depth
    assert jacobian_isometry(ortho_spreads).status == NOT_REPRODUCED
    relu_isometric = runs[:4] + [jac("relu", "orthogonal", 5, 0.5), jac("relu", "orthogonal", 50, 0.55)]
    assert jacobian_isometry(relu_isometric).status == NOT_REPRODUCED
    narrow = jacobian_isometry([Run(**{**vars(r), "width": 8}) for r in runs])
    assert narrow.status == NOT_DECIDED and "width 8 < 64" in narrow.evidence
    too_shallow = [r for r in runs if r.depth == 5] + [jac(a, i, 10, 1.0) for a, i in
                                                       (("tanh", "orthogonal"), ("tanh", "normalized"), ("relu", "orthogonal"))]
    assert jacobian_isometry(too_shallow).status == NOT_RUN


def trained(init, lr, valid_error, depth=30, status="completed"):
    return at_init("relu", init, depth, {"pre_std": [1.0] * depth}, updates=5000, lr=lr, valid_error=valid_error,
                   status=status)


def test_deep_rectifier_trains_from_he_and_stalls_from_normalized_on_the_chosen_rate():
    he = [trained("he", 0.01, 0.40), trained("he", 0.03, 0.30)]
    stalled = [trained("normalized", 0.01, 0.83), trained("normalized", 0.03, 0.832)]
    v = deep_rectifier_training(he + stalled)
    assert v.status == REPRODUCED and v.numbers["relu/he_valid_pct"] == 30.0 and "Figure 3" in v.source
    learns = [trained("normalized", 0.01, 0.83), trained("normalized", 0.03, 0.45)]  # choose_lr keeps 0.03
    assert deep_rectifier_training(he + learns).status == NOT_REPRODUCED
    he_stalls = [trained("he", 0.01, 0.83), trained("he", 0.03, float("nan"), status="diverged")]
    assert deep_rectifier_training(he_stalls + stalled).status == NOT_DECIDED
    assert deep_rectifier_training([trained("he", 0.01, 0.3, depth=10)] + stalled).status == NOT_RUN


def test_lsuv_layers_start_at_unit_variance():
    ok = [at_init(a, "lsuv", 20, {"pre_std": [1.0, 0.97, 1.05] + [1.0] * 17}) for a in ("tanh", "relu")]
    v = lsuv_unit_variance(ok)
    assert v.status == REPRODUCED and v.numbers["layers"] == 40 and "Mishkin" in v.source
    drifting = ok[:1] + [at_init("relu", "lsuv", 20, {"pre_std": [1.0] * 19 + [0.8]})]  # Var 0.64
    assert lsuv_unit_variance(drifting).status == NOT_REPRODUCED
    assert lsuv_unit_variance([at_init("tanh", "orthogonal", 20, {"pre_std": [1.0] * 20})]).status == NOT_RUN


def test_the_lab_verdicts_join_the_report_only_for_a_study_that_ran_the_lab_inits():
    from glorot.report.verdicts import all_verdicts
    from report_synthetic import evidence, rec
    paper = [rec("Tanh", {"L1/act_std": [0.5] * 5})]
    lab = paper + [at_init("tanh", "lsuv", 20, {"pre_std": [1.0] * 20})]
    ids = [v.id for v in all_verdicts(evidence(lab))]
    assert len(ids) == len(all_verdicts(evidence(paper))) + 4
    assert ids[-4:] == ["he2015_sec22_forward_signal", "pennington2017_isometry", "he2015_fig3_deep_training",
                        "lsuv2016_unit_variance"]


def test_the_lab_figures_are_drawn_from_runs_at_initialisation(tmp_path):
    import numpy as np

    from glorot.report.figures_initlab import jacobian_spectra, signal_and_gradient_by_layer, spectra_of
    from glorot.report.records import Histograms
    runs = [at_init(a, i, d, {"pre_std": geometric(0.5, d), "dCds_std": geometric(1.1, d)})
            for a in ("tanh", "relu") for i in ("normalized", "orthogonal") for d in (5, 20)]
    counts, edges = np.arange(100), np.linspace(-2, 1, 101)
    arrays = {"u0/net/jac_io_log10sv_counts": counts, "u0/net/jac_io_log10sv_edges": edges}
    spectra = spectra_of(runs, lambda run_id: Histograms(arrays) if "orthogonal" in run_id else None)
    assert set(spectra) == {(a, "orthogonal", d) for a in ("tanh", "relu") for d in (5, 20)}
    for path in (signal_and_gradient_by_layer(runs, tmp_path / "signal.png"), jacobian_spectra(spectra, tmp_path / "j.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
