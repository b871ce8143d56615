"""The init lab's figures (issue 25), drawn from the runs at initialisation of study ``initlab``:

* per-layer signal and gradient spread against depth, one line per initialisation and one panel
  per activation: the std of the pre-activations s^i (He et al. 2015, Section 2.2) and of the
  back-propagated gradients dC/ds^i (the paper's Figure 7), at update 0, in the deepest net run;
* the input-output Jacobian's singular-value spectra (Pennington et al. 2017) at depths 5, 20
  and 50, one panel per depth, one line per initialisation, tanh and relu.

They are drawn only for a study that ran the initialisations that followed the paper
(``orthogonal`` or ``lsuv``), into the same :class:`~glorot.report.figure_set.FigureSet` as the
paper's figures, so the report and the published section carry them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from glorot.config import network_name
from glorot.paper.init import INITS
from glorot.report.figures import _save
from glorot.report.records import Histograms, Run
from glorot.report.verdicts.initlab import is_initlab

__all__ = ["FIGURES", "drawings", "is_initlab", "jacobian_spectra", "signal_and_gradient_by_layer", "spectra_of"]

#: The activations of the lab (one panel each) and the depths of the Jacobian figure.
ACTIVATIONS = ("tanh", "softsign", "sigmoid", "relu")
SPECTRUM_DEPTHS = (5, 20, 50)
SPECTRUM_ACTIVATIONS = ("tanh", "relu")
#: The figures by file stem, with their captions.
FIGURES = {
    "initlab_signal_gradient_by_layer":
        "Init lab: std of each layer's pre-activations (top; He et al. 2015, Section 2.2) and back-propagated "
        "gradients (bottom; Figure 7) at initialisation, deepest net, one line per initialisation, one panel per "
        "activation.",
    "initlab_jacobian_spectra":
        "Init lab: singular values of the input-output Jacobian dz^D/dx at initialisation (Pennington et al. 2017), "
        "depths 5, 20 and 50; tanh solid, relu dashed.",
}
#: A figure to draw: file stem, caption, the drawing (given the PNG's path; None: not drawn) and why not.
Drawing = tuple[str, str, Callable[[Path], Path] | None, str]
#: A spectrum: (activation, init, depth) -> (histogram counts, bin edges of log10 singular value).
Spectra = dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]


def _at_init(records: list[Run], activation: str, init: str) -> list[Run]:
    name = network_name(activation, init)
    return sorted((r for r in records if r.network == name and r.updates == 0 and r.series),
                  key=lambda r: (-r.depth, r.seed))


def signal_and_gradient_by_layer(records: list[Run], path: str | Path) -> Path:
    """Two rows (pre-activation std, dC/ds std) x one column per activation, log scale, layer on x."""
    fig = Figure(figsize=(4 * len(ACTIVATIONS), 7))
    axes = fig.subplots(2, len(ACTIVATIONS), squeeze=False)
    for col, activation in enumerate(ACTIVATIONS):
        for init in INITS:
            runs = _at_init(records, activation, init)
            if not runs:
                continue
            run = runs[0]
            for row, key in enumerate(("pre_std", "dCds_std")):
                values = [run.layer(i, key).at(0) for i in run.layers]
                axes[row][col].semilogy(list(run.layers), [np.nan if v is None else v for v in values], label=init)
        axes[0][col].set_title(activation)
        axes[1][col].set_xlabel("hidden layer")
    axes[0][0].set_ylabel("std of pre-activations s")
    axes[1][0].set_ylabel("std of dC/ds")
    axes[0][-1].legend(fontsize="small")
    return _save(fig, path)


def jacobian_spectra(spectra: Spectra, path: str | Path) -> Path:
    """One panel per depth (:data:`SPECTRUM_DEPTHS`): histogram of log10 singular values per network."""
    fig = Figure(figsize=(5 * len(SPECTRUM_DEPTHS), 4))
    axes = fig.subplots(1, len(SPECTRUM_DEPTHS), squeeze=False)[0]
    for ax, depth in zip(axes, SPECTRUM_DEPTHS):
        for (activation, init, d), (counts, edges) in sorted(spectra.items()):
            if d == depth:
                centres = (edges[:-1] + edges[1:]) / 2
                ax.plot(centres, counts / max(counts.sum(), 1), label=f"{activation}/{init}",
                        linestyle="-" if activation == "tanh" else "--")
        ax.set_title(f"depth {depth}")
        ax.set_xlabel("log10 singular value of dz^D/dx")
    axes[0].set_ylabel("fraction of singular values")
    max(axes, key=lambda ax: len(ax.lines)).legend(fontsize="x-small", ncol=2)
    return _save(fig, path)


def spectra_of(records: list[Run], histograms: Callable[[str], Histograms | None]) -> Spectra:
    """The Jacobian spectra at update 0 of tanh and relu at :data:`SPECTRUM_DEPTHS`, from each run's
    ``diagnostics.npz`` (``histograms``: a run id's, or None)."""
    spectra: Spectra = {}
    for activation in SPECTRUM_ACTIVATIONS:
        for init in INITS:
            for run in _at_init(records, activation, init):
                hists = histograms(run.run_id) if run.depth in SPECTRUM_DEPTHS else None
                counts = hists.arrays.get("u0/net/jac_io_log10sv_counts") if hists else None
                if counts is not None and (activation, init, run.depth) not in spectra:
                    spectra[(activation, init, run.depth)] = (counts, hists.arrays["u0/net/jac_io_log10sv_edges"])
    return spectra


def drawings(records: list[Run], histograms: Callable[[str], Histograms | None]) -> list[Drawing]:
    """The init lab's figures (:data:`FIGURES`) from ``records`` and each run's histograms, as the
    report (:mod:`glorot.report.figure_set`) and the published page (:mod:`glorot.report.publish`) draw them."""
    at_init = [r for r in records if r.updates == 0]
    spectra = spectra_of(at_init, histograms)
    signal, jacobian = FIGURES
    return [(signal, FIGURES[signal], (lambda p: signal_and_gradient_by_layer(at_init, p)) if at_init else None,
             "no run at initialisation"),
            (jacobian, FIGURES[jacobian], (lambda p: jacobian_spectra(spectra, p)) if spectra else None,
             "no tanh or relu run with the Jacobian's spectrum at update 0 at depth 5, 20 or 50")]
