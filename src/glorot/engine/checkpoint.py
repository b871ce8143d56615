"""Checkpoints that let a killed run resume and finish with the same numbers.

A checkpoint holds everything the rest of a run depends on: the update count, the net's
weights, the position of the training stream (its batches served; the streams are
random-access, so resuming skips to it), the learning curve and diagnostics so far, the
running training-cost sums, and torch's RNG state. Plain SGD has no optimiser state
(paper, Section 2.3). It is written with :func:`glorot.atomic.atomic_write`, so a kill at
any point leaves either the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glorot.atomic import atomic_write
from glorot.config import TrainConfig
from glorot.engine.records import TrainResult
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.paper.probes import ProbeRecord

STATE_FILE = "checkpoint.pt"


@dataclass
class TrainState:
    """A run's state after ``update`` updates (see the module docstring)."""

    update: int
    weights: dict[str, torch.Tensor]
    batches_served: int
    curve: list[dict[str, float]]
    probes: list[dict[str, Any]]
    nll_sum: float
    nll_n: int
    seconds: float
    rng: torch.Tensor


class Checkpointer:
    """Saves a :class:`TrainState` into ``folder`` every ``every`` updates and loads it back."""

    def __init__(self, folder: str | Path, every: int) -> None:
        if every < 1:
            raise GlorotError(f"invalid checkpoint_every: must be >= 1 (got {every})")
        self.folder, self.every = Path(folder), every
        self.path = self.folder / STATE_FILE

    def due(self, update: int) -> bool:
        return update % self.every == 0

    def save(self, config: TrainConfig, state: TrainState) -> None:
        """Write ``state`` atomically, tagged with the configuration it belongs to."""
        blob = io.BytesIO()
        torch.save({"config": json.dumps(config.model_dump(), sort_keys=True), **state.__dict__}, blob)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, lambda f: f.write(blob.getvalue()))
        except OSError as e:
            raise GlorotError(f"cannot write checkpoint {self.path}: {e.strerror or e}") from e

    def load(self, config: TrainConfig) -> TrainState | None:
        """The saved state of ``config``'s run, or None if there is none yet."""
        if not self.path.is_file():
            return None
        try:
            raw = torch.load(self.path, weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file is the same problem for the user
            raise GlorotError(f"corrupt checkpoint {self.path}: {str(e).splitlines()[0]}") from None
        if raw.pop("config") != json.dumps(config.model_dump(), sort_keys=True):
            raise GlorotError(f"checkpoint {self.path} belongs to another configuration; remove it or use another folder")
        return TrainState(**raw)

    def clear(self) -> None:
        """Remove the checkpoint (after the run's results are safely recorded)."""
        self.path.unlink(missing_ok=True)


def train_state(update: int, net: MLP, stream, result: TrainResult, nll_sum: float, nll_n: int,
                seconds: float) -> TrainState:
    """What a checkpoint holds after ``update`` updates (see :mod:`glorot.engine.checkpoint`)."""
    return TrainState(
        update=update, weights={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        batches_served=stream.batches_served, curve=list(result.curve),
        probes=[{"update": r.update, "layers": r.layers,
                 "histograms": {k: torch.from_numpy(v) for k, v in r.histograms.items()}} for r in result.probes],
        nll_sum=nll_sum, nll_n=nll_n, seconds=seconds, rng=torch.get_rng_state())


def restore_state(state: TrainState, net: MLP, stream, result: TrainResult) -> None:
    """Put ``net``, ``stream`` and ``result`` back where ``state`` was saved."""
    net.load_state_dict(state.weights)
    stream.skip(state.batches_served)
    result.updates, result.curve = state.update, list(state.curve)
    result.probes = [ProbeRecord(p["update"], p["layers"], {k: v.numpy() for k, v in p["histograms"].items()})
                     for p in state.probes]
    torch.set_rng_state(state.rng)
