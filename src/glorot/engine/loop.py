"""The training loop of the paper (Section 2.3): plain SGD on mini-batches, no momentum,
no weight decay, theta <- theta - eps * g with g the mean gradient over the mini-batch.

The loop reports to a :class:`Logger` (metrics per update count and diagnostics records);
it knows nothing of MLflow. A run whose cost becomes NaN or infinite stops with status
``diverged`` and the update at which it happened instead of raising.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import torch
from tqdm import tqdm

from glorot.paper.backprop import sgd_step
from glorot.engine.checkpoint import Checkpointer, TrainState
from glorot.config import TrainConfig
from glorot.paper.costs import get_cost
from glorot.data.sources import DataBundle, Split
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.paper.probes import ProbeRecord, probe

EVAL_BATCH = 1000


class Logger(Protocol):
    """Where a run reports as it goes; :mod:`glorot.pipeline.tracking` implements it for MLflow."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_probe(self, record: ProbeRecord) -> None: ...

    def flush(self) -> None:
        """Make everything logged so far durable (called before each checkpoint and at the end)."""


class NullLogger:
    """A :class:`Logger` that drops everything."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_probe(self, record: ProbeRecord) -> None:
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

    def summary(self) -> dict:
        """The JSON-able scalars of the result (no curve, no probes)."""
        return {
            "status": self.status, "updates": self.updates, "diverged_at": self.diverged_at,
            "valid_error": self.valid_error, "test_error": self.test_error,
            "seconds": round(self.seconds, 3),
            "updates_per_s": round(self.updates / self.seconds, 2) if self.seconds > 0 else None,
        }


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise GlorotError("invalid device: 'cuda' requested but no CUDA device is available")
    return torch.device(name)


@torch.no_grad()
def error_rate(net: MLP, split: Split, device: torch.device) -> float:
    """Fraction of ``split`` misclassified by ``net`` (arg-max of the logits)."""
    wrong = 0
    for start in range(0, len(split.y), EVAL_BATCH):
        x = split.x[start:start + EVAL_BATCH].to(device)
        y = split.y[start:start + EVAL_BATCH].to(device)
        wrong += int((net(x).argmax(1) != y).sum())
    return wrong / len(split.y)


def build_net(config: TrainConfig, data: DataBundle) -> MLP:
    """The configured net for ``data``'s input size and classes, initialised from ``config.seed``."""
    return MLP(data.n_in, data.n_classes, config.depth, config.width,
               config.activation, config.init, seed=config.seed)


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


def due(update: int, every: int, last: int) -> bool:
    """Whether a periodic action falls on ``update``: at the start, every ``every`` updates and at the end."""
    return update == 0 or update == last or (every > 0 and update % every == 0)


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


def train(config: TrainConfig, data: DataBundle, logger: Logger | None = None, progress: bool = True,
          checkpointer: Checkpointer | None = None) -> tuple[MLP, TrainResult]:
    """Train the configured net for ``config.updates`` SGD updates on ``data``'s stream.

    With a ``checkpointer``, the run saves its state every ``checkpointer.every`` updates
    (after flushing the logger) and, if a checkpoint of this configuration exists, resumes
    from it: the finished run has the same numbers as one that was never interrupted.
    """
    logger = logger or NullLogger()
    device = resolve_device(config.device)
    net = build_net(config, data).to(device)
    cost = get_cost(config.cost)
    stream = data.train_stream(config.seed, config.batch_size)
    probe_x = data.test.x[:config.probe_size].to(device)
    probe_y = data.test.y[:config.probe_size].to(device)
    result = TrainResult("completed", 0, None, math.nan, math.nan)
    saved = checkpointer.load(config) if checkpointer else None
    bar = tqdm(total=config.updates, initial=saved.update if saved else 0, disable=not progress, unit="upd",
               dynamic_ncols=True)

    def evaluate(update: int, train_nll: float) -> None:
        point = record_evaluation(net, data, device, update, train_nll, result, logger)
        bar.set_postfix(valid=f"{point['valid/error']:.3f}", nll=f"{train_nll:.3f}")

    def diagnose(update: int) -> None:
        record_probe(net, probe_x, probe_y, update, config, result, logger)

    nll_sum, nll_n, elapsed = 0.0, 0, 0.0
    if saved:
        restore_state(saved, net, stream, result)
        nll_sum, nll_n, elapsed = saved.nll_sum, saved.nll_n, saved.seconds
    else:
        evaluate(0, math.nan)
        diagnose(0)
    start = time.perf_counter() - elapsed
    with torch.no_grad():
        for update in range(result.updates + 1, config.updates + 1):
            xb, yb = next(stream)
            x, y = torch.from_numpy(xb).to(device), torch.from_numpy(yb).to(device)
            zs = net.forward_trace(x)
            loss, grad_logits = cost(zs[-1], y)
            value = loss.item()
            if not math.isfinite(value):
                result.status, result.diverged_at = "diverged", update
                logger.log_metrics({"diverged_at": float(update)}, update)
                break
            sgd_step(net, zs, grad_logits, config.lr)
            result.updates = update
            nll_sum, nll_n = nll_sum + value, nll_n + 1
            bar.update(1)
            if due(update, config.eval_every, config.updates):
                evaluate(update, nll_sum / nll_n)
                nll_sum, nll_n = 0.0, 0
            if due(update, config.probe_every, config.updates):
                diagnose(update)
            if checkpointer and checkpointer.due(update) and update < config.updates:
                logger.flush()
                checkpointer.save(config, train_state(update, net, stream, result, nll_sum, nll_n,
                                                 time.perf_counter() - start))
    bar.close()
    result.seconds = time.perf_counter() - start
    result.valid_error = error_rate(net, data.valid, device)
    result.test_error = error_rate(net, data.test, device)
    logger.flush()
    return net, result


@dataclass
class LRSelection:
    """The learning rate with the lowest final validation error, and every run tried."""

    best_lr: float | None
    results: dict[float, TrainResult]


def select_lr(config: TrainConfig, grid: list[float], data: DataBundle,
              progress: bool = False) -> LRSelection:
    """Train ``config`` once per learning rate in ``grid`` and keep the best by validation
    error, as the paper chose its learning rate per model (Section 2.3). Diverged runs are
    never chosen; ``best_lr`` is None when every run diverged."""
    if not grid or any(lr <= 0 for lr in grid):
        raise GlorotError(f"invalid lr grid: need one or more values > 0, got {grid}")
    results = {lr: train(config.model_copy(update={"lr": lr}), data, progress=progress)[1] for lr in grid}
    finished = {lr: r for lr, r in results.items() if r.status == "completed"}
    best = min(finished, key=lambda lr: finished[lr].valid_error) if finished else None
    return LRSelection(best, results)
