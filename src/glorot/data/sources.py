"""Turn a run's configuration into the data it trains and evaluates on.

Shapeset-3x2 (paper, Section 2.1) trains on an infinite online stream of fresh images and
is evaluated on fixed validation and test sets. Those fixed sets come either from a
prepared folder (``<data_dir>/shapeset/{valid,test}``, written by ``glorot data shapeset``
and versioned by DVC) or, when no folder is given, are generated in memory from the
fixed seeds below, so that every run of every configuration sees the same ones.

The image sets (MNIST, CIFAR-10, Small-ImageNet; Section 2.2) are always read from
prepared folders ``<data_dir>/<name>/{train,valid,test}`` in the format of
:mod:`glorot.data.store`, and train on shuffled passes over their training split.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from glorot.config import TrainConfig
from glorot.data import shapeset
from glorot.data.defaults import SHAPESET_TEST_SEED, SHAPESET_VALID_SEED, prepare_command  # noqa: F401 (re-exported)
from glorot.data.store import MANIFEST_FILE, load_manifest, load_split
from glorot.errors import GlorotError

SHAPESET_CHUNK = 10_000

Batches = Iterator[tuple[np.ndarray, np.ndarray]]


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
    """What a run needs: an endless training stream, fixed valid/test splits, and their identity.

    ``version`` identifies the exact data (a hash of the splits' checksums), recorded with
    every run so that results can be traced to a data version.
    """

    name: str
    valid: Split
    test: Split
    n_in: int
    n_classes: int
    class_names: list[str]
    version: str
    stream_factory: Callable[[int, int], Batches]

    def train_stream(self, seed: int, batch_size: int) -> Batches:
        """A fresh, endless stream of training mini-batches determined by ``seed``."""
        return self.stream_factory(seed, batch_size)


class EpochStream:
    """Endless mini-batches from a fixed training split: a new seeded shuffle every pass.

    Pass ``e`` uses the permutation drawn from ``SeedSequence(seed, spawn_key=(e,))``, so
    the stream is deterministic and :meth:`skip` can jump to any batch without replaying.
    A last partial batch of a pass is dropped (every update sees ``batch_size`` examples).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, seed: int, batch_size: int) -> None:
        if batch_size > len(y):
            raise GlorotError(f"invalid batch_size: {batch_size} exceeds the {len(y)} training examples")
        self.x, self.y, self.seed, self.batch_size = x, y, seed, batch_size
        self.per_epoch = len(y) // batch_size
        self.batches_served = 0
        self._order: tuple[int, np.ndarray] | None = None

    def __iter__(self) -> EpochStream:
        return self

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch,)))
            self._order = (epoch, rng.permutation(len(self.y)))
        return self._order[1]

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        epoch, batch = divmod(self.batches_served, self.per_epoch)
        idx = self._permutation(epoch)[batch * self.batch_size:(batch + 1) * self.batch_size]
        self.batches_served += 1
        return self.x[idx], self.y[idx]

    def skip(self, n_batches: int) -> None:
        """Advance by ``n_batches`` without producing them."""
        self.batches_served += n_batches


def _version(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _shapeset_stream(seed: int, batch_size: int) -> Batches:
    chunk = batch_size * math.ceil(SHAPESET_CHUNK / batch_size)
    return shapeset.ShapesetStream(seed=seed, batch_size=batch_size, chunk=chunk)


def _load_prepared_split(dataset: str, folder: Path):
    """:func:`load_split` of a prepared split; a missing one is an error naming the command that prepares it."""
    if not (folder / MANIFEST_FILE).is_file():
        raise GlorotError(f"missing data manifest: {folder / MANIFEST_FILE}: run `{prepare_command(dataset)}` "
                          f"(or `dvc pull`)")
    return load_split(folder)


def _load_shapeset(config: TrainConfig, data_dir: Path | None) -> DataBundle:
    if data_dir is not None:
        root = data_dir / "shapeset"
        vx, vy, vm = _load_prepared_split("shapeset", root / "valid")
        tx, ty, tm = _load_prepared_split("shapeset", root / "test")
        version = _version(vm["sha256"], tm["sha256"])
    else:
        vx, vy = shapeset.generate(config.valid_size, SHAPESET_VALID_SEED)
        tx, ty = shapeset.generate(config.test_size, SHAPESET_TEST_SEED)
        version = _version("generated", str(SHAPESET_VALID_SEED), str(config.valid_size),
                           str(SHAPESET_TEST_SEED), str(config.test_size))
    return DataBundle("shapeset", Split.from_numpy(vx, vy), Split.from_numpy(tx, ty), vx.shape[1],
                      len(shapeset.CLASS_NAMES), list(shapeset.CLASS_NAMES), version, _shapeset_stream)


def _load_prepared(config: TrainConfig, data_dir: Path | None) -> DataBundle:
    name = config.dataset
    if data_dir is None:
        raise GlorotError(f"dataset {name!r} needs prepared data: pass --data-dir "
                          f"(after `{prepare_command(name)}`)")
    (rx, ry, rm), (vx, vy, vm), (tx, ty, tm) = (_load_prepared_split(name, data_dir / name / s)
                                                for s in ("train", "valid", "test"))
    return DataBundle(name, Split.from_numpy(vx, vy), Split.from_numpy(tx, ty), rx.shape[1],
                      len(rm["class_names"]), list(rm["class_names"]),
                      _version(rm["sha256"], vm["sha256"], tm["sha256"]),
                      lambda seed, batch_size: EpochStream(rx, ry, seed, batch_size))


def data_shape(dataset: str, data_dir: str | Path) -> tuple[int, int]:
    """(inputs, classes) of the prepared ``dataset`` in ``data_dir``, read from its validation
    split's manifest, without loading or checksumming the data."""
    manifest = load_manifest(Path(data_dir) / dataset / "valid")
    return int(manifest["dim"]), len(manifest["class_names"])


def load_data(config: TrainConfig, data_dir: str | Path | None = None) -> DataBundle:
    """The :class:`DataBundle` of ``config.dataset``, from ``data_dir`` if given."""
    loader = _load_shapeset if config.dataset == "shapeset" else _load_prepared
    return loader(config, Path(data_dir) if data_dir is not None else None)
