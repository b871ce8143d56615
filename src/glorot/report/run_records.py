"""A sweep's MLflow child runs as report records (:class:`~glorot.report.records.Run`), from
the plain fields every reader gives (``info.run_id``, ``info.status``, ``data.params``,
``data.tags``, ``data.metrics``): MLflow's client (:mod:`glorot.report.collect`) or the
read-only SQLite reader of ``glorot summary`` (:mod:`glorot.report.sqlite_source`). No MLflow import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glorot.pipeline.run_config import run_config
from glorot.report.records import Run


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def run_record(run: Any) -> Run:
    """A child run of a sweep (an MLflow ``Run``) as a :class:`~glorot.report.records.Run`, its
    configuration read by :func:`glorot.pipeline.run_config.run_config` (a run with a missing
    or malformed param is a one-line error naming it, never a record with a made-up value)."""
    config, m, tags = run_config(run), run.data.metrics, run.data.tags
    return Run(
        run_id=run.info.run_id, network=config.paper_name, activation=config.activation, init=config.init,
        dataset=config.dataset, depth=config.depth, width=config.width, lr=config.lr, seed=config.seed,
        updates=config.updates, batch_size=config.batch_size, cost=config.cost, probe_size=config.probe_size,
        status=tags.get("status", run.info.status.lower()),
        diverged_at=_int(tags.get("diverged_at")),
        valid_error=m.get("final/valid_error"), test_error=m.get("final/test_error"),
        valid_n=_int(tags.get("valid_n")), test_n=_int(tags.get("test_n")), train_n=_int(tags.get("train_n")),
        data_version=tags.get("data_version"), git_commit=tags.get("git_commit"),
        config_key=tags.get("glorot.config_key", run.info.run_id),
        pretrain_noise=config.pretrain_noise, pretrain_updates=config.pretrain_updates,
    )


def latest_attempts(records: list[Run]) -> list[Run]:
    """One record per configuration (tag ``glorot.config_key``, else the run id): a sweep retries
    failed or interrupted configurations as new child runs; the one that finished (completed
    or diverged) wins, else the latest attempt. ``records`` are oldest first."""
    chosen: dict[str, Run] = {}
    for r in records:
        key = r.config_key or r.run_id
        held = chosen.get(key)
        if held is None or held.status not in ("completed", "diverged"):
            chosen[key] = r
    return list(chosen.values())


def checked_correctness(array: Any, test_n: int | None) -> np.ndarray | None:
    """``array`` as a 0/1 ``uint8`` vector of ``test_n`` entries (any length if unknown), else None."""
    if not isinstance(array, np.ndarray) or array.ndim != 1 or not np.isin(array, (0, 1)).all():
        return None
    if test_n is not None and array.size != test_n:
        return None
    return array.astype(np.uint8)
