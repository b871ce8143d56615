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
3. each object is a convex polygon (a 20-gon for the ellipse) made from one draw of
   :func:`~glorot.data.shapeset_objects.draw_objects`: two axis lengths uniform in
   ``[scale_min, scale_max] * size``, the larger along the base (an ellipse's axes are
   these lengths); a skew (apex offset of a triangle, shift of a parallelogram's top
   edge) uniform in ``[-skew_max, skew_max] * base``, which makes them irregular; a
   rotation uniform over ``rotation_steps`` steps of a full turn; a position uniform
   over the places where the whole object lies at least ``margin`` pixels inside the
   image.
   **Fit rule**: a draw is redrawn whole (scale, skew, rotation and position) while the
   triangle, the parallelogram or the ellipse it describes would not fit in the
   ``size - 2 * margin`` pixels available once rotated; objects are never shrunk. The
   rule asks all three shapes, not only the object's own, so that scale, skew and
   rotation have the same distribution for every type. At the default parameters 22.7%
   of draws are redrawn, for every type alike, and each time it is the parallelogram
   that would not fit: its skew makes it up to 1.5 times as wide as its base, and turning
   it widens its bounding box further, while the triangle of a draw lies inside its
   parallelogram and an ellipse is at most ``0.8 * 32 = 25.6 < 30`` pixels across. The
   kept draws are therefore the uniform ones conditioned on fitting: large objects are
   rarer than uniform (mean base 18.0 pixels instead of 19.2), the more so when strongly
   skewed or turned away from the axes. A parallelogram's longest diagonal is at most
   ``sqrt((1 + skew_max)^2 + 1) * base``, so draws whose base is at most
   ``(size - 2 margin) / sqrt((1 + skew_max)^2 + 1)`` pixels (16.6) always fit, and
   among them every parameter has exactly its stated uniform distribution. Rejection was chosen over shrinking the objects (the old
   rule, which shrank 23% of the parallelograms, 1% of the triangles and no ellipse, so
   that sizes depended on the type) and over bounding the skew (not enough: an unskewed
   ``0.8 x 0.8`` square already spans 36 pixels when turned by 45 degrees);
4. objects are rasterised on pixel centres
   (:func:`~glorot.data.shapeset_objects.rasterise_objects`); the second one is drawn
   over the first;
5. **overlap rule**: an object is redrawn (new scale, skew, rotation and position, same
   type) while ``overlap_pixels / min(area_new, area_old) > max_overlap`` on the
   rasterised masks, or while its mask has fewer than ``min_area`` pixels, up to
   ``max_redraws`` times. This is stricter than the original's "overlap / area of the
   new object", so that every object stays at least half visible and the label stays
   true. Unlike the fit rule, this rule looks at the object's own shape (as the
   original's did), so it does make the second object's size depend on its type: a
   larger shape overlaps more often and is redrawn more often (mean base of a second
   object at the default parameters: triangle 17.4, ellipse 16.9, parallelogram 16.4
   pixels, against 18.0 for every first object). If all redraws fail, all the image's
   objects are redrawn from scratch (same types, so the label distribution is
   untouched); if that keeps failing (``_MAX_RESTARTS`` times, which only happens with
   extreme parameters), a :class:`~glorot.errors.GlorotError` is raised
   (:func:`~glorot.data.shapeset_objects.place_objects`).

Pixels are grey levels ``v`` in [0, 1] mapped to ``2 v - 1`` in [-1, 1], the range fed
to the network.

Where the pieces are: this module holds the classes and labels, the image/label
generator (steps 1, 2 and the painting of the objects: :func:`generate`), the online
training stream (:class:`ShapesetStream`) and the writing of fixed splits
(:func:`write_split`); the parameters are in :mod:`glorot.data.shapeset_params` and the
objects' geometry, rasterisation and placement (steps 3-5) in
:mod:`glorot.data.shapeset_objects`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from glorot.data.shapeset_objects import BASE, HEIGHT, SKEW, STEP, place_objects
from glorot.data.shapeset_params import ShapesetParams, require_int
from glorot.data.store import save_split
from glorot.errors import GlorotError

__all__ = ["CLASS_NAMES", "SHAPES", "ShapesetBatch", "ShapesetParams", "ShapesetStream", "generate",
           "generate_detailed", "label_from_counts", "write_split"]

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
        axes: float32 ``(n, K, 2)`` each object's base and height in pixels (base >= height),
            NaN where absent.
        skew: float32 ``(n, K)`` each object's skew as a fraction of its base, NaN where absent.
        rotation: int64 ``(n, K)`` each object's rotation in steps of ``2 pi / rotation_steps``,
            -1 where absent.
    """

    x: np.ndarray
    y: np.ndarray
    shapes: np.ndarray
    masks: np.ndarray
    object_grey: np.ndarray
    background_grey: np.ndarray
    swapped: np.ndarray
    axes: np.ndarray
    skew: np.ndarray
    rotation: np.ndarray


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
    """Like :func:`generate` (same ``x``, ``y``) plus each object's type, mask, grey level and
    drawn scale, skew and rotation."""
    _check_request(n, seed, params)
    blocks = [block for _, block in _blocks(n, seed, params)]
    return ShapesetBatch(**{field.name: np.concatenate([getattr(block, field.name) for block in blocks])
                            for field in dataclasses.fields(ShapesetBatch)})


def _check_request(n: int, seed: int, params: ShapesetParams) -> None:
    require_int("number of images", n, 0)
    require_int("seed", seed, 0)
    if not isinstance(params, ShapesetParams):
        raise GlorotError(f"params must be a ShapesetParams, got {type(params).__name__}")


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
    masks, draws = place_objects(rng, shapes, p)
    counts = np.stack([(shapes == s).sum(axis=1) for s in range(len(SHAPES))], axis=-1)
    return ShapesetBatch(x=_compose(masks, object_grey, background_grey), y=label_from_counts(counts),
                         shapes=shapes, masks=masks, object_grey=object_grey, background_grey=background_grey,
                         swapped=swapped, axes=draws[..., [BASE, HEIGHT]].astype(np.float32),
                         skew=draws[..., SKEW].astype(np.float32),
                         rotation=np.nan_to_num(draws[..., STEP], nan=-1).astype(np.int64))


def _compose(masks: np.ndarray, object_grey: np.ndarray, background_grey: np.ndarray) -> np.ndarray:
    """Paint the objects in slot order over the background; grey ``v`` -> pixel ``2 v - 1``."""
    pixels = np.broadcast_to(2 * background_grey[:, None, None] - 1, masks[:, 0].shape)
    for k in range(masks.shape[1]):
        pixels = np.where(masks[:, k], 2 * object_grey[:, k, None, None] - 1, pixels)
    return pixels.reshape(len(masks), masks.shape[-1] * masks.shape[-2])


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
        seed, batch_size, chunk = (require_int("ShapesetStream seed", seed, 0),
                                   require_int("ShapesetStream batch_size", batch_size, 1),
                                   require_int("ShapesetStream chunk", chunk, 1))
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
        self.batches_served += require_int("n_batches", n_batches, 0)

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
