"""MNIST (paper, Section 2.2): 28x28 grey digits, 10 classes, 50,000 / 10,000 / 10,000.

The source is the four official IDX files (LeCun, Cortes and Burges), gzipped or not,
under their official names (:data:`FILES`): either a folder the user already holds
(``--source DIR``; the folder itself or its torchvision layout ``DIR/MNIST/raw``) or a
download through :class:`torchvision.datasets.MNIST` (``--download``).

**Verification.** A ``.gz`` file is accepted when its MD5 is the official one
(:data:`MD5_GZ`, the publishers' and torchvision's), or when the MD5 of its
decompressed content is the official one of the unpacked file (:data:`MD5_RAW`): a
re-compressed copy is accepted. An unpacked file is accepted when its MD5 is in
:data:`MD5_RAW`. Anything else, and any corrupt or truncated file, is a one-line
:class:`~glorot.errors.GlorotError` naming the file. Both tables are module-level dicts
that tests replace with the hashes of small files in the same format.

**Splits** (a fixed, recorded rule): train = the official 60,000 training images
without the last ``valid_n``; valid = the last ``valid_n`` (10,000) of them, in the
official order; test = the official 10,000 ``t10k`` images.

**Preprocessing**: each 28x28 image is flattened row by row (784 inputs) and its 8-bit
levels mapped to ``[-1, 1]`` (:func:`glorot.data.imagesets.to_network_range`).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glorot.data.defaults import DEFAULT_VALID_N
from glorot.data.imagesets import (
    PIXEL_RANGE,
    PIXEL_SCALING,
    check_valid_n,
    last_n_rule,
    md5_bytes,
    note,
    one_line,
    read_file,
    to_network_range,
    torchvision_download,
    write_dataset,
)
from glorot.errors import GlorotError

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
"""The official file names, without the ``.gz`` of the published copies."""

MD5_GZ: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
"""Official MD5s of the published ``.gz`` files (the same as ``torchvision.datasets.MNIST.resources``)."""

MD5_RAW: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
"""MD5s of the unpacked official files (47,040,016 / 60,008 / 7,840,016 / 10,008 bytes).

The publishers give no checksums of the unpacked files; these are the values that
several independent public projects check the unpacked files against, copied here as
data, and were not recomputed from the official files when this table was written (no
network). Whenever a ``.gz`` with an official MD5 is seen, the MD5 of its content is
compared with this table and a difference is reported (see :func:`read_verified`).
"""

IMAGE_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions
LABEL_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension
SIDE = 28
CLASS_NAMES = [str(d) for d in range(10)]
TORCHVISION_FOLDER = Path("MNIST") / "raw"


@dataclass
class VerifiedFile:
    """The unpacked content of one official file and how it was verified."""

    name: str
    content: bytes
    record: dict[str, Any]


def find_file(source: Path, name: str) -> Path:
    """``name.gz`` or ``name`` in ``source`` or ``source/MNIST/raw`` (torchvision's layout).

    The ``.gz`` is preferred: its official MD5 is the publishers' own.
    """
    for folder in (source, source / TORCHVISION_FOLDER):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    raise GlorotError(f"missing MNIST file in {source}: {name} or {name}.gz (the official file names)")


def read_verified(path: Path, name: str, warn=note) -> VerifiedFile:
    """The unpacked content of the official file ``name`` stored at ``path``, verified (module doc)."""
    data = read_file(path, "MNIST file")
    record: dict[str, Any] = {"file": path.name, "md5": md5_bytes(data)}
    if path.name.endswith(".gz"):
        try:
            content = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise GlorotError(f"corrupt or truncated MNIST file {path}: {one_line(e)}") from None
        record["md5_unpacked"] = md5_bytes(content)
        if record["md5"] == MD5_GZ.get(f"{name}.gz"):
            record["verified_by"] = "official MD5 of the .gz file"
            if MD5_RAW.get(name) not in (None, record["md5_unpacked"]):
                warn(f"note: the official {path.name} unpacks to MD5 {record['md5_unpacked']}, not "
                     f"{MD5_RAW[name]} as listed in glorot.data.mnist.MD5_RAW (that table needs fixing)")
            return VerifiedFile(name, content, record)
    else:
        content = data
        record["md5_unpacked"] = record["md5"]
    if record["md5_unpacked"] != MD5_RAW.get(name):
        raise GlorotError(f"MNIST file {path} does not match the official checksum: its content has MD5 "
                          f"{record['md5_unpacked']}, expected {MD5_RAW.get(name)} (damaged or not the official file)")
    record["verified_by"] = "official MD5 of the unpacked content"
    return VerifiedFile(name, content, record)


def parse_idx(content: bytes, path: Path, magic: int) -> np.ndarray:
    """The uint8 array of an IDX file (big-endian header: magic, then one uint32 per dimension)."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(content) < header:
        raise GlorotError(f"truncated MNIST file {path}: {len(content)} bytes, shorter than its header")
    got = struct.unpack(">I", content[:4])[0]
    if got != magic:
        raise GlorotError(f"MNIST file {path} is not an IDX file of this kind: magic number {got}, expected {magic}")
    dims = struct.unpack(f">{ndim}I", content[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(content) != expected:
        raise GlorotError(f"truncated or padded MNIST file {path}: {len(content)} bytes, its header says {expected}")
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(dims)


def load_official(source: str | Path, warn=note) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """The official arrays ``train_x, train_y, test_x, test_y`` from ``source`` and the
    verification record of each file."""
    source = Path(source)
    if not source.is_dir():
        raise GlorotError(f"MNIST source is not a folder: {source}")
    arrays, records = {}, []
    for name in FILES:
        path = find_file(source, name)
        verified = read_verified(path, name, warn)
        records.append(verified.record)
        arrays[name] = parse_idx(verified.content, path, IMAGE_MAGIC if "images" in name else LABEL_MAGIC)
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        x, y = arrays[images], arrays[labels]
        if x.shape[1:] != (SIDE, SIDE):
            raise GlorotError(f"MNIST file {images} holds {x.shape[1]}x{x.shape[2]} images, expected {SIDE}x{SIDE}")
        if len(x) != len(y):
            raise GlorotError(f"MNIST files {images} and {labels} disagree: {len(x)} images, {len(y)} labels")
        if len(y) and y.max() >= len(CLASS_NAMES):
            raise GlorotError(f"MNIST file {labels} holds label {int(y.max())}, expected 0..9")
    out = {"train_x": arrays[TRAIN_IMAGES], "train_y": arrays[TRAIN_LABELS],
           "test_x": arrays[TEST_IMAGES], "test_y": arrays[TEST_LABELS]}
    return out, records


def download(raw: str | Path) -> Path:
    """Download the four official files with torchvision into ``raw`` and return their folder."""
    return torchvision_download("MNIST", "MNIST", raw, "pass --source DIR holding the four official files") \
        / TORCHVISION_FOLDER


def build(out: str | Path, source: str | Path | None = None, *, download_to: str | Path | None = None,
          valid_n: int = DEFAULT_VALID_N, warn=note) -> Path:
    """Prepare MNIST as ``OUT/{train,valid,test}`` from the official files.

    Exactly one of ``source`` (a folder holding the files) and ``download_to`` (a folder
    to download them into) must be given.
    """
    if (source is None) == (download_to is None):
        raise GlorotError("MNIST needs exactly one of --source DIR (the four official files) and --download")
    origin = "source" if source is not None else "download"
    folder = Path(source) if source is not None else download(download_to)
    arrays, records = load_official(folder, warn)
    n_train = len(arrays["train_y"])
    valid_n = check_valid_n(valid_n, n_train, "MNIST")
    x_train, y_train = to_network_range(arrays["train_x"]), arrays["train_y"].astype(np.int64)
    cut = n_train - valid_n
    splits = {
        "train": (x_train[:cut], y_train[:cut]),
        "valid": (x_train[cut:], y_train[cut:]),
        "test": (to_network_range(arrays["test_x"]), arrays["test_y"].astype(np.int64)),
    }
    manifest = {
        "dataset": "mnist",
        "source": {"origin": origin, "files": records},
        "split_rule": last_n_rule(valid_n, "t10k test set"),
        "valid_n": valid_n,
        "official_sizes": {"train": n_train, "test": len(arrays["test_y"])},
        "preprocessing": f"28x28 grey images flattened row by row (784 inputs); {PIXEL_SCALING}",
        "class_names": CLASS_NAMES,
        "image_shape": [SIDE, SIDE],
        "pixel_range": PIXEL_RANGE,
    }
    return write_dataset(out, splits, manifest)
