"""What the image-set builders (MNIST, CIFAR-10, Small-ImageNet; paper, Section 2.2) share.

- **Pixels**: every image set is fed to the network in the range ``[-1, 1]``, like
  Shapeset-3x2: an 8-bit level ``v`` becomes ``v / 127.5 - 1`` (0 -> -1, 255 -> +1).
  The paper does not say how it scaled the image sets; one zero-centred range for all
  data sets keeps the inputs of the first layer comparable across the paper's columns,
  and matches the zero-mean-input assumption of its variance argument (Section 4.2).
- **Verification**: source files are checked against MD5 tables that are plain
  module-level dicts, so that tests can register the hashes of small files written in
  the official formats (see :func:`md5_bytes`, :func:`md5_file`).
- **Writing**: :func:`write_dataset` writes the three splits into a temporary folder
  beside ``OUT`` and renames it into place, so ``OUT`` is either the previous complete
  data set or the new complete one, never a mixture or a half-written split.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from glorot.atomic import atomic_folder
from glorot.data.store import DATA_FILE, MANIFEST_FILE, file_digest, load_split, save_split
from glorot.errors import GlorotError, shorten

SPLITS = ("train", "valid", "test")
PIXEL_RANGE = [-1, 1]
PIXEL_SCALING = "8-bit level v mapped to v / 127.5 - 1 (0 -> -1, 255 -> +1), float32"
SAMPLES_PER_CLASS = 8


def md5_bytes(data: bytes) -> str:
    """Hex MD5 of ``data`` (the checksum the data sets' publishers give)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: str | Path) -> str:
    """Hex MD5 of a file."""
    return file_digest(path, "md5")

def note(message: str) -> None:
    """Print a remark that is not the command's result (a warning, a skipped file) to stderr."""
    print(message, file=sys.stderr)


def one_line(error: BaseException) -> str:
    """An exception's message squeezed onto one line (for :class:`GlorotError` messages)."""
    return " ".join(str(error).split()) or type(error).__name__


def read_file(path: Path, what: str) -> bytes:
    """The bytes of ``path``, or a one-line :class:`GlorotError` naming it."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise GlorotError(f"cannot read {what} {path}: {e.strerror or one_line(e)}") from None


def torchvision_download(class_name: str, title: str, raw: str | Path, hint: str) -> Path:
    """Download the official files of ``torchvision.datasets.<class_name>`` into ``raw``;
    a one-line error (ending with ``hint``) when that is not possible."""
    import torchvision.datasets

    raw = Path(raw)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        getattr(torchvision.datasets, class_name)(str(raw), train=True, download=True)
    except Exception as e:  # noqa: BLE001 - urllib, torchvision and OS errors alike mean "no data"
        raise GlorotError(f"cannot download {title} into {raw}: {one_line(e)} (without network, {hint})") from None
    return raw


def to_network_range(pixels: np.ndarray) -> np.ndarray:
    """8-bit images (any shape ``N x ...``) as float32 rows ``N x D`` in ``[-1, 1]``."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    flat = pixels.reshape(len(pixels), -1)
    return flat.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def check_valid_n(valid_n: int, n_train: int, dataset: str) -> int:
    """``valid_n`` after checking that it leaves images in both the train and valid splits."""
    if isinstance(valid_n, bool) or not isinstance(valid_n, int) or valid_n < 1:
        raise GlorotError(f"invalid valid_n: must be an integer >= 1 (got {shorten(valid_n)})")
    if valid_n >= n_train:
        raise GlorotError(f"invalid valid_n: {valid_n} leaves no training images; the official {dataset} "
                          f"train set has {n_train} (valid_n must be < {n_train})")
    return valid_n


def last_n_rule(valid_n: int, test_name: str) -> str:
    """The recorded split rule of MNIST and CIFAR-10 (paper, Section 2.2)."""
    return (f"train: the official train set without its last {valid_n} images; valid: the last {valid_n} "
            f"images of the official train set, in the official order; test: the official {test_name}")


def write_dataset(out: str | Path, splits: dict[str, tuple[np.ndarray, np.ndarray]],
                  manifest: dict[str, Any]) -> Path:
    """Write ``splits`` (``name -> (x, y)``) as ``OUT/<name>`` split folders, all or nothing.

    Each split's manifest is ``manifest`` plus ``"split": name`` (and what
    :func:`~glorot.data.store.save_split` adds). The splits are written into a temporary
    folder beside ``OUT``, which then replaces ``OUT`` whole (:func:`glorot.atomic.atomic_folder`:
    the old data set or the new one at every instant, the umask's mode); a folder ``OUT`` that
    holds anything other than split folders is refused rather than replaced.
    """
    out = Path(out)
    _check_replaceable(out)
    try:
        with atomic_folder(out) as tmp:
            for name, (x, y) in splits.items():
                save_split(tmp / name, x, y, dict(manifest, split=name))
    except OSError as e:
        raise GlorotError(f"cannot write data set to {out}: {e.strerror or one_line(e)}") from None
    return out


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise GlorotError(f"cannot write data set to {out}: it exists and is not a folder")
    for child in out.iterdir():
        is_split = child.is_dir() and {p.name for p in child.iterdir()} <= {DATA_FILE, MANIFEST_FILE}
        if not is_split:
            raise GlorotError(f"refusing to replace {out}: it holds {child.name!r}, which is not a data split "
                              f"(remove it or choose another --out)")


def split_sizes(out: str | Path) -> dict[str, int]:
    """Images per split of a written data set, read from the manifests."""
    from glorot.data.store import load_manifest

    return {s: int(load_manifest(Path(out) / s)["n"]) for s in SPLITS}


def write_samples(out: str | Path, path: str | Path, title: str, per_class: int = SAMPLES_PER_CLASS) -> Path:
    """A PNG grid of the first ``per_class`` training images of each class of the data set
    written at ``out``: one row per class (the paper's Figure 1 shows such samples)."""
    from glorot.data.samples import render_grid

    x, y, manifest = load_split(Path(out) / "train")
    per_class = int(max(1, min(per_class, *np.bincount(y, minlength=len(manifest["class_names"])))))  # whole rows
    picks = [i for c in range(len(manifest["class_names"])) for i in np.flatnonzero(y == c)[:per_class]]
    shape = tuple(manifest["image_shape"])
    if math.prod(shape) != x.shape[1]:
        raise GlorotError(f"corrupt data manifest {Path(out) / 'train'}: image_shape {list(shape)} "
                          f"does not match {x.shape[1]} inputs")
    return render_grid(x[picks], y[picks], manifest["class_names"], path, image_shape=shape, ncols=per_class,
                       title=title, value_range=tuple(manifest["pixel_range"]))
