"""The paper's figures redrawn from a study's records (PNG, matplotlib's Agg backend).

Every function takes records (:mod:`glorot.report.records`: runs with their diagnostics,
panels, curves) and a path, and returns the path written. The caller
(:mod:`glorot.report.figure_set`) decides which runs feed a figure and skips a figure whose
data the study lacks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glorot.atomic import atomic_write
from glorot.report.records import (CostSurface, CurvePanel, DepthPanel, HistogramPanel, Run, RunPanel, Series,
                                   TheoryRow)

DPI = 90


def _save(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight"))


def _layer_colors(depth: int) -> list:
    cmap = colormaps["viridis"]
    return [cmap(i / max(depth - 1, 1) * 0.9) for i in range(depth)]


def _xy(series: Series) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(series.steps, dtype=float), np.asarray(series.values, dtype=float)


def _run_label(run: Run) -> str:
    return f"{run.network}, depth {run.depth}, width {run.width}, lr {run.lr:g}, seed {run.seed}"


def activation_mean_std(records: list[Run], path: str | Path) -> Path:
    """Figure 2: per layer, the mean activation over training with its std as error bars (one panel per run)."""
    fig = Figure(figsize=(7, 3.6 * len(records)), layout="constrained")
    for k, r in enumerate(records):
        ax = fig.add_subplot(len(records), 1, k + 1)
        for i, color in zip(r.layers, _layer_colors(r.depth)):
            steps, mean = _xy(r.layer(i, "act_mean"))
            _, std = _xy(r.layer(i, "act_std"))
            n = min(len(mean), len(std))
            ax.errorbar(steps[:n], mean[:n], yerr=std[:n], color=color, marker="o", ms=3, capsize=2,
                        label=f"layer {i}")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("updates")
        ax.set_ylabel("activation value")
        ax.set_title(f"mean and std of activations: {_run_label(r)}", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def saturation(panels: list[RunPanel], path: str | Path) -> Path:
    """Figures 3 and 10: 98th percentile (markers) and std (lines) of each layer's activations."""
    fig = Figure(figsize=(7, 3.6 * len(panels)), layout="constrained")
    for k, panel in enumerate(panels):
        ax, r = fig.add_subplot(len(panels), 1, k + 1), panel.run
        for i, color in zip(r.layers, _layer_colors(r.depth)):
            steps, p98 = _xy(r.layer(i, "act_p98"))
            ax.plot(steps, p98, linestyle="none", marker="o", ms=4, color=color, label=f"layer {i} p98")
            steps, std = _xy(r.layer(i, "act_std"))
            ax.plot(steps, std, color=color, label=f"layer {i} std")
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("updates")
        ax.set_ylabel("activation value")
        ax.set_title(f"{panel.title}: {_run_label(r)}", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _hist_lines(ax, panel: HistogramPanel, quantity: str) -> None:
    for i, color in zip(range(1, panel.depth + 1), _layer_colors(panel.depth)):
        hist = panel.histograms.layer(panel.update, i, quantity)
        if hist is None:
            continue
        counts, edges = hist
        ax.plot((edges[:-1] + edges[1:]) / 2, counts, color=color, label=f"layer {i}")


def layer_histograms(panels: list[HistogramPanel], quantity: str, xlabel: str, path: str | Path,
                     log: bool = False) -> Path:
    """Figures 4 and 6-8: one line per layer of a histogram of ``quantity``, one panel per run."""
    fig = Figure(figsize=(7, 3.3 * len(panels)), layout="constrained")
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, k + 1)
        _hist_lines(ax, panel, quantity)
        if log:
            ax.set_yscale("symlog")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.set_title(panel.title, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def weight_gradient_std(panels: list[RunPanel], path: str | Path) -> Path:
    """Figure 9: std of the weight gradients of each layer during training."""
    fig = Figure(figsize=(7, 3.3 * len(panels)), layout="constrained")
    axes = [fig.add_subplot(len(panels), 1, k + 1) for k in range(len(panels))]
    for ax, panel in zip(axes, panels):
        r = panel.run
        for i, color in zip(r.layers, _layer_colors(r.depth)):
            steps, std = _xy(r.layer(i, "dCdW_std"))
            ax.plot(steps, std, marker="o", ms=3, color=color, label=f"layer {i}")
        ax.set_yscale("log")
        ax.set_xlabel("updates")
        ax.set_ylabel("std of dC/dW")
        ax.set_title(f"{panel.title}: {_run_label(r)}", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


#: A panel whose errors span this factor or more is drawn on a log scale: MNIST's trained networks
#: (about 2%) and a network at chance (about 89%) on one linear axis would draw the four that learn
#: as one line along the bottom.
LOG_SPAN = 10.0


def test_error_curves(panels: list[CurvePanel], path: str | Path) -> Path:
    """Figures 11-12: test error (%) against updates, one line per network (the mean over seeds, and
    the band the seeds span), one panel per data set; a log scale where its errors span
    :data:`LOG_SPAN` or more."""
    fig = Figure(figsize=(7, 3.8 * len(panels)), layout="constrained")
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, k + 1)
        for curve in panel.curves:
            line, = ax.plot(curve.updates, curve.values, marker="o", ms=3, label=curve.label)
            if curve.low:
                ax.fill_between(curve.updates, curve.low, curve.high, color=line.get_color(), alpha=0.15, lw=0)
        errors = [e for curve in panel.curves for e in (*curve.values, *curve.low)]
        log = min(errors) > 0 and max(errors) >= LOG_SPAN * min(errors)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("updates (mini-batches of 10)")
        ax.set_ylabel("test error (%, log scale)" if log else "test error (%)")
        ax.set_title(panel.title, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def test_error_vs_depth(panels: list[DepthPanel], path: str | Path) -> Path:
    """Test error (%) against the number of hidden layers, one line per network (std over seeds as
    error bars), one panel per data set."""
    fig = Figure(figsize=(7, 3.6 * len(panels)), layout="constrained")
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, k + 1)
        for line in panel.lines:
            err = [0.0 if s is None else s for s in line.std_pct]
            ax.errorbar(line.depths, line.mean_pct, yerr=err, marker="o", ms=4, capsize=2, label=line.network)
        ax.set_xlabel("hidden layers")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("test error (%)")
        ax.set_title(panel.title, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def cost_surfaces(surface: CostSurface, path: str | Path) -> Path:
    """Figure 5: the cross-entropy and quadratic costs over two weights (3-D surfaces, shared axes)."""
    grid = np.asarray(surface.grid)
    w1, w2 = np.meshgrid(grid, grid, indexing="ij")
    fig = Figure(figsize=(11, 4.8))
    titles = {"nll": "cross-entropy (negative log-likelihood)", "quadratic": "quadratic cost"}
    for k, name in enumerate(("nll", "quadratic")):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        z = np.asarray(surface.surfaces[name])
        ax.plot_surface(w1, w2, z, cmap="viridis" if name == "nll" else "magma", linewidth=0, antialiased=True)
        ax.set_xlabel("W1 (layer 1)", fontsize=8)
        ax.set_ylabel("W2 (layer 2)", fontsize=8)
        ax.set_zlabel("cost", fontsize=8)
        ax.set_title(f"{titles[name]}\nplateau fraction {surface.plateau_fraction[name]:.2f}", fontsize=9)
    return _save(fig, path)


def theory_vs_measurement(rows: list[TheoryRow], path: str | Path) -> Path:
    """Section 4.2.1: predicted (dashed lines) vs measured (markers) variances per layer at
    initialisation, one colour per run."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    palette = colormaps["tab10"]
    for k, (quantity, label) in enumerate((("var_z", "Var(z^i): activations"),
                                           ("var_dCds", "Var(dC/ds^i): back-propagated gradients"))):
        ax = fig.add_subplot(1, 2, k + 1)
        keys: list[tuple] = []
        for r in rows:
            if r.run_key in keys:
                continue
            keys.append(r.run_key)
            mine = sorted((x for x in rows if x.run_key == r.run_key), key=lambda x: x.layer)
            layers = [x.layer for x in mine]
            color = palette(len(keys) - 1)
            tag = f"{r.network} s{r.seed}"
            ax.plot(layers, [getattr(x, f"{quantity}_predicted") for x in mine], color=color, linestyle="--",
                    label=f"{tag} predicted")
            ax.plot(layers, [getattr(x, f"{quantity}_measured") for x in mine], color=color, linestyle="none",
                    marker="o", label=f"{tag} measured")
        ax.set_yscale("log")
        ax.set_xlabel("hidden layer")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)
