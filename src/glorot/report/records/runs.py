"""What the report reads from a sweep (:mod:`glorot.report.collect`).

* :class:`Series`: one metric's history by update: a learning curve (``test/error``) or one
  layer's diagnostic (``L3/act_std``);
* :class:`Run`: a child run of the sweep, with its metric histories once they are read;
* :class:`Histograms`: a run's ``diagnostics.npz`` (Figures 4 and 6-8);
* :class:`Sweep`: the sweep's parent run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


# --- read from MLflow ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """One metric's history: ``values[k]`` was recorded at update ``steps[k]`` (by step)."""

    steps: tuple[int, ...] = ()
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, points: Iterable[Sequence[float]]) -> Series:
        """From ``[[step, value], ...]`` pairs."""
        pairs = list(points)
        return cls(tuple(int(s) for s, _ in pairs), tuple(float(v) for _, v in pairs))

    def __len__(self) -> int:
        return len(self.steps)

    def points(self) -> Iterator[tuple[int, float]]:
        return zip(self.steps, self.values)

    def at(self, step: int) -> float | None:
        """The value recorded at ``step`` (the first one), or None."""
        return next((v for s, v in self.points() if s == step), None)


NO_SERIES = Series()


def design_key(x: Any) -> tuple:
    """What identifies one training configuration of a study, on a :class:`Run` or a
    :class:`~glorot.config.TrainConfig` alike: data set, activation, init, depth, width, learning
    rate, seed, updates and mini-batch size (the key a sweep's runs are matched to its configurations by)."""
    return (x.dataset, x.activation, x.init, int(x.depth), int(x.width), float(x.lr), int(x.seed), int(x.updates),
            x.batch_size)


@dataclass(frozen=True)
class Run:
    """A child run of a sweep (:func:`glorot.report.run_records.run_record`).

    The defaults are what a run that did not record a parameter gets (``pretrain_*``: only
    runs with ``init = dae``, greedy denoising auto-encoder pre-training). ``valid_error`` and
    ``test_error`` are fractions; ``series`` maps metric keys (``test/error``,
    ``L{i}/act_std``, ...) to their histories, filled by
    :meth:`glorot.report.collect.StudySource.diagnostics` and empty before.
    """

    run_id: str
    network: str
    activation: str = "?"
    init: str = "?"
    dataset: str = "?"
    depth: int = 0
    width: int = 0
    lr: float = 0.0
    seed: int = 0
    updates: int = 0
    batch_size: int | None = None
    cost: str = "nll"
    probe_size: int | None = None
    status: str = "unknown"
    diverged_at: int | None = None
    valid_error: float | None = None
    test_error: float | None = None
    valid_n: int | None = None
    test_n: int | None = None
    train_n: int | None = None
    data_version: str | None = None
    git_commit: str | None = None
    config_key: str = ""
    pretrain_noise: float | None = None
    pretrain_updates: int | None = None
    series: Mapping[str, Series] = field(default_factory=dict)

    @property
    def layers(self) -> range:
        """The hidden layers' indices, 1..depth."""
        return range(1, self.depth + 1)

    def metric(self, key: str) -> Series:
        """The history of ``key`` (empty if the run has none)."""
        return self.series.get(key, NO_SERIES)

    def layer(self, i: int, scalar: str) -> Series:
        """Hidden layer ``i``'s diagnostic ``scalar`` (``act_std``, ``dCdW_std``, ...)."""
        return self.metric(f"L{i}/{scalar}")

    def with_series(self, series: Mapping[str, Series]) -> Run:
        return replace(self, series=series)


@dataclass(frozen=True)
class Histograms:
    """A run's ``diagnostics.npz``: arrays ``u{update}/L{i}/{act,dCds,dCdW}_{counts,edges}``."""

    arrays: Mapping[str, np.ndarray]

    def has_update(self, update: int) -> bool:
        return any(k.startswith(f"u{update}/") for k in self.arrays)

    def last_update(self) -> int:
        return max(int(k.split("/")[0][1:]) for k in self.arrays)

    def layer(self, update: int, layer: int, quantity: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(counts, bin edges) of ``quantity`` in hidden layer ``layer`` at ``update``, or None."""
        prefix = f"u{update}/L{layer}/{quantity}"
        counts, edges = self.arrays.get(f"{prefix}_counts"), self.arrays.get(f"{prefix}_edges")
        return None if counts is None or edges is None else (counts, edges)


@dataclass(frozen=True)
class Sweep:
    """The sweep's parent run."""

    run_id: str
    name: str
    status: str
    start_time: int | None
    tags: Mapping[str, str]


def no_artifact(run_id: str) -> None:
    """The look-up of a run's artifact when there is none to read (tests, or nothing fetched)."""
    return None
