"""Shapeset-3x2: the synthetic image set of Glorot & Bengio (2010), Section 2.1, Figure 1 (top).

Each 32x32 grey image holds one or two objects, each a triangle, a parallelogram or an
ellipse; the task is to name the objects present, ignoring which one is in front:
3 single-object classes + 6 unordered pairs = 9 classes (:data:`CLASS_NAMES`).

This is an independent, batch-vectorised re-implementation that matches the parameter
table of the original generator (see ``PAPER.md``); no code of the original package is
used. How one image is made:

1. the object count is uniform in ``{min_objects, ..., max_objects}`` and each object's
   type uniform over :data:`SHAPES`, independently; the label follows from the counts;
2. the polarity is swapped with probability ``swap_prob`` (dark objects on a light
   ground); each object's grey level is uniform in the foreground range and the
   background's in the background range, the two ranges exchanged when swapped;
3. each object is a convex polygon (a 20-gon for the ellipse) drawn by
   :func:`_draw_polygons`: two axis lengths uniform in ``[scale_min, scale_max] * size``,
   the larger along the base (an ellipse's axes are these lengths); a skew (apex offset
   of a triangle, shift of a parallelogram's top edge) uniform in
   ``[-skew_max, skew_max] * base``, which makes them irregular; a rotation
   uniform over ``rotation_steps`` steps of a full turn; a position uniform over the
   places where the whole object lies at least ``margin`` pixels inside the image.
   **Shrink rule**: when the rotated object's bounding box is wider or taller than the
   ``size - 2 * margin`` pixels available, the object is scaled down, keeping its
   proportions, until the box just fits (at the default parameters this happens to
   large objects turned by about 45 degrees);
4. objects are rasterised on pixel centres (:func:`_rasterise`); the second one is
   drawn over the first;
5. **overlap rule**: an object is redrawn (new scale, skew, rotation and position, same
   type) while ``overlap_pixels / min(area_new, area_old) > max_overlap`` on the
   rasterised masks, or while its mask has fewer than ``min_area`` pixels, up to
   ``max_redraws`` times. This is stricter than the original's "overlap / area of the
   new object", so that every object stays at least half visible and the label stays
   true. If all redraws fail, all the image's objects are redrawn from scratch (same
   types, so the label distribution is untouched); if that keeps failing
   (``_MAX_RESTARTS`` times, which only happens with extreme parameters), a
   :class:`~glorot.errors.GlorotError` is raised.

Pixels are grey levels ``v`` in [0, 1] mapped to ``2 v - 1`` in [-1, 1], the range fed
to the network.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from glorot.data.store import save_split
from glorot.errors import GlorotError

SHAPES: tuple[str, ...] = ("triangle", "parallelogram", "ellipse")
"""The object types, in the order of the per-shape counts and of ``ShapesetBatch.shapes``."""

CLASS_NAMES: tuple[str, ...] = (
    "triangle",
    "parallelogram",
    "ellipse",
    "triangle+triangle",
    "parallelogram+parallelogram",
    "ellipse+ellipse",
    "triangle+parallelogram",
    "triangle+ellipse",
    "parallelogram+ellipse",
)
"""The 9 Shapeset-3x2 classes in label order: 3 single objects, 3 same-shape pairs, 3 mixed pairs."""

_BLOCK = 2048  # images generated at once: keeps the working arrays in cache
_CANDIDATES = 1024  # fewest candidate objects drawn at once while redrawing
_FLAT = 1e-9  # edges with a smaller height (pixels) count as horizontal
_MAX_RESTARTS = 100  # whole-image redraws before giving up (see the overlap rule above)


def _counts_lookup() -> np.ndarray:
    """Table ``lut[n_triangle, n_parallelogram, n_ellipse] -> label`` (-1: no class)."""
    lut = np.full((3, 3, 3), -1, dtype=np.int64)
    for label, name in enumerate(CLASS_NAMES):
        counts = [0, 0, 0]
        for shape in name.split("+"):
            counts[SHAPES.index(shape)] += 1
        lut[tuple(counts)] = label
    return lut


_LABEL_OF_COUNTS = _counts_lookup()


def label_from_counts(counts: np.ndarray) -> np.ndarray:
    """Labels (int64, shape ``[...]``) from per-shape counts (shape ``[..., 3]``, order :data:`SHAPES`).

    Raises :class:`GlorotError` for counts that name no class (none, or more than 2 objects).
    """
    counts = np.asarray(counts)
    if not np.issubdtype(counts.dtype, np.integer):
        raise GlorotError(f"counts must be integers, got {counts.dtype}")
    if counts.shape[-1:] != (3,):
        raise GlorotError(f"counts must have a last axis of length 3 (one per shape), got shape {counts.shape}")
    if counts.size and (counts.min() < 0 or counts.max() > 2):
        raise GlorotError("counts must be in 0..2 per shape")
    labels = _LABEL_OF_COUNTS[counts[..., 0], counts[..., 1], counts[..., 2]]
    if labels.size and labels.min() < 0:
        raise GlorotError("counts must total 1 or 2 objects")
    return labels


@dataclass(frozen=True)
class ShapesetParams:
    """Every parameter of the generator; the defaults are those of Shapeset-3x2 (PAPER.md).

    Attributes:
        size: image side in pixels (images are ``size x size``, flattened).
        min_objects, max_objects: the object count is uniform in this range (1..2).
        scale_min, scale_max: each object axis is uniform in ``[scale_min, scale_max] * size``.
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
                      f"got {value!r}")


def _check(ok: bool, field: str, rule: str, value: Any) -> None:
    if not ok:
        raise GlorotError(f"ShapesetParams.{field} {rule}, got {value!r}")


@dataclass(frozen=True)
class ShapesetBatch:
    """Images, labels and what was drawn in them (``K = params.max_objects`` object slots).

    Attributes:
        x: float32 ``(n, size*size)`` pixels in [-1, 1].
        y: int64 ``(n,)`` labels, indices into :data:`CLASS_NAMES`.
        shapes: int64 ``(n, K)`` index into :data:`SHAPES` of each object, -1 where absent;
            slot ``k + 1`` is drawn over slot ``k``.
        masks: bool ``(n, K, size, size)`` each object's full rasterised mask (before
            occlusion by later objects); all False where absent.
        object_grey: float32 ``(n, K)`` grey level in [0, 1] of each object, NaN where absent.
        background_grey: float32 ``(n,)`` grey level in [0, 1] of the background.
        swapped: bool ``(n,)`` True where the grey ranges were swapped (dark objects).
    """

    x: np.ndarray
    y: np.ndarray
    shapes: np.ndarray
    masks: np.ndarray
    object_grey: np.ndarray
    background_grey: np.ndarray
    swapped: np.ndarray


def generate(n: int, seed: int, params: ShapesetParams = ShapesetParams()) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Shapeset images and labels: x float32 ``(n, size*size)`` in [-1, 1], y int64 ``(n,)``.

    Deterministic in ``(n, seed, params)``. Same code path as :func:`generate_detailed`,
    without keeping the per-object metadata.
    """
    _check_request(n, seed, params)
    x = np.empty((n, params.size**2), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    for start, block in _blocks(n, seed, params):
        x[start:start + len(block.y)] = block.x
        y[start:start + len(block.y)] = block.y
    return x, y


def generate_detailed(n: int, seed: int, params: ShapesetParams = ShapesetParams()) -> ShapesetBatch:
    """Like :func:`generate` (same ``x``, ``y``) plus each object's type, mask and grey level."""
    _check_request(n, seed, params)
    blocks = [block for _, block in _blocks(n, seed, params)]
    return ShapesetBatch(**{field.name: np.concatenate([getattr(block, field.name) for block in blocks])
                            for field in dataclasses.fields(ShapesetBatch)})


def _check_request(n: int, seed: int, params: ShapesetParams) -> None:
    _require_int("number of images", n, 0)
    _require_int("seed", seed, 0)
    if not isinstance(params, ShapesetParams):
        raise GlorotError(f"params must be a ShapesetParams, got {type(params).__name__}")


def _require_int(what: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a :class:`GlorotError` if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise GlorotError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _blocks(n: int, seed: int, params: ShapesetParams) -> Iterator[tuple[int, ShapesetBatch]]:
    """``(start, block)`` pairs covering ``n`` images in blocks of ``_BLOCK`` (one empty block
    when ``n == 0``), all drawn from one random stream seeded by ``seed``."""
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    for start in range(0, max(n, 1), _BLOCK):
        yield start, _generate_block(rng, min(_BLOCK, n - start), params)


def _generate_block(rng: np.random.Generator, m: int, p: ShapesetParams) -> ShapesetBatch:
    """One block of ``m`` images (steps 1-5 of the module docstring)."""
    k = p.max_objects
    count = rng.integers(p.min_objects, p.max_objects + 1, size=m)
    types = rng.integers(0, len(SHAPES), size=(m, k))
    shapes = np.where(np.arange(k) < count[:, None], types, -1)
    swapped = rng.random(m) < p.swap_prob
    obj_lo = np.where(swapped, p.bg_min, p.fg_min)[:, None]
    obj_hi = np.where(swapped, p.bg_max, p.fg_max)[:, None]
    object_grey = (obj_lo + (obj_hi - obj_lo) * rng.random((m, k))).astype(np.float32)
    object_grey[shapes < 0] = np.nan
    bg_lo = np.where(swapped, p.fg_min, p.bg_min)
    bg_hi = np.where(swapped, p.fg_max, p.bg_max)
    background_grey = (bg_lo + (bg_hi - bg_lo) * rng.random(m)).astype(np.float32)
    masks = _place_objects(rng, shapes, p)
    counts = np.stack([(shapes == s).sum(axis=1) for s in range(len(SHAPES))], axis=-1)
    return ShapesetBatch(x=_compose(masks, object_grey, background_grey), y=label_from_counts(counts),
                         shapes=shapes, masks=masks, object_grey=object_grey, background_grey=background_grey,
                         swapped=swapped)


def _compose(masks: np.ndarray, object_grey: np.ndarray, background_grey: np.ndarray) -> np.ndarray:
    """Paint the objects in slot order over the background; grey ``v`` -> pixel ``2 v - 1``."""
    pixels = np.broadcast_to(2 * background_grey[:, None, None] - 1, masks[:, 0].shape)
    for k in range(masks.shape[1]):
        pixels = np.where(masks[:, k], 2 * object_grey[:, k, None, None] - 1, pixels)
    return pixels.reshape(len(masks), masks.shape[-1] * masks.shape[-2])


def _place_objects(rng: np.random.Generator, shapes: np.ndarray, p: ShapesetParams) -> np.ndarray:
    """Masks ``(m, K, size, size)`` of the objects ``shapes`` obeying the overlap and area rules.

    Images whose objects could not be placed within ``max_redraws`` redraws are redrawn
    from scratch, keeping their object types.
    """
    masks = np.zeros(shapes.shape + (p.size, p.size), dtype=bool)
    todo = np.arange(len(shapes))
    for _ in range(_MAX_RESTARTS):
        drawn, ok = _try_place_objects(rng, shapes[todo], p)
        masks[todo[ok]] = drawn[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return masks
    raise GlorotError(f"cannot place {shapes.shape[1]} objects with max_overlap={p.max_overlap} and "
                      f"min_area={p.min_area}: lower scale_max or min_area, or raise max_overlap")


def _try_place_objects(rng: np.random.Generator, shapes: np.ndarray, p: ShapesetParams
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Draw each slot in turn, redrawing an object up to ``max_redraws`` times while it breaks a rule.

    Redraws are batched: the images still waiting get several candidates at once and keep
    the first acceptable one, which has the same distribution as drawing them one by one.
    Returns the masks and, per image, whether all its objects were placed.
    """
    masks = np.zeros(shapes.shape + (p.size, p.size), dtype=bool)
    ok = np.ones(len(shapes), dtype=bool)
    for k in range(shapes.shape[1]):
        todo = np.flatnonzero((shapes[:, k] >= 0) & ok)
        attempts_left = p.max_redraws + 1
        while todo.size and attempts_left:
            tries = min(attempts_left, max(1, _CANDIDATES // todo.size))
            candidate = np.repeat(todo, tries)
            types = shapes[candidate, k]
            new = _rasterise_objects(*_draw_polygons(rng, types, p), types, p)
            good = _acceptable(new, masks[candidate, :k], p).reshape(todo.size, tries)
            placed = good.any(axis=1)
            first = good.argmax(axis=1)[placed]
            masks[todo[placed], k] = new.reshape(todo.size, tries, p.size, p.size)[placed, first]
            todo = todo[~placed]
            attempts_left -= tries
        ok[todo] = False
    return masks, ok


def _acceptable(new: np.ndarray, earlier: np.ndarray, p: ShapesetParams) -> np.ndarray:
    """Per image: the new mask has ``>= min_area`` pixels and overlaps no earlier object by
    more than ``max_overlap * min(area_new, area_earlier)`` pixels."""
    area = np.count_nonzero(new, axis=(1, 2))
    good = area >= p.min_area
    for j in range(earlier.shape[1]):
        other = np.count_nonzero(earlier[:, j], axis=(1, 2))
        overlap = np.count_nonzero(new & earlier[:, j], axis=(1, 2))
        good &= overlap <= p.max_overlap * np.minimum(area, other)
    return good


def _draw_polygons(rng: np.random.Generator, types: np.ndarray, p: ShapesetParams
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Random polygons of the given types, placed in the image: vertex coordinates ``x, y``
    (pixels), each ``(E, t)`` (vertex-major, so that reductions over vertices are fast).

    Draws scale, skew, rotation and position (step 3 of the module docstring); consumes
    the same random numbers whatever the types.
    """
    t = len(types)
    axes = rng.uniform(p.scale_min, p.scale_max, size=(t, 2)) * p.size
    base, height = axes.max(axis=1), axes.min(axis=1)
    skew = rng.uniform(-p.skew_max, p.skew_max, size=t) * base
    angle = 2 * np.pi * rng.integers(0, p.rotation_steps, size=t) / p.rotation_steps
    where = rng.random((2, t))
    x, y = _templates(types, base, height, skew, p.ellipse_sides)
    cos, sin = np.cos(angle), np.sin(angle)
    return _fit(x * cos - y * sin, x * sin + y * cos, where, p.size, p.margin)


def _vertex_counts(sides: int) -> tuple[int, int, int]:
    """Vertices of each shape in :data:`SHAPES` order."""
    return 3, 4, sides


@functools.lru_cache(maxsize=None)
def _unit_polygons(sides: int) -> np.ndarray:
    """Coefficients ``(3, E, 3)``: ``[c, v, s]`` is coefficient ``c`` of vertex ``v`` of shape ``s``,
    the vertex being ``(c0 * w + c2 * skew, c1 * h)`` for half base ``w`` and half height ``h``.

    Triangle: base from ``(-w, h)`` to ``(w, h)``, apex at ``(skew, -h)``. Parallelogram: the
    same base, top edge shifted by ``skew``. Ellipse: ``sides`` points ``(w cos a, h sin a)``.
    Every shape gets ``E = max(4, sides)`` vertices, shorter ones repeating their last one.
    """
    angles = 2 * np.pi * np.arange(sides) / sides
    triangle = [(-1, 1, 0), (1, 1, 0), (0, -1, 1)]
    parallelogram = [(-1, 1, 0), (1, 1, 0), (1, -1, 1), (-1, -1, 1)]
    ellipse = [(np.cos(a), np.sin(a), 0) for a in angles]
    n_vertices = max(4, sides)
    table = np.array([corners + [corners[-1]] * (n_vertices - len(corners))
                      for corners in (triangle, parallelogram, ellipse)], dtype=np.float64)
    return table.transpose(2, 1, 0).copy()


def _templates(types: np.ndarray, base: np.ndarray, height: np.ndarray, skew: np.ndarray, sides: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Unrotated polygons ``x, y`` (each ``(E, t)``) centred near the origin, base along x
    (see :func:`_unit_polygons`)."""
    cx, cy, cs = _unit_polygons(sides)[:, :, types]
    return cx * (base / 2) + cs * skew, cy * (height / 2)


def _fit(x: np.ndarray, y: np.ndarray, where: np.ndarray, size: int, margin: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Shrink each polygon about the origin until its bounding box fits in ``size - 2 margin``
    pixels (shrink rule), then translate it to the fraction ``where`` (``(2, t)`` in [0, 1))
    of its free play, so the whole object lies within ``[margin, size - margin]`` and no
    pixel of the outer ``margin`` ring has its centre inside it."""
    room = size - 2 * margin
    low = np.stack([x.min(axis=0), y.min(axis=0)])
    extent = np.stack([x.max(axis=0), y.max(axis=0)]) - low
    shrink = np.minimum(1.0, room / extent.max(axis=0))
    offset = margin - low * shrink + where * np.maximum(room - extent * shrink, 0.0)
    return x * shrink + offset[0], y * shrink + offset[1]


def _rasterise_objects(x: np.ndarray, y: np.ndarray, types: np.ndarray, p: ShapesetParams) -> np.ndarray:
    """Masks ``(t, size, size)`` of the polygons ``x, y`` of shapes ``types``, each shape
    rasterised with its own vertex count (the padding vertices are dropped)."""
    masks = np.empty((len(types), p.size, p.size), dtype=bool)
    for code, n_vertices in enumerate(_vertex_counts(p.ellipse_sides)):
        chosen = types == code
        masks[chosen] = _rasterise(x[:n_vertices, chosen], y[:n_vertices, chosen], p.size)
    return masks


def _rasterise(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Masks ``(t, size, size)`` of convex polygons with vertices ``x, y`` (each ``(E, t)``):
    pixel ``(i, j)`` is in when its centre ``(j + 0.5, i + 0.5)`` lies on the inner side of
    (or on) every edge.

    The inner side of an edge is given by the sign of the cross product of the edge with
    the point, times the polygon's orientation. On pixel row ``y`` a non-horizontal edge
    from ``(x0, y0)`` cuts at ``x0 + (y - y0) dx / dy``; the point is inside that edge's
    half-plane on one side of the cut (the lower bounds are the edges whose cross product
    grows with ``x``). So each row is an interval ``[max lower cut, min upper cut]``,
    limited to the rows within the polygon's vertical extent (which is what the horizontal
    edges say). This costs ``O(E * size)`` per polygon before the final ``size x size``
    comparison.
    """
    dx, dy = np.roll(x, -1, axis=0) - x, np.roll(y, -1, axis=0) - y
    orientation = np.sign(np.sum(x * dy - y * dx, axis=0))
    slanted = np.abs(dy) > _FLAT
    slope = dx / np.where(slanted, dy, 1.0)
    grows = -dy * orientation  # d(cross product)/dx
    centres = np.arange(size, dtype=np.float32) + 0.5
    cut = (slope[..., None] * (centres - y[..., None]) + x[..., None]).astype(np.float32)  # (E, t, rows)
    lower = np.where((slanted & (grows > 0))[..., None], cut, -np.inf).max(axis=0)
    upper = np.where((slanted & (grows < 0))[..., None], cut, np.inf).min(axis=0)
    in_rows = (centres >= y.min(axis=0)[:, None]) & (centres <= y.max(axis=0)[:, None])
    lower = np.where(in_rows, lower, np.inf)
    return (centres >= lower[..., None]) & (centres <= upper[..., None])


def _chunk_seed(seed: int, chunk_index: int) -> int:
    """Seed of chunk ``chunk_index`` of a stream, derived from ``(seed, chunk_index)`` by SeedSequence."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(chunk_index,))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


@functools.cache
def _background() -> ThreadPoolExecutor:
    """The threads that generate streams' next chunks (one per core, shared by all streams)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="shapeset-lookahead")


os.register_at_fork(after_in_child=_background.cache_clear)  # a forked child starts its own threads


class ShapesetStream:
    """Infinite online stream of fresh training images (the paper's Shapeset training set is
    an online stream, Glorot & Bengio 2010, Section 2.1).

    Images are generated ``chunk`` at a time, chunk ``c`` from a seed derived from
    ``(seed, c)`` with numpy's SeedSequence, and served in mini-batches of ``batch_size``
    (the paper uses 10). The stream is deterministic and random-access: :meth:`skip`,
    :meth:`state` and :meth:`from_state` let a run resumed at update ``k`` see the same
    batches as an uninterrupted one.

    With ``lookahead`` (the default), chunk ``c + 1`` is generated in a background thread
    while the second half of chunk ``c`` is served (so a short run does not generate a
    chunk it never uses), and the data are ready before training needs them when a core is
    free; the images are the same either way (each chunk depends only on its seed).
    """

    def __init__(self, seed: int, batch_size: int = 10, chunk: int = 10_000,
                 params: ShapesetParams = ShapesetParams(), lookahead: bool = True) -> None:
        seed, batch_size, chunk = (_require_int("ShapesetStream seed", seed, 0),
                                   _require_int("ShapesetStream batch_size", batch_size, 1),
                                   _require_int("ShapesetStream chunk", chunk, 1))
        if chunk % batch_size:
            raise GlorotError(f"ShapesetStream chunk ({chunk}) must be a multiple of batch_size ({batch_size})")
        if not isinstance(params, ShapesetParams):
            raise GlorotError(f"params must be a ShapesetParams, got {type(params).__name__}")
        self.seed, self.batch_size, self.chunk, self.params = seed, batch_size, chunk, params
        self.batches_served = 0
        self.lookahead = lookahead
        self._cached: tuple[int, np.ndarray, np.ndarray] | None = None
        self._next: tuple[int, Future] | None = None

    def __iter__(self) -> ShapesetStream:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        """The next mini-batch: x float32 ``(batch_size, size*size)``, y int64 ``(batch_size,)``."""
        first = self.batches_served * self.batch_size
        index, offset = divmod(first, self.chunk)
        x, y = self._chunk(index)
        self.batches_served += 1
        if self.lookahead and self._next is None and 2 * offset >= self.chunk:
            self._next = (index + 1, _background().submit(generate, self.chunk, _chunk_seed(self.seed, index + 1),
                                                          self.params))
        return x[offset:offset + self.batch_size].copy(), y[offset:offset + self.batch_size].copy()

    def _chunk(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or self._cached[0] != index:
            if self._next is not None and self._next[0] == index:
                x, y = self._next[1].result()
            else:
                x, y = self._generate(index)
            self._cached, self._next = (index, x, y), None
        return self._cached[1], self._cached[2]

    def _generate(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return generate(self.chunk, _chunk_seed(self.seed, index), self.params)

    def skip(self, n_batches: int) -> None:
        """Move ``n_batches`` batches ahead without generating the chunks passed over."""
        self.batches_served += _require_int("n_batches", n_batches, 0)

    def state(self) -> dict[str, Any]:
        """A JSON-ready dict from which :meth:`from_state` rebuilds the stream at this point."""
        return {"seed": self.seed, "batch_size": self.batch_size, "chunk": self.chunk,
                "params": self.params.to_dict(), "batches_served": self.batches_served}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ShapesetStream:
        """The stream described by a :meth:`state` dict, positioned where it was taken."""
        try:
            stream = cls(state["seed"], state["batch_size"], state["chunk"], ShapesetParams(**state["params"]))
            stream.skip(state["batches_served"])
        except (KeyError, TypeError) as e:
            raise GlorotError(f"bad ShapesetStream state: {e}") from None
        return stream


def write_split(out_dir: str | Path, n: int, seed: int, params: ShapesetParams = ShapesetParams()) -> Path:
    """Generate ``n`` images with ``seed`` and save them as a split (``glorot.data.store``) in ``out_dir``."""
    x, y = generate(n, seed, params)
    manifest = {
        "dataset": "shapeset",
        "generator": "glorot.data.shapeset",
        "params": params.to_dict(),
        "seed": int(seed),
        "class_names": list(CLASS_NAMES),
        "image_shape": [params.size, params.size],
        "pixel_range": [-1, 1],
    }
    return save_split(out_dir, x, y, manifest)
