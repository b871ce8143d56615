"""Checkpoints that let a killed run resume and finish with the same numbers.

A checkpoint holds everything the rest of a run depends on: the update count, the net's
weights, the position of the training stream (its batches served; the streams are
random-access, so resuming skips to it), the learning curve and diagnostics so far, the
running training-cost sums, and torch's RNG state; during ``init: dae`` pre-training, the
phase's own state too (:meth:`glorot.engine.pretraining.Pretraining.state`). Plain SGD has no
optimiser state (paper, Section 2.3).

A checkpoint belongs to one run. It records the configuration and an *owner* (for a sweep:
the MLflow run id, the hash of the training code and the data version) and is resumed only
by a run with the same configuration and owner: a new run, new code or other data start
from update 0. The file is ``MAGIC``, the SHA-256 of the payload, then the payload, written
with :func:`glorot.atomic.atomic_write` (fsync, then rename), so a kill or a power loss
leaves the previous checkpoint or the new one. A file that is empty, truncated, altered,
unreadable, of another configuration or of another owner is *set aside* (renamed to
``checkpoint.pt.set-aside-N``) with one line saying why, and the run starts afresh.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
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
MAGIC = b"glorot-checkpoint 2\n"
_DIGEST_LEN = 64


def _warn(line: str) -> None:
    print(f"glorot: warning: {line}", file=sys.stderr, flush=True)


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
    pretrain: dict[str, Any] | None = None  # None: pre-training done (or none)


class Unusable(Exception):
    """Why a checkpoint file cannot be resumed (one line)."""


def encode(payload: dict) -> bytes:
    """``MAGIC``, the payload's SHA-256 in hex, a newline, then the payload (``torch.save``)."""
    blob = io.BytesIO()
    torch.save(payload, blob)
    data = blob.getvalue()
    return MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data


def decode(raw: bytes) -> dict:
    """The payload of :func:`encode`'s bytes; :class:`Unusable` if they are not a whole, unaltered one."""
    if not raw:
        raise Unusable("the file is empty")
    if not raw.startswith(MAGIC):
        raise Unusable("not a glorot checkpoint (or one of an older format)")
    head = len(MAGIC) + _DIGEST_LEN + 1
    digest, data = raw[len(MAGIC):head - 1].decode(errors="replace"), raw[head:]
    if hashlib.sha256(data).hexdigest() != digest:
        raise Unusable("its checksum does not match its content (truncated or altered)")
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as e:  # noqa: BLE001 - a payload that passed its checksum but does not load
        raise Unusable(f"unreadable ({str(e).splitlines()[0][:120]})") from None


class Checkpointer:
    """Saves a :class:`TrainState` into ``folder`` every ``every`` updates and loads it back.

    ``owner`` (e.g. ``{"run_id": ..., "code": ..., "data": ...}``) is recorded with every
    checkpoint and must match on loading; ``report`` receives the one line said when a
    checkpoint is set aside (default: ``glorot: warning: ...`` on stderr).
    """

    def __init__(self, folder: str | Path, every: int, owner: dict[str, str] | None = None,
                 report: Callable[[str], None] = _warn) -> None:
        if every < 1:
            raise GlorotError(f"invalid checkpoint_every: must be >= 1 (got {every})")
        self.folder, self.every, self.owner, self.report = Path(folder), every, dict(owner or {}), report
        self.path = self.folder / STATE_FILE

    def save(self, config: TrainConfig, state: TrainState) -> None:
        """Write ``state`` atomically, with the configuration and owner it belongs to; first remove
        the temp files of writes that a kill interrupted (one run writes a checkpoint folder at a
        time, so any such file is stale), which would otherwise pile up, each a full checkpoint."""
        raw = encode({"config": json.dumps(config.model_dump(), sort_keys=True), "owner": self.owner,
                      **state.__dict__})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for stale in self.folder.glob(f".{STATE_FILE}.*.tmp"):  # atomic_write's temp names
                stale.unlink(missing_ok=True)
            atomic_write(self.path, lambda f: f.write(raw))
        except OSError as e:
            raise GlorotError(f"cannot write checkpoint {self.path}: {e.strerror or e}") from e

    def load(self, config: TrainConfig) -> TrainState | None:
        """The saved state of this run of ``config``, or None (no checkpoint, or one set aside)."""
        if not self.path.is_file():
            return None
        try:
            raw = decode(self.path.read_bytes())
            if raw.pop("config") != json.dumps(config.model_dump(), sort_keys=True):
                raise Unusable("it belongs to another configuration")
            owner = raw.pop("owner", {})
            for key in sorted(set(owner) | set(self.owner)):
                if owner.get(key) != self.owner.get(key):
                    raise Unusable(f"it was made with {key} {owner.get(key)!r}, this run has {self.owner.get(key)!r}")
            return TrainState(**raw)
        except (Unusable, TypeError) as why:
            self.set_aside(str(why) or "its fields do not match this version")
            return None
        except OSError as e:
            raise GlorotError(f"cannot read checkpoint {self.path}: {e.strerror or e}") from e

    def set_aside(self, why: str) -> Path:
        """Rename the checkpoint out of the way (kept for inspection), saying why in one line."""
        n = 1
        while (target := self.path.with_name(f"{STATE_FILE}.set-aside-{n}")).exists():
            n += 1
        self.path.rename(target)
        self.report(f"checkpoint {self.path} set aside as {target.name}: {why}; starting from update 0")
        return target

    def clear(self) -> None:
        """Remove the checkpoint (after the run's results are safely recorded)."""
        self.path.unlink(missing_ok=True)


def train_state(update: int, net: MLP, stream, result: TrainResult, nll_sum: float, nll_n: int,
                seconds: float, pretrain: dict[str, Any] | None = None) -> TrainState:
    """What a checkpoint holds after ``update`` updates (see :mod:`glorot.engine.checkpoint`)."""
    return TrainState(
        update=update, weights={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        batches_served=stream.batches_served, curve=list(result.curve),
        probes=[{"update": r.update, "layers": r.layers, "network": r.network,
                 "histograms": {k: torch.from_numpy(v) for k, v in r.histograms.items()}} for r in result.probes],
        nll_sum=nll_sum, nll_n=nll_n, seconds=seconds, rng=torch.get_rng_state(), pretrain=pretrain)


def restore_state(state: TrainState, net: MLP, stream, result: TrainResult) -> None:
    """Put ``net``, ``stream`` and ``result`` back where ``state`` was saved."""
    net.load_state_dict(state.weights)
    stream.skip(state.batches_served)
    result.updates, result.curve = state.update, list(state.curve)
    result.probes = [ProbeRecord(p["update"], p["layers"], {k: v.numpy() for k, v in p["histograms"].items()},
                                 p.get("network", {})) for p in state.probes]
    torch.set_rng_state(state.rng)
