"""The objects of Shapeset-3x2 (Glorot & Bengio 2010, Section 2.1, Figure 1 top): their
geometry, their rasterisation and their placement in an image.

This is steps 3-5 of the recipe in :mod:`glorot.data.shapeset`:

- :func:`draw_polygons` draws each object as a convex polygon (triangle, parallelogram,
  or a many-sided polygon for the ellipse) with a random scale, skew, rotation and
  position, shrunk when it would not fit (the shrink rule);
- :func:`rasterise_objects` turns the polygons into pixel masks (pixel centres inside);
- :func:`place_objects` draws the objects of each image in turn, redrawing one while it
  breaks the overlap or area rule, and a whole image when that keeps failing.
"""

from __future__ import annotations

import functools

import numpy as np

from glorot.data.shapeset_params import ShapesetParams
from glorot.errors import GlorotError

_CANDIDATES = 1024  # fewest candidate objects drawn at once while redrawing
_FLAT = 1e-9  # edges with a smaller height (pixels) count as horizontal
_MAX_RESTARTS = 100  # whole-image redraws before giving up (the overlap rule of glorot.data.shapeset)


def place_objects(rng: np.random.Generator, shapes: np.ndarray, p: ShapesetParams) -> np.ndarray:
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
            new = rasterise_objects(*draw_polygons(rng, types, p), types, p)
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


def draw_polygons(rng: np.random.Generator, types: np.ndarray, p: ShapesetParams
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Random polygons of the given types, placed in the image: vertex coordinates ``x, y``
    (pixels), each ``(E, t)`` (vertex-major, so that reductions over vertices are fast).

    Draws scale, skew, rotation and position (step 3 of the recipe in :mod:`glorot.data.shapeset`); consumes
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


def rasterise_objects(x: np.ndarray, y: np.ndarray, types: np.ndarray, p: ShapesetParams) -> np.ndarray:
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

