"""Small-ImageNet (paper, Section 2.2, Figure 1 bottom): 37x37 grey images of ten
balanced WordNet groups, 90,000 / 10,000 / 10,000.

There is no public copy of the paper's set; this module builds one from ImageNet images
the user holds:

- **Source**: an ImageNet-style tree (one folder per WordNet id, ``n01440764/*.JPEG``, at
  any depth), a ``.tar`` (or compressed tar) archive of such a tree, or an archive of
  per-synset archives like ILSVRC-2012's ``ILSVRC2012_img_train.tar``
  (``n01440764.tar``, ...). Image files are those with the extensions in
  :data:`IMAGE_EXTENSIONS`; a file's synset is the nearest enclosing folder (or inner
  archive) named like a WordNet id. Synsets absent from the mapping are ignored.
- **Classes**: the mapping JSON (default :data:`DEFAULT_MAPPING`, a best-effort list of
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
- **Preprocessing** (torchvision transforms on PIL images, :func:`to_small_grey`):
  ``Grayscale()`` (ITU-R 601-2 luma), ``Resize(37)`` (shorter side to 37 pixels,
  bilinear with antialiasing, aspect ratio kept), ``CenterCrop(37)``; then levels mapped
  to ``[-1, 1]`` and flattened row by row (1369 inputs). Images are decoded at full size
  (no JPEG draft mode), so the result does not depend on the decoder's shortcuts. Only
  the chosen images are decoded (about 110,000 at the paper's size: minutes on one core),
  optionally on several ``workers`` threads; the result does not depend on their number.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

import numpy as np

from glorot.data.imagesets import PIXEL_RANGE, PIXEL_SCALING, one_line, to_network_range, write_dataset
from glorot.errors import GlorotError

PAPER_GROUPS = ("reptiles", "vehicles", "birds", "mammals", "fish", "furniture", "instruments", "tools",
                "flowers", "fruits")
"""The paper's ten classes, in the order of the shipped mapping (= label order)."""

SIDE = 37
PAPER_PER_CLASS = 11_000  # 110,000 images / 10 classes: 9,000 / 1,000 / 1,000 per class
SPLIT_PARTS = 11  # train : valid : test = 9 : 1 : 1
MIN_PER_CLASS = SPLIT_PARTS  # at least one image per class in each of valid and test
DEFAULT_MAX_UNREADABLE = 0.01
IMAGE_EXTENSIONS = frozenset({".jpeg", ".jpg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
WNID = re.compile(r"n\d{8}")
MAPPING_FILE = "small_imagenet_synsets.json"
_CHUNK = 256  # images read, then decoded in parallel, at a time


def default_mapping_path() -> Path:
    """The mapping shipped with the package."""
    return Path(str(resources.files("glorot.data").joinpath(MAPPING_FILE)))


DEFAULT_MAPPING = default_mapping_path()


# ---------------------------------------------------------------------------------------
# the mapping


@dataclass(frozen=True)
class Mapping:
    """Class names in label order and the synsets of each; ``sha256`` of the file read."""

    groups: dict[str, tuple[str, ...]]
    file: str
    sha256: str

    @property
    def class_names(self) -> list[str]:
        return list(self.groups)

    def label_of(self) -> dict[str, int]:
        return {wnid: label for label, wnids in enumerate(self.groups.values()) for wnid in wnids}


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read and validate a mapping file (module doc); the shipped one when ``path`` is None."""
    path = Path(path) if path is not None else DEFAULT_MAPPING
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
    except OSError as e:
        raise GlorotError(f"cannot read mapping {path}: {e.strerror or one_line(e)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GlorotError(f"invalid mapping {path}: not JSON ({one_line(e)})") from None
    groups = doc.get("groups", doc) if isinstance(doc, dict) else None
    if not isinstance(groups, dict) or len(groups) < 2:
        raise GlorotError(f"invalid mapping {path}: expected {{\"groups\": {{class name: [WordNet ids]}}}} "
                          f"with at least 2 classes")
    seen: dict[str, str] = {}
    parsed = {}
    for name, entries in groups.items():
        if isinstance(entries, dict):
            entries = list(entries)
        if not isinstance(entries, list) or not entries:
            raise GlorotError(f"invalid mapping {path}: class {name!r} must list at least one WordNet id")
        for wnid in entries:
            if not isinstance(wnid, str) or not WNID.fullmatch(wnid):
                raise GlorotError(f"invalid mapping {path}: class {name!r} lists {wnid!r}, which is not a "
                                  f"WordNet id (n followed by 8 digits, e.g. n01440764)")
            if wnid in seen:
                raise GlorotError(f"invalid mapping {path}: {wnid} is in both {seen[wnid]!r} and {name!r}")
            seen[wnid] = name
        parsed[str(name)] = tuple(entries)
    return Mapping(parsed, path.name, hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------------------------------
# sources: a folder tree or a tar archive


@dataclass(frozen=True)
class Entry:
    """One image file of the source: its synset, its path (for messages and order) and a handle."""

    wnid: str
    name: str
    handle: Any = field(compare=False, repr=False)


def _synset_of(parts: Iterable[str]) -> str | None:
    """The nearest folder named like a WordNet id, or None."""
    for part in reversed(list(parts)):
        if WNID.fullmatch(part):
            return part
    return None


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


class TreeSource:
    """Images under a folder tree."""

    kind = "tree"

    def __init__(self, root: Path) -> None:
        self.root = root

    def entries(self, wanted: set[str]) -> list[Entry]:
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            rel = Path(folder).relative_to(self.root)
            wnid = _synset_of(rel.parts)
            if wnid is None or wnid not in wanted:
                continue
            found += [Entry(wnid, (rel / f).as_posix(), Path(folder) / f) for f in files if _is_image(f)]
        return sorted(found, key=lambda e: e.name)

    def read(self, entry: Entry) -> bytes:
        return entry.handle.read_bytes()

    def close(self) -> None:
        pass


class TarSource:
    """Images in a tar archive of a tree, or of per-synset archives (ILSVRC-2012's training tar)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = "tar"
        try:
            self.tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise GlorotError(f"cannot read archive {path}: {one_line(e)}") from None
        self._inner: list[tarfile.TarFile] = []

    def entries(self, wanted: set[str]) -> list[Entry]:
        found = []
        try:
            for info in self.tar:
                if not info.isfile():
                    continue
                member = PurePosixPath(info.name)
                if member.suffix.lower() == ".tar" and WNID.fullmatch(member.stem):
                    if member.stem in wanted:
                        self.kind = "tar of per-synset tars"
                        found += self._inner_entries(info, member.stem)
                    continue
                wnid = _synset_of(member.parent.parts)
                if wnid in wanted and _is_image(member.name):
                    found.append(Entry(wnid, info.name, (None, info)))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise GlorotError(f"corrupt or truncated archive {self.path}: {one_line(e)}") from None
        return sorted(found, key=lambda e: e.name)

    def _inner_entries(self, info: tarfile.TarInfo, wnid: str) -> list[Entry]:
        inner = tarfile.open(fileobj=self.tar.extractfile(info), mode="r:")
        self._inner.append(inner)
        return [Entry(wnid, f"{info.name}/{i.name}", (inner, i)) for i in inner if i.isfile() and _is_image(i.name)]

    def read(self, entry: Entry) -> bytes:
        inner, info = entry.handle
        return (inner or self.tar).extractfile(info).read()

    def close(self) -> None:
        for inner in self._inner:
            inner.close()
        self.tar.close()


def open_source(source: str | Path) -> TreeSource | TarSource:
    """The tree or archive at ``source``."""
    source = Path(source)
    if source.is_dir():
        return TreeSource(source)
    if source.is_file():
        return TarSource(source)
    raise GlorotError(f"Small-ImageNet source not found: {source} (an ImageNet-style folder tree or a .tar of one)")


# ---------------------------------------------------------------------------------------
# images


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
    """:func:`to_small_grey`, or the reason it failed (a string)."""
    if data is None:
        return "cannot read file"
    try:
        return to_small_grey(data, transform)
    except Exception as e:  # noqa: BLE001 - every decoder failure makes an unreadable image
        return one_line(e)


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


# ---------------------------------------------------------------------------------------
# the build


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
    table = load_mapping(mapping)
    label_of = table.label_of()
    src = open_source(source)
    try:
        entries = src.entries(set(label_of))
        by_class: list[list[Entry]] = [[] for _ in table.groups]
        for entry in entries:
            by_class[label_of[entry.wnid]].append(entry)
        available = {name: len(found) for name, found in zip(table.groups, by_class)}
        target = _target_per_class(available, per_class, source)
        bar = _progress_bar(target * len(by_class)) if progress else None
        try:
            selection = select_images(src, by_class, target, seed, max_unreadable, workers,
                                      bar.update if bar else None)
        finally:
            if bar:
                bar.close()
    finally:
        src.close()
    final = min(len(images) for images in selection.images)
    if final < target:
        short = table.class_names[[len(i) for i in selection.images].index(final)]
        if per_class is not None or final < MIN_PER_CLASS:
            raise GlorotError(f"too few readable images for class {short!r}: {final}, need "
                              f"{per_class if per_class is not None else MIN_PER_CLASS}")
    splits, sizes = _split(selection, final, seed)
    paper = final == PAPER_PER_CLASS and len(table.groups) == len(PAPER_GROUPS)
    found = {name: sorted({e.wnid for e in group}) for name, group in zip(table.groups, by_class)}
    manifest = {
        "dataset": "small_imagenet",
        "source": {
            "kind": src.kind,
            "name": Path(source).name,
            "images_available": available,
            "synsets_found": {name: len(wnids) for name, wnids in found.items()},
            "selected_sha256": _selection_digest(selection, final),
            "unreadable_skipped": len(selection.unreadable),
            "unreadable_examples": [f"{n}: {why}" for n, why in selection.unreadable[:20]],
        },
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
    path = write_dataset(out, splits, manifest)
    return Report(path, final, sizes, paper, len(selection.unreadable), table.class_names)


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
