"""Small-ImageNet (paper, Section 2.2, Figure 1 bottom): 37x37 grey images of ten
balanced WordNet groups, 90,000 / 10,000 / 10,000.

There is no public copy of the paper's set; this module builds one from ImageNet images
the user holds:

- **Source**: an ImageNet-style tree (one folder per WordNet id, ``n01440764/*.JPEG``, at
  any depth), a ``.tar`` (or compressed tar) archive of such a tree, or an archive of
  per-synset archives like ILSVRC-2012's ``ILSVRC2012_img_train.tar``
  (``n01440764.tar``, ...). Image files are those with the extensions in
  :data:`~glorot.data.small_imagenet_sources.IMAGE_EXTENSIONS`; a file's synset is the
  nearest enclosing folder (or inner archive) named like a WordNet id. Synsets absent
  from the mapping are ignored.
- **Classes**: the mapping JSON (default
  :data:`~glorot.data.small_imagenet_mapping.DEFAULT_MAPPING`, a best-effort list of
  ImageNet-1k synsets per group; ``--mapping FILE`` replaces it) gives, in label order,
  each group's synsets: ``{"groups": {"reptiles": ["n01664065", ...] or
  {"n01664065": "loggerhead", ...}, ...}}``. An entry that is not a WordNet id
  (``n`` and 8 digits), a synset in two groups, or an empty group is an error.
- **Balance**: every class gets the same number of images, ``per_class`` = the smallest
  class's image count, capped at the paper's 11,000 (or ``--per-class N``, which must be
  available in every class). Which images: each class's files are listed in sorted
  order and permuted with a generator seeded by ``seed`` (one stream per class); a
  class takes its first ``per_class`` readable images in that order.
- **Unreadable images** are skipped (the next ones in the order take their place) and
  counted in the output and manifest; more than ``max_unreadable`` (default 1%) of the
  images tried is a one-line error.
- **Splits**: within each class, the chosen images (in permuted order) are cut 9:1:1,
  ``valid = test = per_class // 11`` and train the rest, so that each split is balanced.
  With 11,000 per class that is the paper's 90,000 / 10,000 / 10,000; with fewer images it
  is proportionally smaller, which the command says and the manifest records
  (``paper_sizes: false``). Each split is then shuffled (seeded).
- **Preprocessing** (torchvision transforms on PIL images,
  :func:`~glorot.data.small_imagenet_images.to_small_grey`): ``Grayscale()`` (ITU-R
  601-2 luma), ``Resize(37)`` (shorter side to 37 pixels, bilinear with antialiasing,
  aspect ratio kept), ``CenterCrop(37)``; then levels mapped to ``[-1, 1]`` and
  flattened row by row (1369 inputs). Images are decoded at full size
  (no JPEG draft mode), so the result does not depend on the decoder's shortcuts. Only
  the chosen images are decoded (about 110,000 at the paper's size: minutes on one core),
  optionally on several ``workers`` threads; the result does not depend on their number.

Where the pieces are: the mapping is read by :mod:`glorot.data.small_imagenet_mapping`,
the source by :mod:`glorot.data.small_imagenet_sources`, the images are chosen and
converted by :mod:`glorot.data.small_imagenet_images`; this module balances, splits and
writes the data set (:func:`build`). Their public names can also be imported from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glorot.data.defaults import DEFAULT_MAX_UNREADABLE
from glorot.data.imagesets import PIXEL_RANGE, PIXEL_SCALING, to_network_range, write_dataset
from glorot.data.small_imagenet_images import SIDE, Selection, select_images, to_small_grey
from glorot.data.small_imagenet_mapping import (
    DEFAULT_MAPPING,
    MAPPING_FILE,
    PAPER_GROUPS,
    WNID,
    Mapping,
    default_mapping_path,
    load_mapping,
)
from glorot.data.small_imagenet_sources import IMAGE_EXTENSIONS, Entry, TarSource, TreeSource, open_source
from glorot.errors import GlorotError

__all__ = ["DEFAULT_MAPPING", "DEFAULT_MAX_UNREADABLE", "IMAGE_EXTENSIONS", "MAPPING_FILE", "MIN_PER_CLASS",
           "PAPER_GROUPS", "PAPER_PER_CLASS", "SIDE", "SPLIT_PARTS", "WNID", "Entry", "Mapping", "Report",
           "Selection", "TarSource", "TreeSource", "build", "default_mapping_path", "load_mapping", "open_source",
           "select_images", "to_small_grey"]

PAPER_PER_CLASS = 11_000  # 110,000 images / 10 classes: 9,000 / 1,000 / 1,000 per class
SPLIT_PARTS = 11  # train : valid : test = 9 : 1 : 1
MIN_PER_CLASS = SPLIT_PARTS  # at least one image per class in each of valid and test


@dataclass
class Report:
    """What :func:`build` did, for the command's output."""

    out: Path
    per_class: int
    sizes: dict[str, int]
    paper_sizes: bool
    unreadable: int
    class_names: list[str]


def build(out: str | Path, source: str | Path, *, mapping: str | Path | None = None, per_class: int | None = None,
          seed: int = 0, max_unreadable: float = DEFAULT_MAX_UNREADABLE, workers: int | None = None,
          progress: bool = False) -> Report:
    """Build Small-ImageNet as ``OUT/{train,valid,test}`` from ``source`` (module doc)."""
    workers = _check_options(per_class, max_unreadable, seed, workers)
    table = load_mapping(mapping)
    src = open_source(source)
    try:
        by_class = _entries_by_class(src, table)
        available = {name: len(found) for name, found in zip(table.groups, by_class)}
        target = _target_per_class(available, per_class, source)
        selection = _select(src, by_class, target, seed, max_unreadable, workers, progress)
    finally:
        src.close()
    final = _final_per_class(selection, target, per_class, table.class_names)
    splits, sizes = _split(selection, final, seed)
    paper = final == PAPER_PER_CLASS and len(table.groups) == len(PAPER_GROUPS)
    source_record = _source_record(src.kind, source, table, by_class, available, selection, final)
    manifest = _manifest(source_record, table, seed, final, paper)
    path = write_dataset(out, splits, manifest)
    return Report(path, final, sizes, paper, len(selection.unreadable), table.class_names)


def _check_options(per_class: int | None, max_unreadable: float, seed: int, workers: int | None) -> int:
    """Refuse bad options of :func:`build` with a one-line error; the number of workers (default 1)."""
    if per_class is not None and (isinstance(per_class, bool) or per_class < MIN_PER_CLASS):
        raise GlorotError(f"invalid per_class: must be >= {MIN_PER_CLASS} (one image each for valid and test "
                          f"per {SPLIT_PARTS}), got {per_class}")
    if not 0 <= max_unreadable < 1:
        raise GlorotError(f"invalid max_unreadable: must be in [0, 1), got {max_unreadable}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GlorotError(f"invalid seed: must be an integer >= 0, got {seed!r}")
    workers = 1 if workers is None else workers
    if workers < 1:
        raise GlorotError(f"invalid workers: must be >= 1, got {workers}")
    return workers


def _entries_by_class(src: TreeSource | TarSource, table: Mapping) -> list[list[Entry]]:
    """The source's images of the mapped synsets, grouped by class in label order (each in name order)."""
    label_of = table.label_of()
    by_class: list[list[Entry]] = [[] for _ in table.groups]
    for entry in src.entries(set(label_of)):
        by_class[label_of[entry.wnid]].append(entry)
    return by_class


def _select(src: TreeSource | TarSource, by_class: list[list[Entry]], target: int, seed: int,
            max_unreadable: float, workers: int, progress: bool) -> Selection:
    """:func:`select_images`, with a progress bar when ``progress``."""
    bar = _progress_bar(target * len(by_class)) if progress else None
    try:
        return select_images(src, by_class, target, seed, max_unreadable, workers, bar.update if bar else None)
    finally:
        if bar:
            bar.close()


def _final_per_class(selection: Selection, target: int, per_class: int | None, class_names: list[str]) -> int:
    """The images per class once unreadable ones were skipped: the fewest any class got (every
    class is cut to it); an error when that is short of ``per_class`` (if given) or of
    :data:`MIN_PER_CLASS`."""
    final = min(len(images) for images in selection.images)
    if final < target:
        short = class_names[[len(i) for i in selection.images].index(final)]
        if per_class is not None or final < MIN_PER_CLASS:
            raise GlorotError(f"too few readable images for class {short!r}: {final}, need "
                              f"{per_class if per_class is not None else MIN_PER_CLASS}")
    return final


def _source_record(kind: str, source: str | Path, table: Mapping, by_class: list[list[Entry]],
                   available: dict[str, int], selection: Selection, final: int) -> dict[str, Any]:
    """The manifest's ``source`` entry: what was found, which images were chosen, what was skipped."""
    found = {name: sorted({e.wnid for e in group}) for name, group in zip(table.groups, by_class)}
    return {
        "kind": kind,
        "name": Path(source).name,
        "images_available": available,
        "synsets_found": {name: len(wnids) for name, wnids in found.items()},
        "selected_sha256": _selection_digest(selection, final),
        "unreadable_skipped": len(selection.unreadable),
        "unreadable_examples": [f"{n}: {why}" for n, why in selection.unreadable[:20]],
    }


def _manifest(source_record: dict[str, Any], table: Mapping, seed: int, final: int, paper: bool) -> dict[str, Any]:
    """The manifest written with every split (:func:`~glorot.data.imagesets.write_dataset`)."""
    return {
        "dataset": "small_imagenet",
        "source": source_record,
        "mapping": {"file": table.file, "sha256": table.sha256,
                    "groups": {k: list(v) for k, v in table.groups.items()}},
        "seed": seed,
        "per_class": final,
        "paper_sizes": paper,
        "split_rule": (f"balanced: {final} images per class, chosen in a seeded permuted order among the readable "
                       f"images of the class's synsets; per class the first {final - 2 * (final // SPLIT_PARTS)} "
                       f"go to train, the next {final // SPLIT_PARTS} to valid and the last {final // SPLIT_PARTS} "
                       f"to test (9:1:1; the paper's 90000/10000/10000 at 11000 per class); each split shuffled"),
        "preprocessing": ("torchvision Grayscale(), Resize(37, bilinear, antialias), CenterCrop(37) on the decoded "
                          "image (decoded at full size by Pillow); flattened row by row "
                          f"(1369 inputs); {PIXEL_SCALING}"),
        "class_names": table.class_names,
        "image_shape": [SIDE, SIDE],
        "pixel_range": PIXEL_RANGE,
    }


def _target_per_class(available: dict[str, int], per_class: int | None, source: str | Path) -> int:
    for name, n in available.items():
        if n < max(MIN_PER_CLASS, per_class or 0):
            need = per_class if per_class is not None else MIN_PER_CLASS
            raise GlorotError(f"too few images for class {name!r}: {n} found in {source} under its synsets, "
                              f"need at least {need}")
    smallest = min(available.values())
    return per_class if per_class is not None else min(smallest, PAPER_PER_CLASS)


def _split(selection: Selection, per_class: int, seed: int) -> tuple[dict, dict[str, int]]:
    n_held = per_class // SPLIT_PARTS
    bounds = {"train": (0, per_class - 2 * n_held), "valid": (per_class - 2 * n_held, per_class - n_held),
              "test": (per_class - n_held, per_class)}
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(selection.images) + 1)[-1])
    splits, sizes = {}, {}
    for name, (lo, hi) in bounds.items():
        pixels = np.stack([img for images in selection.images for img in images[lo:hi]])
        labels = np.repeat(np.arange(len(selection.images), dtype=np.int64), hi - lo)
        order = rng.permutation(len(labels))
        splits[name] = (to_network_range(pixels[order]), labels[order])
        sizes[name] = len(labels)
    return splits, sizes


def _selection_digest(selection: Selection, per_class: int) -> str:
    """SHA-256 over the names and content hashes of the chosen images, class by class."""
    digest = hashlib.sha256()
    for names, digests in zip(selection.names, selection.digests):
        for name, d in zip(names[:per_class], digests[:per_class]):
            digest.update(f"{name}\t{d}\n".encode())
    return digest.hexdigest()


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc="Small-ImageNet", leave=False)
