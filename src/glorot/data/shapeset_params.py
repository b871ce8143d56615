"""The parameters of the Shapeset-3x2 generator (Glorot & Bengio 2010, Section 2.1,
Figure 1 top) and the checks of its inputs.

:class:`ShapesetParams` holds every number of the recipe described in
:mod:`glorot.data.shapeset` (object count, scales, grey ranges, overlap rule, ...), with
the defaults of Shapeset-3x2 (see ``PAPER.md``). It is a module of its own so that both the
image generator (:mod:`glorot.data.shapeset`) and the drawing of objects
(:mod:`glorot.data.shapeset_objects`) can use it without importing each other.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

from glorot.errors import GlorotError, shorten


@dataclass(frozen=True)
class ShapesetParams:
    """Every parameter of the generator; the defaults are those of Shapeset-3x2 (PAPER.md).

    Attributes:
        size: image side in pixels (images are ``size x size``, flattened).
        min_objects, max_objects: the object count is uniform in this range (1..2).
        scale_min, scale_max: each object axis is drawn uniform in ``[scale_min, scale_max] * size``
            (a draw whose object could not fit in the image is redrawn: the fit rule of
            :mod:`glorot.data.shapeset`).
        fg_min, fg_max: grey range of the objects (background range when swapped).
        bg_min, bg_max: grey range of the background (object range when swapped).
        swap_prob: probability, per image, of swapping the two grey ranges.
        max_overlap: largest allowed ``overlap / min(area_new, area_old)`` of two objects.
        max_redraws: redraws of an object before all of the image's objects are redrawn.
        ellipse_sides: the ellipse is drawn as a polygon with this many sides.
        rotation_steps: rotations are uniform over this many steps of a full turn.
        skew_max: skew (triangle apex offset, parallelogram top-edge shift) is uniform in
            ``[-skew_max, skew_max] * base length``; 0.5 puts the apex anywhere above the base.
        margin: objects keep this many pixels of the outer ring of the image empty.
        min_area: fewest pixels an object's mask may have (smaller objects are redrawn).
    """

    size: int = 32
    min_objects: int = 1
    max_objects: int = 2
    scale_min: float = 0.2
    scale_max: float = 0.8
    fg_min: float = 0.55
    fg_max: float = 1.0
    bg_min: float = 0.0
    bg_max: float = 0.45
    swap_prob: float = 0.5
    max_overlap: float = 0.5
    max_redraws: int = 50
    ellipse_sides: int = 20
    rotation_steps: int = 255
    skew_max: float = 0.5
    margin: int = 1
    min_area: int = 8

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _plain_number(field.name, field.type, getattr(self, field.name)))
        _check(self.size >= 8, "size", "must be at least 8", self.size)
        _check(1 <= self.min_objects <= 2, "min_objects", "must be 1 or 2", self.min_objects)
        _check(self.min_objects <= self.max_objects <= 2, "max_objects",
               "must be 1 or 2 (9 classes name at most 2 objects) and >= min_objects", self.max_objects)
        _check(0 < self.scale_min <= self.scale_max <= 1, "scale_min/scale_max",
               "must satisfy 0 < scale_min <= scale_max <= 1", (self.scale_min, self.scale_max))
        _check(0 <= self.fg_min <= self.fg_max <= 1, "fg_min/fg_max",
               "must satisfy 0 <= fg_min <= fg_max <= 1", (self.fg_min, self.fg_max))
        _check(0 <= self.bg_min <= self.bg_max <= 1, "bg_min/bg_max",
               "must satisfy 0 <= bg_min <= bg_max <= 1", (self.bg_min, self.bg_max))
        _check(0 <= self.swap_prob <= 1, "swap_prob", "must be in [0, 1]", self.swap_prob)
        _check(0 <= self.max_overlap <= 1, "max_overlap", "must be in [0, 1]", self.max_overlap)
        _check(self.max_redraws >= 0, "max_redraws", "must be >= 0", self.max_redraws)
        _check(self.ellipse_sides >= 4, "ellipse_sides", "must be >= 4", self.ellipse_sides)
        _check(self.rotation_steps >= 1, "rotation_steps", "must be >= 1", self.rotation_steps)
        _check(0 <= self.skew_max <= 1, "skew_max", "must be in [0, 1]", self.skew_max)
        _check(0 <= self.margin and 2 * self.margin < self.size - 2, "margin",
               "must be >= 0 and leave at least 3 pixels inside the image", self.margin)
        _check(self.scale_min * self.size <= self.size - 2 * self.margin, "scale_min",
               "must let the smallest objects fit inside the margin (scale_min * size <= size - 2 * margin)",
               self.scale_min)
        _check(1 <= self.min_area <= (self.size - 2 * self.margin) ** 2, "min_area",
               "must be >= 1 and fit inside the image", self.min_area)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain JSON-ready dict (``ShapesetParams(**d)`` rebuilds them)."""
        return dataclasses.asdict(self)


def _plain_number(name: str, kind: str, value: Any) -> int | float:
    """``value`` as a plain ``int`` (``kind == "int"``) or finite ``float``, else a :class:`GlorotError`."""
    if not isinstance(value, bool):
        if kind == "int" and isinstance(value, numbers.Integral):
            return int(value)
        if kind == "float" and isinstance(value, numbers.Real) and math.isfinite(value):
            return float(value)
    raise GlorotError(f"ShapesetParams.{name} must be {'an integer' if kind == 'int' else 'a finite number'}, "
                      f"got {shorten(value)}")


def _check(ok: bool, field: str, rule: str, value: Any) -> None:
    if not ok:
        raise GlorotError(f"ShapesetParams.{field} {rule}, got {shorten(value)}")


def require_int(what: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a :class:`GlorotError` if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise GlorotError(f"{what} must be an integer >= {minimum}, got {shorten(value)}")
    return int(value)
