"""CIFAR-10 (paper, Section 2.2): 32x32 colour images, 10 classes, 40,000 / 10,000 / 10,000.

The source is the official "python version" (Krizhevsky): the archive
``cifar-10-python.tar.gz`` or its extracted folder ``cifar-10-batches-py`` (five
``data_batch_*``, ``test_batch`` and ``batches.meta``), given with ``--source`` (the
archive, the folder, or a folder holding either) or downloaded through
:class:`torchvision.datasets.CIFAR10` (``--download``).

**Verification.** The archive is accepted when its MD5 is the official one
(:data:`MD5_ARCHIVE`); every batch file, in the archive or extracted, must also have its
official MD5 (:data:`MD5_FILES`, the same as torchvision's), so a re-packed archive of
the official files is accepted and a changed byte is not. A corrupt or truncated file is
a one-line :class:`~glorot.errors.GlorotError` naming it. The batches are Python pickles:
they are unpickled only after their checksum passed, and with an unpickler that admits
nothing but numpy arrays, so a foreign file cannot run code.

**Splits** (a fixed, recorded rule): the official train set is ``data_batch_1`` ...
``data_batch_5`` in that order (50,000 images); train = all but its last ``valid_n``;
valid = its last ``valid_n`` (10,000 = exactly ``data_batch_5``); test = ``test_batch``.

**Preprocessing**: colour is kept. The official rows are channel-first (1024 red, 1024
green, 1024 blue levels); they are reordered to channel-last, i.e. each image is a
32x32x3 ``(row, column, channel)`` array flattened (3072 inputs,
``image_shape: [32, 32, 3]``), and the 8-bit levels are mapped to ``[-1, 1]``.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from glorot.data.defaults import DEFAULT_VALID_N
from glorot.data.imagesets import (
    PIXEL_RANGE,
    PIXEL_SCALING,
    check_valid_n,
    last_n_rule,
    md5_bytes,
    md5_file,
    one_line,
    read_file,
    to_network_range,
    torchvision_download,
    write_dataset,
)
from glorot.errors import GlorotError

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
MEMBERS = (*TRAIN_BATCHES, TEST_BATCH, META)

MD5_ARCHIVE: dict[str, str] = {ARCHIVE: "c58f30108f718f92721af3b95e74349a"}
"""Official MD5 of the published archive (as in ``torchvision.datasets.CIFAR10.tgz_md5``)."""

MD5_FILES: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
"""Official MD5s of the extracted files (as in torchvision's ``train_list``, ``test_list`` and ``meta``)."""

SIDE = 32
CHANNELS = 3

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds dicts, lists, strings and numpy arrays, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def locate(source: str | Path) -> tuple[str, Path]:
    """Where the data are: ``("archive", path)`` or ``("folder", path)``."""
    source = Path(source)
    if source.is_file():
        return "archive", source
    if not source.is_dir():
        raise GlorotError(f"CIFAR-10 source not found: {source}")
    if (source / ARCHIVE).is_file():
        return "archive", source / ARCHIVE
    if (source / FOLDER).is_dir():
        return "folder", source / FOLDER
    if (source / TRAIN_BATCHES[0]).is_file():
        return "folder", source
    raise GlorotError(f"no CIFAR-10 data in {source}: expected {ARCHIVE} or the folder {FOLDER}/")


def _check_member(name: str, content: bytes, where: str) -> None:
    md5 = md5_bytes(content)
    if md5 != MD5_FILES.get(name):
        raise GlorotError(f"CIFAR-10 file {where} does not match the official checksum: MD5 {md5}, expected "
                          f"{MD5_FILES.get(name)} (damaged or not the official file)")


def read_archive(path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The seven official files from the archive ``path``, each verified, and a record of the check."""
    md5 = md5_file(path) if path.is_file() else None
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                member = PurePosixPath(info.name)
                if info.isfile() and member.name in MEMBERS and member.parent.name == FOLDER:
                    members[member.name] = tar.extractfile(info).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise GlorotError(f"corrupt or truncated CIFAR-10 archive {path}: {one_line(e)}") from None
    missing = [m for m in MEMBERS if m not in members]
    if missing:
        raise GlorotError(f"CIFAR-10 archive {path} lacks {FOLDER}/{missing[0]} (not the official archive)")
    for name, content in members.items():
        _check_member(name, content, f"{FOLDER}/{name} in {path}")
    official = md5 == MD5_ARCHIVE.get(ARCHIVE)
    record = {"archive": path.name, "md5": md5,
              "verified_by": "official MD5 of the archive and of each file" if official
              else "official MD5 of each file (a re-packed archive)",
              "files": {name: md5_bytes(members[name]) for name in MEMBERS}}
    return members, record


def read_folder(folder: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The seven official files from an extracted folder, each verified, and a record of the check."""
    members = {}
    for name in MEMBERS:
        path = folder / name
        if not path.is_file():
            raise GlorotError(f"missing CIFAR-10 file: {path}")
        members[name] = read_file(path, "CIFAR-10 file")
        _check_member(name, members[name], str(path))
    record = {"folder": folder.name, "verified_by": "official MD5 of each file",
              "files": {name: md5_bytes(members[name]) for name in MEMBERS}}
    return members, record


def _unpickle(content: bytes, where: str) -> dict[str, Any]:
    try:
        obj = _ArrayUnpickler(io.BytesIO(content), encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise GlorotError(f"cannot read CIFAR-10 file {where}: {one_line(e)}") from None
    if not isinstance(obj, dict):
        raise GlorotError(f"cannot read CIFAR-10 file {where}: not a dict")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def parse_batch(content: bytes, where: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``N x 32 x 32 x 3`` (uint8, channel-last) and labels (int64) of one batch file."""
    batch = _unpickle(content, where)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != CHANNELS * SIDE * SIDE:
        raise GlorotError(f"CIFAR-10 file {where} has no uint8 'data' of N x {CHANNELS * SIDE * SIDE}")
    y = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if y.shape != (len(data),):
        raise GlorotError(f"CIFAR-10 file {where}: {len(data)} images but {y.size} labels")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise GlorotError(f"CIFAR-10 file {where} holds labels outside 0..{n_classes - 1}")
    images = data.reshape(len(data), CHANNELS, SIDE, SIDE).transpose(0, 2, 3, 1)
    return images, y


def parse_meta(content: bytes, where: str) -> list[str]:
    """The class names of ``batches.meta``."""
    names = _unpickle(content, where).get("label_names")
    if not isinstance(names, list) or not names:
        raise GlorotError(f"CIFAR-10 file {where} has no 'label_names'")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def download(raw: str | Path) -> Path:
    """Download the official archive with torchvision into ``raw`` and return ``raw``."""
    return torchvision_download("CIFAR10", "CIFAR-10", raw,
                                f"pass --source with {ARCHIVE} or its extracted folder {FOLDER}")


def load_official(source: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The official train set (batches 1-5 in order), test set and class names, and the
    verification record."""
    kind, path = locate(source)
    members, record = read_archive(path) if kind == "archive" else read_folder(path)
    class_names = parse_meta(members[META], META)
    train = [parse_batch(members[b], b, len(class_names)) for b in TRAIN_BATCHES]
    test_x, test_y = parse_batch(members[TEST_BATCH], TEST_BATCH, len(class_names))
    return {"train_x": np.concatenate([x for x, _ in train]), "train_y": np.concatenate([y for _, y in train]),
            "test_x": test_x, "test_y": test_y, "class_names": class_names,
            "batch_sizes": [len(y) for _, y in train]}, record


def build(out: str | Path, source: str | Path | None = None, *, download_to: str | Path | None = None,
          valid_n: int = DEFAULT_VALID_N) -> Path:
    """Prepare CIFAR-10 as ``OUT/{train,valid,test}`` from the official files.

    Exactly one of ``source`` and ``download_to`` (a folder to download into) must be given.
    """
    if (source is None) == (download_to is None):
        raise GlorotError(f"CIFAR-10 needs exactly one of --source ({ARCHIVE} or {FOLDER}) and --download")
    origin = "source" if source is not None else "download"
    data, record = load_official(source if source is not None else download(download_to))
    n_train = len(data["train_y"])
    valid_n = check_valid_n(valid_n, n_train, "CIFAR-10")
    x_train = to_network_range(data["train_x"])
    cut = n_train - valid_n
    splits = {
        "train": (x_train[:cut], data["train_y"][:cut]),
        "valid": (x_train[cut:], data["train_y"][cut:]),
        "test": (to_network_range(data["test_x"]), data["test_y"]),
    }
    rule = last_n_rule(valid_n, "test_batch") + "; the official train set is data_batch_1..5 in that order"
    if valid_n == data["batch_sizes"][-1]:
        rule += " (valid is exactly data_batch_5)"
    manifest = {
        "dataset": "cifar10",
        "source": dict(record, origin=origin),
        "split_rule": rule,
        "valid_n": valid_n,
        "official_sizes": {"train": n_train, "test": len(data["test_y"])},
        "layout": "HWC",
        "preprocessing": ("32x32 colour images reordered from the official channel-first rows to channel-last "
                          f"(row, column, channel) and flattened (3072 inputs); {PIXEL_SCALING}, per channel"),
        "class_names": data["class_names"],
        "image_shape": [SIDE, SIDE, CHANNELS],
        "pixel_range": PIXEL_RANGE,
    }
    return write_dataset(out, splits, manifest)
