"""Small-ImageNet's images (Glorot & Bengio 2010, Section 2.2, Figure 1 bottom): which
ones are chosen, and their conversion to 37x37 grey.

:func:`select_images` takes, for each class, its first ``per_class`` readable images in
an order permuted with a seeded generator (one stream per class); unreadable images are
skipped and counted, and too many of them is an error. :func:`to_small_grey` converts one
image with torchvision transforms: ``Grayscale()`` (ITU-R 601-2 luma), ``Resize(37)``
(shorter side to 37 pixels, bilinear with antialiasing, aspect ratio kept),
``CenterCrop(37)``, decoded at full size (no JPEG draft mode). Only the chosen images are
decoded, optionally on several ``workers`` threads; the result does not depend on their
number.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from glorot.data.imagesets import one_line
from glorot.data.small_imagenet_sources import Entry, TarSource, TreeSource
from glorot.errors import GlorotError

SIDE = 37
_CHUNK = 256  # images read, then decoded in parallel, at a time


def _transform():
    from torchvision import transforms

    return transforms.Compose([
        transforms.Grayscale(num_output_channels=1),
        transforms.Resize(SIDE, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
        transforms.CenterCrop(SIDE),
    ])


def to_small_grey(data: bytes, transform: Callable | None = None) -> np.ndarray:
    """The encoded image ``data`` as a 37x37 uint8 grey array (module doc); raises on bad data."""
    from PIL import Image

    transform = transform or _transform()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        small = transform(image)
    array = np.asarray(small, dtype=np.uint8)
    if array.shape != (SIDE, SIDE):
        raise ValueError(f"unexpected converted shape {array.shape}")
    return array


def _decode(data: bytes | None, transform: Callable) -> np.ndarray | str:
    """:func:`to_small_grey`, or the reason it failed (:func:`unreadable_reason`)."""
    if data is None:
        return "cannot read file"
    try:
        return to_small_grey(data, transform)
    except Exception as e:  # noqa: BLE001 - every decoder failure makes an unreadable image
        return unreadable_reason(e)


_ADDRESS = re.compile(r"\s+at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{8,}")  # " at 0x7f..." in a repr, or a bare address


def unreadable_reason(error: BaseException) -> str:
    """Why an image could not be decoded, in words that are the same on every rebuild (the
    manifest records them, and the manifest is part of the data version): the exception's
    type and its one-line message without memory addresses, e.g. ``UnidentifiedImageError:
    cannot identify image file <_io.BytesIO object>`` (Pillow's message names the buffer
    ``<_io.BytesIO object at 0x7f...>``)."""
    message = _ADDRESS.sub("", one_line(error))
    return f"{type(error).__name__}: {message}" if message != type(error).__name__ else message


@dataclass
class Selection:
    """The chosen images of each class (in permuted order) and what was skipped."""

    images: list[list[np.ndarray]]
    names: list[list[str]]
    digests: list[list[str]]
    tried: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def select_images(source: TreeSource | TarSource, by_class: list[list[Entry]], per_class: int, seed: int,
                  max_unreadable: float, workers: int, progress: Callable[[int], None] | None = None) -> Selection:
    """For each class, its first ``per_class`` readable images in a seeded permuted order.

    A class may end with fewer (when it runs out); the caller balances. Raises when more
    than ``max_unreadable`` of the images tried could not be read.
    """
    n_classes = len(by_class)
    streams = np.random.SeedSequence(seed).spawn(n_classes + 1)
    orders = [np.random.default_rng(s).permutation(len(entries)) for s, entries in zip(streams, by_class)]
    chosen: list[list[tuple[int, np.ndarray, str, str]]] = [[] for _ in range(n_classes)]
    next_rank = [0] * n_classes
    selection = Selection([], [], [])
    transform = _transform()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while True:
            todo = []
            for c in range(n_classes):
                need = per_class - len(chosen[c])
                ranks = range(next_rank[c], min(next_rank[c] + need, len(by_class[c])))
                next_rank[c] = ranks.stop if len(ranks) else next_rank[c]
                todo += [(c, r, by_class[c][orders[c][r]]) for r in ranks]
            if not todo:
                break
            todo.sort(key=lambda item: item[2].name)  # read in name order: archive order for tars
            for start in range(0, len(todo), _CHUNK):
                chunk = todo[start:start + _CHUNK]
                blobs = [_read(source, entry) for _, _, entry in chunk]
                results = pool.map(_decode, blobs, [transform] * len(blobs))
                for (c, rank, entry), blob, result in zip(chunk, blobs, results):
                    if isinstance(result, str):
                        selection.unreadable.append((entry.name, result))
                    else:
                        chosen[c].append((rank, result, entry.name, hashlib.sha256(blob).hexdigest()))
                selection.tried += len(chunk)
                if progress:
                    progress(len(chunk))
                _check_unreadable(selection, max_unreadable, bound=per_class * n_classes)
    _check_unreadable(selection, max_unreadable)
    for items in chosen:
        items.sort(key=lambda item: item[0])
        selection.images.append([item[1] for item in items])
        selection.names.append([item[2] for item in items])
        selection.digests.append([item[3] for item in items])
    return selection


def _read(source: TreeSource | TarSource, entry: Entry) -> bytes | None:
    try:
        return source.read(entry)
    except (OSError, tarfile.TarError, EOFError, zlib.error):
        return None


def _check_unreadable(selection: Selection, max_unreadable: float, bound: int | None = None) -> None:
    """Fail when too many images were unreadable; with ``bound`` (the most readable images
    there can be), fail as soon as the final ratio can no longer stay under the limit."""
    bad = len(selection.unreadable)
    total = selection.tried if bound is None else bound + bad
    if bad and bad > max_unreadable * total:
        name, why = selection.unreadable[0]
        tried = f"{selection.tried} tried" if bound is None else f"{selection.tried} tried so far"
        raise GlorotError(f"too many unreadable images: {bad} of {tried} (more than {max_unreadable:.1%}); "
                          f"first: {name}: {why}")
