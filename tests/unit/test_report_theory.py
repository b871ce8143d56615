"""The variance predictions of Section 4.2.1 against their closed forms."""

import math
from dataclasses import replace

import numpy as np
import pytest

from glorot.report.records import Run, Series
from glorot.report.theory import (input_moments, layer_sizes, predicted_activation_variance,
                                  predicted_backprop_variance, theory_rows, weight_variance)


def test_weight_variances_are_the_init_formulas():
    assert weight_variance("standard", 1000, 500) == pytest.approx(1 / 3000)
    assert weight_variance("normalized", 1000, 500) == pytest.approx(2 / 1500)


def test_standard_init_shrinks_by_a_third_per_layer():
    sizes = layer_sizes(1000, 1000, 5, 10)
    var_z = predicted_activation_variance(0.5, sizes, "standard")
    assert var_z == pytest.approx([0.5 / 3 ** i for i in range(1, 6)])
    var_ds = predicted_backprop_variance(2.0, sizes, "standard")
    assert var_ds == pytest.approx([2.0 / 3 ** (5 - i) for i in range(1, 6)])


def test_normalized_init_general_products():
    sizes = layer_sizes(1024, 1000, 3, 9)
    var_z = predicted_activation_variance(0.4, sizes, "normalized")
    first = 1024 * 2 / (1024 + 1000)
    assert var_z == pytest.approx([0.4 * first, 0.4 * first, 0.4 * first])  # n Var(W) = 1 between equal layers
    uneven = [10, 20, 40, 5]  # n_0 = 10, two hidden layers of 20 and 40, 5 classes
    expected_z2 = 0.3 * (10 * 2 / 30) * (20 * 2 / 60)
    assert predicted_activation_variance(0.3, uneven, "normalized")[1] == pytest.approx(expected_z2)
    # Var(ds^1) = Var(ds^2) * n_2 Var(W^2) = v * 40 * 2 / (20 + 40)
    assert predicted_backprop_variance(1.0, uneven, "normalized") == pytest.approx([40 * 2 / 60, 1.0])


def test_theory_rows_pair_prediction_and_measurement():
    series = {f"L{i}/act_std": Series.of([[0, math.sqrt(0.5 / 3 ** i)], [10, 0.9]]) for i in (1, 2)}
    series.update({f"L{i}/dCds_std": Series.of([[0, 0.1 * i]]) for i in (1, 2)})
    record = Run(run_id="t", network="Tanh", activation="tanh", init="standard", dataset="shapeset", depth=2,
                 width=1000, seed=0, series=series)
    sigmoid = replace(record, network="Sigmoid", activation="sigmoid")
    rows = theory_rows([record, sigmoid], {"shapeset": 0.5 * 3 / (1024 / 1024)})
    assert [r.layer for r in rows] == [1, 2]  # sigmoid: not in the linear regime at 0, skipped
    assert rows[1].var_dCds_predicted == pytest.approx(0.04) and rows[1].var_dCds_measured == pytest.approx(0.04)
    assert rows[0].var_dCds_predicted == pytest.approx(0.04 * 1000 / 3000)
    assert rows[0].var_z_predicted == pytest.approx(1.5 * 1024 / (3 * 1024))
    assert rows[0].var_z_measured == pytest.approx(0.5 / 3)


def test_input_moments_from_a_prepared_split(tmp_path):
    from glorot.data.store import save_split

    x = np.random.default_rng(0).uniform(-1, 0.5, (50, 8)).astype(np.float32)
    save_split(tmp_path / "shapeset" / "test", x, np.zeros(50, dtype=np.int64), {})
    m, note = input_moments(tmp_path, "shapeset", 20)
    probe = x[:20].astype(np.float64)
    assert m.var == pytest.approx(float(np.var(probe))) and m.mean == pytest.approx(float(probe.mean()))
    assert m.second_moment == pytest.approx(float(np.mean(probe ** 2)))
    assert m.second_moment == pytest.approx(m.var + m.mean ** 2)
    assert "first 20 test examples" in note and m.source == note
    assert str(tmp_path) not in note  # it goes into theory.json and report.md, DVC outputs: no folder
    assert input_moments(tmp_path, "mnist", 20)[0] is None


def test_prediction_uses_the_second_moment_of_inputs_with_a_mean():
    """A tanh net in its linear regime (weights scaled down by c) on inputs of mean -0.74, like
    MNIST in [-1, 1]: Var(z^i) = c^(2i) E[x^2] prod n Var(W) within 10%; Var(x) predicts ~2.5x too little."""
    import torch

    from glorot.paper.nets import MLP

    torch.manual_seed(0)
    n_in, width, depth, c = 300, 2000, 3, 0.05
    x = -0.74 + 0.62 * torch.randn(400, n_in)  # E[x^2] = 0.74^2 + 0.62^2 = 0.93, Var(x) = 0.38
    net = MLP(n_in, 10, depth=depth, width=width, activation="tanh", init="standard", seed=1)
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(c)
        zs = net.forward_trace(x)
    measured = [float(zs[i].std()) ** 2 / c ** (2 * i) for i in range(1, depth + 1)]
    sizes = layer_sizes(n_in, width, depth, 10)
    second, var = float(x.double().square().mean()), float(x.double().var())
    predicted = predicted_activation_variance(second, sizes, "standard")
    assert measured == pytest.approx(predicted, rel=0.10)
    assert second / var > 2.2  # Var(x) instead of E[x^2] would be far off
    assert measured[0] / predicted_activation_variance(var, sizes, "standard")[0] > 2.0
