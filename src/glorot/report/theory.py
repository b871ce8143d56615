"""The paper's variance argument (Section 4.2.1; seed derivation) set against measurement.

Notation: hidden layer i = 1..d has n_i units, z^0 = x has n_0 inputs, and the softmax
layer has n_{d+1} = classes. W^i maps layer i-1 to layer i (fan-in n_{i-1}, fan-out n_i).
In the linear regime of a symmetric activation with f'(0) = 1 (tanh, softsign) and with
zero-mean weights independent of the inputs:

* forward   Var(z^i)    = E[x^2] * prod_{k=1..i} n_{k-1} Var(W^k)
* backward  Var(dC/ds^i) = Var(dC/ds^d) * prod_{k=i+1..d} n_k Var(W^k)

The input enters through its second moment E[x^2] = Var(x) + E[x]^2, not its variance: for
s^1_k = sum_j W_kj x_j with zero-mean W independent of x, Var(s^1_k) = sum_j Var(W) E[x_j^2].
The seed's derivation writes Var(x) because it assumes zero-mean inputs; beyond layer 1
the activations of an odd f with zero-mean weights have mean 0, so E[(z^i)^2] = Var(z^i).
The two agree on Shapeset-3x2 (mean about 0 in [-1, 1]); on MNIST scaled to [-1, 1] (mean
about -0.74, Var(x) about 0.38) E[x^2] is about 0.93, and Var(x) would predict about 2.5x
too little.

with Var(W^k) = 1 / (3 n_{k-1}) for the standard init U[-1/sqrt(n_in), 1/sqrt(n_in)] and
2 / (n_{k-1} + n_k) for the normalized one. So the standard init shrinks the forward
variance by n Var(W) = 1/3 per layer, and the back-propagated one by 1/3 per layer going
down; the normalized init keeps both near 1 when the layers have equal widths.

The measured values are the diagnostics at update 0: ``act_std^2`` and ``dCds_std^2``.
Two anchors are measured rather than predicted: E[x^2] is the mean square of every input
value of the run's probe set (the first ``probe_size`` test examples), and Var(dC/ds^d) is
the top hidden layer's measured ``dCds_std^2`` (so layer d matches by construction and the
comparison is about the decay across layers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glorot.report.records import InputMoments, Run, TheoryRow

#: Inputs and classes of the paper's data sets (flattened images; Section 2).
DATASET_SHAPES = {"shapeset": (1024, 9), "mnist": (784, 10), "cifar10": (3072, 10), "small_imagenet": (1369, 10)}
#: Activations for which the linear-regime argument holds (odd, f'(0) = 1).
LINEAR_AT_ZERO = ("tanh", "softsign")


def weight_variance(init: str, n_in: int, n_out: int) -> float:
    """Var(W) of the uniform initialisations: 1/(3 n_in) standard, 2/(n_in + n_out) normalized."""
    if init == "standard":
        return 1.0 / (3.0 * n_in)
    if init == "normalized":
        return 2.0 / (n_in + n_out)
    if init == "he":
        return 2.0 / n_in
    raise ValueError(f"no variance formula for init {init!r}")


def layer_sizes(n_in: int, width: int, depth: int, n_classes: int) -> list[int]:
    """[n_0, n_1, ..., n_d, n_{d+1}]: input, ``depth`` hidden layers of ``width``, classes."""
    return [n_in] + [width] * depth + [n_classes]


def predicted_activation_variance(x_second_moment: float, sizes: list[int], init: str) -> list[float]:
    """Var(z^i) for i = 1..d (d = len(sizes) - 2): E[x^2] prod_{k<=i} n_{k-1} Var(W^k)."""
    out, v = [], x_second_moment
    for k in range(1, len(sizes) - 1):
        v *= sizes[k - 1] * weight_variance(init, sizes[k - 1], sizes[k])
        out.append(v)
    return out


def predicted_backprop_variance(var_top: float, sizes: list[int], init: str) -> list[float]:
    """Var(dC/ds^i) for i = 1..d: Var(dC/ds^d) prod_{k=i+1..d} n_k Var(W^k)."""
    d = len(sizes) - 2
    out = [0.0] * d
    v = var_top
    out[d - 1] = v
    for i in range(d - 1, 0, -1):  # layer i from layer i+1 through W^{i+1}
        k = i + 1
        v *= sizes[k] * weight_variance(init, sizes[k - 1], sizes[k])
        out[i - 1] = v
    return out


def moments(x: np.ndarray, source: str) -> InputMoments:
    """Mean, variance and second moment E[x^2] of every value of ``x`` (float64)."""
    x = np.asarray(x, dtype=np.float64)
    mean, second = float(x.mean()), float(np.mean(np.square(x)))
    return InputMoments(mean=mean, var=float(x.var()), second_moment=second, source=source)


def input_moments(data_dir: str | Path | None, dataset: str, probe_size: int) -> tuple[InputMoments | None, str]:
    """The inputs' moments over the probe set (first ``probe_size`` test examples) of the prepared data.

    Returns (moments or None, a note saying where they came from or why there are none; the
    note names the split, not its folder, which may be absolute: it goes into DVC outputs).
    Shapeset without a prepared folder falls back to a fresh sample from the generator's
    default test seed.
    """
    from glorot.data.store import load_split
    from glorot.errors import GlorotError

    folder = Path(data_dir) / dataset / "test" if data_dir is not None else None
    if folder is not None and folder.is_dir():
        try:
            x, _, _ = load_split(folder)
        except GlorotError as e:
            return None, str(e)
        note = f"the prepared {dataset} test split (first {probe_size} test examples)"
        return moments(x[:probe_size], note), note
    if dataset == "shapeset":
        from glorot.data import shapeset
        from glorot.data.sources import SHAPESET_TEST_SEED

        x, _ = shapeset.generate(probe_size, SHAPESET_TEST_SEED)
        note = f"generated Shapeset-3x2 sample ({probe_size} images, test seed)"
        return moments(x, note), note
    return None, f"no prepared {dataset} test split in {data_dir}"


def theory_rows(records: list[Run], x_second_moment: dict[str, float | None]) -> list[TheoryRow]:
    """Predicted vs measured variances at initialisation, per run and layer.

    ``records`` are runs with their diagnostics; only activations with f'(0) = 1 and the
    standard or normalized init are used; ``x_second_moment`` maps a data set to E[x^2] over
    its probe set.
    """
    rows = []
    for r in records:
        if r.activation not in LINEAR_AT_ZERO or r.init not in ("standard", "normalized"):
            continue
        if r.dataset not in DATASET_SHAPES or x_second_moment.get(r.dataset) is None:
            continue
        act = [r.layer(i, "act_std").at(0) for i in r.layers]
        dcds = [r.layer(i, "dCds_std").at(0) for i in r.layers]
        if any(v is None for v in act + dcds):
            continue
        n_in, n_classes = DATASET_SHAPES[r.dataset]
        sizes = layer_sizes(n_in, r.width, r.depth, n_classes)
        pred_act = predicted_activation_variance(x_second_moment[r.dataset], sizes, r.init)
        pred_back = predicted_backprop_variance(dcds[-1] ** 2, sizes, r.init)
        rows += [TheoryRow(r.network, r.dataset, r.init, r.depth, r.width, r.seed, i + 1,
                           var_z_predicted=pred_act[i], var_z_measured=act[i] ** 2,
                           var_dCds_predicted=pred_back[i], var_dCds_measured=dcds[i] ** 2)
                 for i in range(r.depth)]
    return rows
