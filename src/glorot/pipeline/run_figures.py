"""Small per-run figures logged with each run: the learning curve and the per-layer
histograms of one diagnostics record (the layout of the paper's Figures 6-8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glorot.atomic import atomic_write


def _save(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100, bbox_inches="tight"))


def learning_curve(curve: list[dict[str, float]], title: str, path: str | Path) -> Path:
    """Validation and test error against the number of updates (the paper's Figures 11-12)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    updates = [p["update"] for p in curve]
    for key in ("valid/error", "test/error"):
        ax.plot(updates, [p[key] for p in curve], marker="o", ms=3, label=key)
    ax.set_xlabel("updates (mini-batches of 10)")
    ax.set_ylabel("classification error")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def layer_histograms(histograms: dict[str, np.ndarray], quantity: str, depth: int, title: str,
                     path: str | Path) -> Path:
    """One line per hidden layer of the ``quantity`` (``act``, ``dCds`` or ``dCdW``) histogram."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for i in range(1, depth + 1):
        counts, edges = histograms[f"L{i}/{quantity}_counts"], histograms[f"L{i}/{quantity}_edges"]
        ax.plot((edges[:-1] + edges[1:]) / 2, counts, label=f"layer {i}")
    ax.set_yscale("symlog")
    ax.set_xlabel(quantity)
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)
