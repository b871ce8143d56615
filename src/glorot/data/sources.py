"""Turn a run's configuration into the data it trains and evaluates on.

Shapeset-3x2 (paper, Section 2.1) trains on an infinite online stream of fresh images and
is evaluated on fixed validation and test sets. Those fixed sets come either from a
prepared folder (``<data_dir>/shapeset/{valid,test}``, written by ``glorot data shapeset``
and versioned by DVC) or, when no folder is given, are generated in memory from the
fixed seeds below, so that every run of every configuration sees the same ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from glorot.config import TrainConfig
from glorot.data import shapeset
from glorot.data.store import load_split

SHAPESET_VALID_SEED = 2010_0001
SHAPESET_TEST_SEED = 2010_0002


@dataclass
class Split:
    """A fixed evaluation split as tensors: ``x`` (N x D float32) and ``y`` (N int64)."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_numpy(cls, x: np.ndarray, y: np.ndarray) -> Split:
        return cls(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)))


@dataclass
class DataBundle:
    """What a run needs: an endless training stream, fixed valid/test splits, and their identity."""

    name: str
    valid: Split
    test: Split
    n_in: int
    n_classes: int
    class_names: list[str]
    version: str

    def train_stream(self, seed: int, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A fresh, endless stream of training mini-batches determined by ``seed``.

        The stream seeds each chunk with ``SeedSequence(seed, spawn_key=(chunk,))``, a
        different random stream from the fixed splits' ``generate(n, seed)`` for any seed.
        """
        return shapeset.ShapesetStream(seed=seed, batch_size=batch_size)


def _version(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def load_data(config: TrainConfig, data_dir: str | Path | None = None) -> DataBundle:
    """The :class:`DataBundle` of ``config.dataset``, from ``data_dir`` if given."""
    if data_dir is not None:
        root = Path(data_dir) / "shapeset"
        vx, vy, vm = load_split(root / "valid")
        tx, ty, tm = load_split(root / "test")
        version = _version(vm["sha256"], tm["sha256"])
    else:
        vx, vy = shapeset.generate(config.valid_size, SHAPESET_VALID_SEED)
        tx, ty = shapeset.generate(config.test_size, SHAPESET_TEST_SEED)
        version = _version("generated", str(SHAPESET_VALID_SEED), str(config.valid_size),
                           str(SHAPESET_TEST_SEED), str(config.test_size))
    return DataBundle(
        name="shapeset",
        valid=Split.from_numpy(vx, vy),
        test=Split.from_numpy(tx, ty),
        n_in=vx.shape[1],
        n_classes=len(shapeset.CLASS_NAMES),
        class_names=list(shapeset.CLASS_NAMES),
        version=version,
    )
