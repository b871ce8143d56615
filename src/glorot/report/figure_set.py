"""Which runs feed each of the paper's figures, and the figures drawn into ``figures/``.

The diagnostics figures use, per network, the lowest-seed run of the learning rate Table 1
chose, on Shapeset-3x2 when the study ran it, at the deepest depth (Figure 2, for Sigmoid and
Sigmoid DAE: the paper's depth 4, and 5 when run) and the widest width. Figure 11 draws
every network the study ran on Shapeset-3x2, Sigmoid DAE included; the depth figure every
network it ran at two or more depths. A figure whose runs the study lacks is not
drawn and is kept, with the reason, for the report's "Not run" section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glorot.report import figures, figures_initlab
from glorot.report.collect import StudySource
from glorot.report.curves import curve_panels, depth_panels
from glorot.report.records import CostSurface, HistogramPanel, Run, RunPanel, Table1, TheoryRow
from glorot.report.verdicts.select import describe_scale, pick_runs

FIG12_DATASETS = ("mnist", "cifar10", "small_imagenet")


@dataclass(frozen=True)
class DrawnFigure:
    fig_id: str
    path: str  # relative to the report folder
    caption: str


@dataclass(frozen=True)
class SkippedFigure:
    fig_id: str
    reason: str


class FigureSet:
    """The figures drawn into ``folder/figures`` and those skipped, in the order they were asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "figures").mkdir(parents=True)
        self.drawn: list[DrawnFigure] = []
        self.skipped: list[SkippedFigure] = []

    def figure(self, fig_id: str, caption: str, draw: Callable[[Path], Path] | None, reason: str = "") -> None:
        """Draw ``fig_id`` with ``draw`` (given the PNG's path), or, when ``draw`` is None, skip it for ``reason``."""
        if draw is None:
            self.skipped.append(SkippedFigure(fig_id, reason))
            return
        rel = f"figures/{fig_id}.png"
        draw(self.folder / rel)
        self.drawn.append(DrawnFigure(fig_id, rel, caption))


def representatives(records: list[Run], network: str, depths: tuple[int, ...] | None = None) -> list[Run]:
    """Lowest-seed run of ``network`` on the preferred data set, one per depth (``depths`` or the deepest)."""
    runs = pick_runs(records, network)
    if not runs:
        return []
    dataset = runs[0].dataset
    mine = [r for r in records if r.network == network and r.dataset == dataset and r.series]
    available = sorted({r.depth for r in mine})
    wanted = [d for d in (depths or ()) if d in available] or [available[-1]]
    return [min((r for r in mine if r.depth == d), key=lambda r: (-r.width, r.seed)) for d in wanted]


def _trained_panels(records: list[Run], networks: tuple[str, ...]) -> list[RunPanel]:
    return [RunPanel(n, r[0]) for n in networks if (r := representatives(records, n)) and r[0].updates > 0]


def _training_figures(figs: FigureSet, records: list[Run]) -> None:
    """Figures 2, 3 and 10: activations during training."""
    for fig_id, network, what in (
            ("fig02_sigmoid_activations", "Sigmoid", "Sigmoid net"),
            ("fig02_sigmoid_dae_activations", "Sigmoid DAE", "Sigmoid net pre-trained as denoising auto-encoders "
                                                             "(Sigmoid DAE; supervised training)")):
        runs = representatives(records, network, (4, 5))
        figs.figure(fig_id, f"Figure 2: {what}, mean (points) and standard deviation (error bars) of each hidden "
                            f"layer's activations during training, on the probe set (depth 4, and 5 when run).",
                    (lambda p, r=runs: figures.activation_mean_std(r, p)) if runs and runs[0].updates > 0 else None,
                    f"no trained {network} run")
    fig3 = _trained_panels(records, ("Tanh", "Softsign"))
    figs.figure("fig03_saturation_tanh_softsign",
                "Figure 3: 98th percentile (markers) and standard deviation (lines) of each layer's activations "
                "during training: tanh (top), softsign (bottom).",
                (lambda p: figures.saturation(fig3, p)) if fig3 else None, "no trained Tanh or Softsign run")
    fig10 = _trained_panels(records, ("Tanh N",))
    figs.figure("fig10_saturation_tanh_n", "Figure 10: as Figure 3, for tanh with the normalized initialisation.",
                (lambda p: figures.saturation(fig10, p)) if fig10 else None, "no trained Tanh N run")


def _final_histograms(figs: FigureSet, source: StudySource, records: list[Run]) -> None:
    """Figure 4: activation histograms at the end of training (the last probe)."""
    panels = []
    for network in ("Tanh", "Softsign"):
        reps = representatives(records, network)
        if not reps or reps[0].updates == 0:
            continue
        hists = source.histograms(reps[0].run_id)
        if hists:
            last = hists.last_update()
            panels.append(HistogramPanel(f"{network}: activations at update {last} (end of training), "
                                         f"{describe_scale(reps)}", hists, last, reps[0].depth))
    figs.figure("fig04_final_activation_histograms",
                "Figure 4: histograms of each layer's activations at the end of training (probe set): tanh and "
                "softsign.",
                (lambda p: figures.layer_histograms(panels, "act", "activation value", p)) if panels else None,
                "no trained Tanh or Softsign run with histograms")


def _init_histograms(figs: FigureSet, source: StudySource, records: list[Run]) -> None:
    """Figures 6-8: histograms at initialisation, tanh with the standard vs the normalized init."""
    panels = []
    for network, label in (("Tanh", "standard init"), ("Tanh N", "normalized init")):
        reps = representatives(records, network)
        hists = source.histograms(reps[0].run_id) if reps else None
        if hists and hists.has_update(0):
            panels.append(HistogramPanel(f"{network} ({label}) at initialisation, {describe_scale(reps)}", hists, 0,
                                         reps[0].depth))
    for fig_id, quantity, xlabel, what in (
            ("fig06_init_activations", "act", "activation value", "activation values"),
            ("fig07_init_backprop_gradients", "dCds", "dC/ds", "back-propagated gradients dC/ds"),
            ("fig08_init_weight_gradients", "dCdW", "dC/dW", "weight gradients dC/dW")):
        figs.figure(fig_id, f"Figure {int(fig_id[3:5])}: histograms of the {what} per layer at initialisation, "
                    "tanh with the standard (top) and normalized (bottom) initialisation.",
                    (lambda p, q=quantity, x=xlabel: figures.layer_histograms(panels, q, x, p, log=q != "act"))
                    if panels else None, "no Tanh or Tanh N run with histograms at update 0")


def _curve_figures(figs: FigureSet, table: Table1, records: list[Run]) -> None:
    """Figures 11-12: test error against updates, per network (seed mean at the chosen learning rate)."""
    fig11 = curve_panels(table, records, ("shapeset",))
    figs.figure("fig11_test_error_shapeset", "Figure 11: Shapeset-3x2 test error against the number of updates.",
                (lambda p: figures.test_error_curves(fig11, p)) if fig11 else None,
                "no trained Shapeset-3x2 run with a learning curve")
    fig12 = curve_panels(table, records, FIG12_DATASETS)
    figs.figure("fig12_test_error_image_sets",
                "Figure 12: test error against updates on the image sets the study ran (paper: MNIST and CIFAR-10).",
                (lambda p: figures.test_error_curves(fig12, p)) if fig12 else None,
                "no trained MNIST, CIFAR-10 or Small-ImageNet run")
    depth = depth_panels(table)
    figs.figure("depth_test_error",
                "Test error against the number of hidden layers, per network (mean and standard deviation over seeds "
                "at the learning rate chosen on validation error, final test error).",
                (lambda p: figures.test_error_vs_depth(depth, p)) if depth else None,
                "no network trained at 2 or more depths (a depth study)")


def draw_figures(figs: FigureSet, source: StudySource, records: list[Run], table: Table1, surface: CostSurface,
                 theory_rows: list[TheoryRow]) -> None:
    """Every figure of the report, from the runs of Table 1's chosen learning rates (``records``)."""
    _training_figures(figs, records)
    _final_histograms(figs, source, records)
    _init_histograms(figs, source, records)
    fig9 = _trained_panels(records, ("Tanh", "Tanh N"))
    figs.figure("fig09_weight_gradient_std",
                "Figure 9: standard deviation of the weight gradients of each layer during training, tanh with the "
                "standard (top) and normalized (bottom) initialisation.",
                (lambda p: figures.weight_gradient_std(fig9, p)) if fig9 else None, "no trained Tanh or Tanh N run")
    _curve_figures(figs, table, records)
    if figures_initlab.is_initlab(records):
        for fig_id, caption, draw, reason in figures_initlab.drawings(records, source.histograms):
            figs.figure(fig_id, caption, draw, reason)
    figs.figure("fig05_cost_surfaces",
                f"Figure 5: cost as a function of one weight of each layer of a two-layer net: cross-entropy (left) "
                f"vs quadratic (right). {surface.scale}; W1 = {surface.weights['w1']}, "
                f"W2 = {surface.weights['w2']}.", lambda p: figures.cost_surfaces(surface, p))
    figs.figure("theory_variances",
                "Theory vs measurement at initialisation: predicted (dashed) and measured (points) variance of the "
                "activations and of the back-propagated gradients per layer, one colour per run.",
                (lambda p: figures.theory_vs_measurement(theory_rows, p)) if theory_rows else None,
                "no tanh or softsign run with diagnostics at update 0")
