"""The objects of Shapeset-3x2 (Glorot & Bengio 2010, Section 2.1, Figure 1 top): their
geometry, their rasterisation and their placement in an image.

This is steps 3-5 of the recipe in :mod:`glorot.data.shapeset`:

- :func:`draw_objects` draws each object's scale, skew, rotation and position, redrawing
  the whole draw while a triangle, a parallelogram or an ellipse drawn with it would not
  fit in the image (the fit rule), so that these parameters do not depend on the type;
- :func:`object_polygons` turns draws into convex polygons of the objects' types
  (triangle, parallelogram, or a many-sided polygon for the ellipse), placed in the image;
- :func:`rasterise_objects` turns the polygons into pixel masks (pixel centres inside);
- :func:`place_objects` draws the objects of each image in turn, redrawing one while it
  breaks the overlap or area rule, and a whole image when that keeps failing.

A draw is one row of ``DRAW_COLUMNS`` numbers: the columns ``BASE`` and ``HEIGHT`` (axis
lengths in pixels, ``BASE >= HEIGHT``), ``SKEW`` (a fraction of the base), ``STEP`` (the
rotation, in steps of ``2 pi / rotation_steps``) and the two ``WHERE`` columns (position,
as fractions of the object's free play).
"""

from __future__ import annotations

import functools

import numpy as np

from glorot.data.shapeset_params import ShapesetParams
from glorot.errors import GlorotError

BASE, HEIGHT, SKEW, STEP = 0, 1, 2, 3
WHERE = [4, 5]
DRAW_COLUMNS = 6

_CANDIDATES = 1024  # fewest candidate objects drawn at once while redrawing
_FLAT = 1e-9  # edges with a smaller height (pixels) count as horizontal
_MAX_RESTARTS = 100  # whole-image redraws before giving up (the overlap rule of glorot.data.shapeset)
_FIRST_RATE = 0.75  # acceptance of the fit rule assumed before any draw (0.77 at the default parameters)
_MIN_RATE = 1e-3  # lowest acceptance assumed when sizing a batch of proposals
_MAX_PROPOSALS = 1 << 20  # most draws proposed at once
_MAX_DRAW_ROUNDS = 64  # batches of proposals before the fit rule gives up


def place_objects(rng: np.random.Generator, shapes: np.ndarray, p: ShapesetParams
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Masks ``(m, K, size, size)`` of the objects ``shapes`` obeying the overlap and area
    rules, and their draws ``(m, K, DRAW_COLUMNS)`` (NaN where there is no object).

    Images whose objects could not be placed within ``max_redraws`` redraws are redrawn
    from scratch, keeping their object types.
    """
    masks = np.zeros(shapes.shape + (p.size, p.size), dtype=bool)
    draws = np.full(shapes.shape + (DRAW_COLUMNS,), np.nan)
    todo = np.arange(len(shapes))
    for _ in range(_MAX_RESTARTS):
        new_masks, new_draws, ok = _try_place_objects(rng, shapes[todo], p)
        masks[todo[ok]], draws[todo[ok]] = new_masks[ok], new_draws[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return masks, draws
    raise GlorotError(f"cannot place {shapes.shape[1]} objects with max_overlap={p.max_overlap} and "
                      f"min_area={p.min_area}: lower scale_max or min_area, or raise max_overlap")


def _try_place_objects(rng: np.random.Generator, shapes: np.ndarray, p: ShapesetParams
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw each slot in turn, redrawing an object up to ``max_redraws`` times while it breaks a rule.

    Redraws are batched: the images still waiting get several candidates at once and keep
    the first acceptable one, which has the same distribution as drawing them one by one.
    Returns the masks, the draws and, per image, whether all its objects were placed.
    """
    masks = np.zeros(shapes.shape + (p.size, p.size), dtype=bool)
    draws = np.full(shapes.shape + (DRAW_COLUMNS,), np.nan)
    ok = np.ones(len(shapes), dtype=bool)
    for k in range(shapes.shape[1]):
        todo = np.flatnonzero((shapes[:, k] >= 0) & ok)
        attempts_left = p.max_redraws + 1
        while todo.size and attempts_left:
            tries = min(attempts_left, max(1, _CANDIDATES // todo.size))
            types = shapes[np.repeat(todo, tries), k]
            drawn = draw_objects(rng, len(types), p)
            new = rasterise_objects(*object_polygons(drawn, types, p), types, p)
            good = _acceptable(new, masks[np.repeat(todo, tries), :k], p).reshape(todo.size, tries)
            placed = good.any(axis=1)
            first = good.argmax(axis=1)[placed]
            masks[todo[placed], k] = new.reshape(todo.size, tries, p.size, p.size)[placed, first]
            draws[todo[placed], k] = drawn.reshape(todo.size, tries, DRAW_COLUMNS)[placed, first]
            todo = todo[~placed]
            attempts_left -= tries
        ok[todo] = False
    return masks, draws, ok


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


def draw_objects(rng: np.random.Generator, t: int, p: ShapesetParams) -> np.ndarray:
    """``t`` object draws ``(t, DRAW_COLUMNS)`` whose object fits in the image whatever its type
    (the fit rule of :mod:`glorot.data.shapeset`, step 3).

    Each draw is proposed whole (axes, skew, rotation, position, see :func:`_propose`) and
    kept when the triangle, the parallelogram and the ellipse it describes would each fit
    inside the ``size - 2 margin`` pixels available (:func:`_fits`); the others are dropped
    and proposed anew. The rule looks at all three shapes, not at the object's own type,
    so the kept draws have the same distribution for every type; and the draw does not
    depend on the types at all (it is not even given them). Proposals are made in batches
    sized from the acceptance seen so far and the first ``t`` kept are returned, in order,
    so the result is a deterministic function of the random stream.
    """
    kept, n_kept, n_proposed = [], 0, 0
    for _ in range(_MAX_DRAW_ROUNDS):
        if n_kept >= t:
            return np.concatenate(kept)[:t] if kept else np.empty((0, DRAW_COLUMNS))
        rate = max(n_kept / n_proposed, _MIN_RATE) if n_proposed else _FIRST_RATE
        proposed = _propose(rng, min(int((t - n_kept) / rate) + 16, _MAX_PROPOSALS), p)
        good = proposed[_fits(proposed, p)]
        kept.append(good)
        n_kept, n_proposed = n_kept + len(good), n_proposed + len(proposed)
    raise GlorotError(f"objects rarely fit in the image ({n_kept} of {n_proposed} draws did) with "
                      f"scale_min={p.scale_min}, scale_max={p.scale_max}, skew_max={p.skew_max} and "
                      f"margin={p.margin}: lower the scales or the skew")


def _propose(rng: np.random.Generator, t: int, p: ShapesetParams) -> np.ndarray:
    """``t`` proposed draws ``(t, DRAW_COLUMNS)``: two axis lengths uniform in ``[scale_min,
    scale_max] * size`` pixels, the larger as ``BASE``; ``SKEW`` uniform in ``[-skew_max,
    skew_max]`` (a fraction of the base); ``STEP`` uniform in ``0 .. rotation_steps - 1``;
    ``WHERE`` two fractions uniform in [0, 1) of the object's free play (see
    :func:`object_polygons`)."""
    axes = rng.uniform(p.scale_min, p.scale_max, size=(t, 2)) * p.size
    draws = np.empty((t, DRAW_COLUMNS))
    draws[:, BASE], draws[:, HEIGHT] = axes.max(axis=1), axes.min(axis=1)
    draws[:, SKEW] = rng.uniform(-p.skew_max, p.skew_max, size=t)
    draws[:, STEP] = rng.integers(0, p.rotation_steps, size=t)
    draws[:, WHERE] = rng.random((t, 2))
    return draws


def _fits(draws: np.ndarray, p: ShapesetParams) -> np.ndarray:
    """Per draw: the bounding box of each shape of :data:`~glorot.data.shapeset.SHAPES`
    drawn with it (rotated, before placement) is at most ``size - 2 margin`` pixels wide
    and tall.

    Only two shapes need looking at: the triangle of a draw lies inside its parallelogram
    (:func:`_unit_polygons`), and an ellipse whose longer axis fits fits at every rotation.
    """
    room = p.size - 2 * p.margin
    table = _unit_polygons(p.ellipse_sides)
    good = _box_fits(table[:, :4, 1, None], draws, room, p)
    long = np.flatnonzero(good & (draws[:, BASE] > room))
    good[long] = _box_fits(table[:, :p.ellipse_sides, 2, None], draws[long], room, p)
    return good


def _box_fits(coefficients: np.ndarray, draws: np.ndarray, room: float, p: ShapesetParams) -> np.ndarray:
    """Per draw: the rotated polygon with these ``(3, E, 1)`` coefficients fits in a ``room`` square."""
    x, y = _rotated(*coefficients, draws, p)
    return (x.max(axis=0) - x.min(axis=0) <= room) & (y.max(axis=0) - y.min(axis=0) <= room)


def object_polygons(draws: np.ndarray, types: np.ndarray, p: ShapesetParams) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of the given types for the draws (from :func:`draw_objects`), placed in
    the image: vertex coordinates ``x, y`` (pixels), each ``(E, t)`` (vertex-major, so that
    reductions over vertices are fast).

    The object's own bounding box is moved to the fraction ``WHERE`` of its free play (the
    room left around it), so its position is uniform over the places where the whole object
    lies within ``[margin, size - margin]`` and no pixel of the outer ``margin`` ring has its
    centre inside it. Objects are drawn at their drawn size: nothing is shrunk.
    """
    x, y = _rotated(*_unit_polygons(p.ellipse_sides)[:, :, types], draws, p)
    low = np.stack([x.min(axis=0), y.min(axis=0)])
    extent = np.stack([x.max(axis=0), y.max(axis=0)]) - low
    play = np.maximum(p.size - 2 * p.margin - extent, 0.0)  # >= 0 for a kept draw, up to rounding
    offset = p.margin - low + draws[:, WHERE].T * play
    return x + offset[0], y + offset[1]


def _vertex_counts(sides: int) -> tuple[int, int, int]:
    """Vertices of each shape in :data:`~glorot.data.shapeset.SHAPES` order."""
    return 3, 4, sides


@functools.lru_cache(maxsize=None)
def _unit_polygons(sides: int) -> np.ndarray:
    """Coefficients ``(3, E, 3)``: ``[c, v, s]`` is coefficient ``c`` of vertex ``v`` of shape ``s``,
    the vertex being ``(c0 * w + c2 * skew, c1 * h)`` for half base ``w``, half height ``h``
    and ``skew`` in pixels.

    Triangle: base from ``(-w, h)`` to ``(w, h)``, apex at ``(skew, -h)``. Parallelogram: the
    same base, top edge shifted by ``skew`` (so the triangle of a draw lies inside its
    parallelogram). Ellipse: ``sides`` points ``(w cos a, h sin a)``, no skew. Every shape
    gets ``E = max(4, sides)`` vertices, shorter ones repeating their last one.
    """
    angles = 2 * np.pi * np.arange(sides) / sides
    triangle = [(-1, 1, 0), (1, 1, 0), (0, -1, 1)]
    parallelogram = [(-1, 1, 0), (1, 1, 0), (1, -1, 1), (-1, -1, 1)]
    ellipse = [(np.cos(a), np.sin(a), 0) for a in angles]
    n_vertices = max(4, sides)
    table = np.array([corners + [corners[-1]] * (n_vertices - len(corners))
                      for corners in (triangle, parallelogram, ellipse)], dtype=np.float64)
    return table.transpose(2, 1, 0).copy()


def _rotated(cx: np.ndarray, cy: np.ndarray, cs: np.ndarray, draws: np.ndarray, p: ShapesetParams
             ) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``x, y`` (each ``(E, t)``) of the polygons with coefficients ``cx, cy, cs``
    (see :func:`_unit_polygons`, each ``(E, t)`` or ``(E, 1)``), base along x before they are
    turned by the draw's rotation about the origin."""
    base = draws[:, BASE]
    x = cx * (base / 2) + cs * (draws[:, SKEW] * base)
    y = cy * (draws[:, HEIGHT] / 2)
    angle = (2 * np.pi / p.rotation_steps) * draws[:, STEP]
    cos, sin = np.cos(angle), np.sin(angle)
    return x * cos - y * sin, x * sin + y * cos


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

