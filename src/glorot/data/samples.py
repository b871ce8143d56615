"""A grid of sample images with their class names, like Figure 1 of Glorot & Bengio (2010).

Works for any of the project's data sets: flattened images are reshaped to
``image_shape``, grey ``(H, W)`` or colour ``(H, W, 3)``. The figure is drawn with
matplotlib's Agg canvas directly (no pyplot, no global backend switch), so it is safe
in headless workers and leaves other matplotlib users alone.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glorot.errors import GlorotError

_CELL_INCHES = 1.0  # width and height of one image cell


def render_grid(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], path: str | Path,
                image_shape: tuple[int, ...] = (32, 32), ncols: int = 8, title: str | None = None,
                value_range: tuple[float, float] | None = None) -> Path:
    """Write a PNG grid of the images ``x`` (``(n, prod(image_shape))``) captioned with
    ``class_names[y[i]]``, and return its path.

    ``value_range`` is the pixel value shown black (``low``) and white (``high``); by
    default the smallest and largest value in ``x``, one scale for all images so that
    their grey levels stay comparable. The file is written to a temporary name and renamed.
    """
    x, y = np.asarray(x), np.asarray(y)
    images = _as_images(x, y, class_names, image_shape)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise GlorotError(f"ncols must be an integer >= 1, got {ncols!r}")
    low, high = value_range if value_range is not None else (float(x.min()), float(x.max()))
    shown = np.clip((images - low) / ((high - low) or 1.0), 0.0, 1.0)
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    figure = Figure(figsize=(ncols * _CELL_INCHES, nrows * _CELL_INCHES + (0.4 if title else 0.0)))
    FigureCanvasAgg(figure)
    for i, (image, label) in enumerate(zip(shown, y)):
        axes = figure.add_subplot(nrows, ncols, i + 1)
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0,
                    interpolation="nearest")
        axes.set_title(class_names[label], fontsize=5, pad=2)
        axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return _save_png(figure, Path(path))


def _as_images(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], image_shape: tuple[int, ...]
               ) -> np.ndarray:
    """``x`` reshaped to ``(n, *image_shape)``, after checking every argument against the others."""
    if len(image_shape) not in (2, 3) or (len(image_shape) == 3 and image_shape[2] not in (1, 3)):
        raise GlorotError(f"image_shape must be (H, W), (H, W, 1) or (H, W, 3), got {tuple(image_shape)}")
    if x.ndim != 2 or len(x) == 0 or x.shape[1] != math.prod(image_shape):
        raise GlorotError(f"x must be a non-empty (n, {math.prod(image_shape)}) array for image_shape "
                          f"{tuple(image_shape)}, got shape {x.shape}")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 \
            or y.max() >= len(class_names):
        raise GlorotError(f"y must hold {len(x)} integer labels in 0..{len(class_names) - 1}")
    images = x.reshape((len(x), *image_shape)).astype(np.float64)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def _save_png(figure: Figure, path: Path) -> Path:
    """Save ``figure`` as a PNG to a temp file beside ``path``, then rename it over ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                figure.savefig(f, format="png", dpi=150)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise GlorotError(f"cannot write image grid to {path}: {e.strerror or e}") from e
    return path
