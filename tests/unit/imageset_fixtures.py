"""Small files in the exact official formats of MNIST, CIFAR-10 and an ImageNet tree, for tests.

Each writer returns the arrays it wrote and the MD5 tables to register in place of the
official ones (the real files cannot be used in tests: no network, and too large).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from glorot.data import mnist

MNIST_FILES = mnist.FILES
CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file: big-endian magic, one uint32 per dimension, then the uint8 data."""
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, n_train: int = 120, n_test: int = 30, gz: bool = True, seed: int = 0,
                mtime: int = 0) -> dict:
    """The four MNIST files (gzipped or not) with random digits; returns arrays and MD5 tables."""
    rng = np.random.default_rng(seed)
    arrays = {
        mnist.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        mnist.TRAIN_LABELS: rng.integers(0, 10, n_train).astype(np.uint8),
        mnist.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        mnist.TEST_LABELS: rng.integers(0, 10, n_test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    md5_gz, md5_raw = {}, {}
    for name, array in arrays.items():
        raw = idx_bytes(array, mnist.IMAGE_MAGIC if "images" in name else mnist.LABEL_MAGIC)
        packed = gzip.compress(raw, mtime=mtime)
        md5_raw[name], md5_gz[f"{name}.gz"] = md5(raw), md5(packed)
        (folder / (f"{name}.gz" if gz else name)).write_bytes(packed if gz else raw)
    return {"arrays": arrays, "md5_gz": md5_gz, "md5_raw": md5_raw}


def cifar_pickle(obj: dict) -> bytes:
    """A pickle like the official (Python 2) batches: protocol 2, numpy's pre-2.0 module name."""
    return pickle.dumps(obj, protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_cifar(folder: Path, per_batch: int = 20, n_test: int = 20, seed: int = 0, archive: bool = True) -> dict:
    """``cifar-10-batches-py/`` (and, if ``archive``, ``cifar-10-python.tar.gz``) under ``folder``."""
    rng = np.random.default_rng(seed)
    members, arrays = {}, {}
    for i, name in enumerate([f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        arrays[name] = (data, labels)
        label = b"testing batch 1 of 1" if name == "test_batch" else f"training batch {i + 1} of 5".encode()
        members[name] = cifar_pickle({b"batch_label": label, b"labels": labels, b"data": data,
                                      b"filenames": [f"img_{i}_{k}.png".encode() for k in range(n)]})
    members["batches.meta"] = cifar_pickle({b"num_cases_per_batch": per_batch,
                                            b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_vis": 3072})
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True, exist_ok=True)
    for name, content in members.items():
        (batches / name).write_bytes(content)
    result = {"arrays": arrays, "md5_files": {name: md5(c) for name, c in members.items()}, "folder": batches}
    if archive:
        path = folder / "cifar-10-python.tar.gz"
        write_tar(path, {f"cifar-10-batches-py/{n}": c for n, c in members.items()}, "w:gz")
        result["archive"] = path
        result["md5_archive"] = {"cifar-10-python.tar.gz": md5(path.read_bytes())}
    return result


def write_tar(path: Path, files: dict[str, bytes], mode: str = "w") -> Path:
    """A tar archive of ``files`` (member name -> content), with fixed metadata."""
    with tarfile.open(path, mode) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 0
            tar.addfile(info, io.BytesIO(content))
    return path


def image_bytes(rng: np.random.Generator, fmt: str, level: int) -> bytes:
    """A small image (random size, around grey level ``level``) encoded as JPEG or PNG."""
    h, w = (int(v) for v in rng.integers(30, 90, 2))
    noise = rng.integers(-40, 41, (h, w, 3))
    pixels = np.clip(level + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if fmt == "PNG" and rng.random() < 0.5:
        image = image.convert("L")
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def write_imagenet_tree(root: Path, counts: dict[str, int], seed: int = 0) -> dict[str, bytes]:
    """An ImageNet-style tree ``root/<wnid>/<wnid>_<k>.JPEG`` (every third a PNG) with
    ``counts[wnid]`` images each; returns ``relative path -> content``."""
    rng = np.random.default_rng(seed)
    files = {}
    for i, (wnid, n) in enumerate(counts.items()):
        for k in range(n):
            fmt, ext = ("PNG", "png") if k % 3 == 2 else ("JPEG", "JPEG")
            files[f"{wnid}/{wnid}_{k}.{ext}"] = image_bytes(rng, fmt, 40 + 50 * (i % 4))
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return files
