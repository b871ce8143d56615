"""What a training run reports and returns: the :class:`Logger` it reports to as it goes
(MLflow's in :mod:`glorot.pipeline.metrics_logger`; tests fake it), its :class:`TrainResult`, and
the two measurements it takes on its way: the error rates on the fixed validation and test
sets (the paper's Table 1 and Figures 11-12) and the diagnostics of :mod:`glorot.paper.probes`
(Figures 2-4 and 6-10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from glorot.config import TrainConfig
from glorot.data.sources import DataBundle, Split
from glorot.paper.nets import MLP
from glorot.paper.probes import ProbeRecord, probe

EVAL_BATCH = 1000


class Logger(Protocol):
    """Where a run reports as it goes; :mod:`glorot.pipeline.metrics_logger` implements it for MLflow."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_probe(self, record: ProbeRecord) -> None: ...

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        """Pre-training's progress (``init: dae``), before update 0; ``step`` counts its updates."""

    def flush(self) -> None:
        """Make everything logged so far durable (called before each checkpoint and at the end)."""


class NullLogger:
    """A :class:`Logger` that drops everything."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_probe(self, record: ProbeRecord) -> None:
        pass

    def log_pretraining(self, metrics: dict[str, float], step: int) -> None:
        pass

    def flush(self) -> None:
        pass


@dataclass
class TrainResult:
    """How a run ended, its learning curve and its diagnostics records."""

    status: str  # "completed" or "diverged"
    updates: int  # updates actually applied
    diverged_at: int | None
    valid_error: float
    test_error: float
    curve: list[dict[str, float]] = field(default_factory=list)
    probes: list[ProbeRecord] = field(default_factory=list)
    seconds: float = 0.0
    test_correct: np.ndarray | None = None  # uint8 per test example, 1 where the final net is right

    def summary(self) -> dict:
        """The JSON-able scalars of the result (no curve, no probes)."""
        return {
            "status": self.status, "updates": self.updates, "diverged_at": self.diverged_at,
            "valid_error": self.valid_error, "test_error": self.test_error,
            "seconds": round(self.seconds, 3),
            "updates_per_s": round(self.updates / self.seconds, 2) if self.seconds > 0 else None,
        }


@torch.no_grad()
def correct(net: MLP, split: Split, device: torch.device) -> np.ndarray:
    """Per example of ``split``, 1 where ``net``'s arg-max of the logits is its label (uint8), for
    paired tests between networks scored on the same test set (McNemar)."""
    out = []
    for start in range(0, len(split.y), EVAL_BATCH):
        x = split.x[start:start + EVAL_BATCH].to(device)
        y = split.y[start:start + EVAL_BATCH].to(device)
        out.append((net(x).argmax(1) == y).cpu())
    return torch.cat(out).numpy().astype(np.uint8)


def error_rate(net: MLP, split: Split, device: torch.device, right: np.ndarray | None = None) -> float:
    """Fraction of ``split`` misclassified by ``net`` (from :func:`correct`, or ``right`` if given)."""
    right = correct(net, split, device) if right is None else right
    return int(len(right) - int(right.sum())) / len(split.y)


def record_evaluation(net: MLP, data: DataBundle, device: torch.device, update: int, train_nll: float,
                      result: TrainResult, logger: Logger) -> dict[str, float]:
    """Evaluate ``net`` on the validation and test sets after ``update`` updates; add the
    point to the learning curve and log it (``train_nll``: mean training cost since the last
    evaluation, NaN at the start)."""
    point = {"update": update, "train/nll": train_nll,
             "valid/error": error_rate(net, data.valid, device),
             "test/error": error_rate(net, data.test, device)}
    result.curve.append(point)
    logger.log_metrics({k: v for k, v in point.items() if k != "update" and not math.isnan(v)}, update)
    return point


def record_probe(net: MLP, x: torch.Tensor, y: torch.Tensor, update: int, config: TrainConfig,
                 result: TrainResult, logger: Logger) -> None:
    """Take the paper's diagnostics (:func:`glorot.paper.probes.probe`) on the probe set; keep and log them."""
    record = probe(net, x, y, update, config.cost, config.jac_examples)
    result.probes.append(record)
    logger.log_probe(record)
