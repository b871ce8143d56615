"""The project's one on-disk format for a prepared data split.

A split lives in a folder holding ``data.npz`` (``x``: float32, N x D; ``y``: int64, N)
and ``manifest.json`` (how it was made, class names in label order, and the SHA-256 of
``data.npz``). Both files are written to temporary names and renamed, so a reader never
sees a half-written split; :func:`load_split` checks the checksum before returning, and a file
that matches its checksum but is no readable split (both rewritten) is a one-line error too.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from glorot.atomic import atomic_write, atomic_write_text
from glorot.errors import GlorotError

DATA_FILE = "data.npz"
MANIFEST_FILE = "manifest.json"


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``sha256`` for our manifests, ``md5`` for DVC and publishers)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def save_split(out_dir: str | Path, x: np.ndarray, y: np.ndarray, manifest: dict[str, Any]) -> Path:
    """Write ``x``, ``y`` and ``manifest`` (plus shapes and checksum) into ``out_dir``.

    Returns the folder. ``x`` must be 2-D float32 and ``y`` 1-D int64 of the same length.
    """
    if x.ndim != 2 or x.dtype != np.float32:
        raise ValueError(f"x must be a 2-D float32 array, got {x.dtype} of shape {x.shape}")
    if y.shape != (x.shape[0],) or y.dtype != np.int64:
        raise ValueError(f"y must be int64 of shape ({x.shape[0]},), got {y.dtype} {y.shape}")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        data_path = out / DATA_FILE
        atomic_write(data_path, lambda f: np.savez(f, x=x, y=y))
        full = dict(manifest, n=int(x.shape[0]), dim=int(x.shape[1]), sha256=file_digest(data_path))
        atomic_write_text(out / MANIFEST_FILE, json.dumps(full, indent=2, sort_keys=True) + "\n")
    except OSError as e:
        raise GlorotError(f"cannot write data split to {out}: {e.strerror or e}") from e
    return out


def load_manifest(split_dir: str | Path) -> dict[str, Any]:
    """The manifest of a split folder, or a :class:`GlorotError` naming the missing/corrupt file."""
    path = Path(split_dir) / MANIFEST_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise GlorotError(f"missing data manifest: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GlorotError(f"corrupt data manifest {path}: {e}") from None


def load_split(split_dir: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read a split written by :func:`save_split`, verifying its checksum and shapes."""
    manifest = load_manifest(split_dir)
    path = Path(split_dir) / DATA_FILE
    if not path.is_file():
        raise GlorotError(f"missing data file: {path}")
    if file_digest(path) != manifest.get("sha256"):
        raise GlorotError(f"corrupt data file {path}: checksum differs from {MANIFEST_FILE}")
    try:  # a file whose checksum matches its manifest can still be no readable split (both rewritten)
        with np.load(path, allow_pickle=False) as arrays:
            x, y = arrays["x"], arrays["y"]
    except (zipfile.BadZipFile, zlib.error, ValueError, KeyError, EOFError) as e:
        raise GlorotError(f"corrupt data file {path}: not a readable split ({type(e).__name__}: {e})") from None
    if x.shape != (manifest["n"], manifest["dim"]) or y.shape != (manifest["n"],):
        raise GlorotError(f"corrupt data file {path}: shapes differ from {MANIFEST_FILE}")
    return x, y, manifest
