"""The one reader of a training run's configuration back from MLflow: a child run's params (every
:class:`~glorot.config.TrainConfig` field, logged as text by
:meth:`glorot.pipeline.tracking.Tracker.start_child`) as the :class:`~glorot.config.TrainConfig`
that trained it.

Strict: a run that lacks a field, or holds one that is not its field's type (``depth: "5.0"``,
``lr: "abc"``) or value, is refused with one line naming the run and the param, rather than
read as a default that the run never trained with. It reads ``run.data.params`` (a plain dict)
and needs no MLflow import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glorot.config import TrainConfig, build_config
from glorot.errors import GlorotError


def _field_value(name: str, text: str) -> Any:
    """A param's text as its field's type: ``"5"`` -> 5 for a count, ``"0.01"`` -> 0.01 for a
    rate, names as they are; :class:`ValueError` for text that is no such number."""
    kind = TrainConfig.model_fields[name].annotation
    return kind(text) if kind in (int, float) else text


def config_from_params(run_id: str, params: Mapping[str, str]) -> TrainConfig:
    """The configuration of run ``run_id`` from its ``params``; a one-line :class:`GlorotError`
    naming the run and the param when one is missing or malformed. Params that are no field
    (none today) are ignored. The machine is not checked: the run may have trained elsewhere."""
    fields = {}
    for name in TrainConfig.model_fields:
        if name not in params:
            raise GlorotError(f"run {run_id}: missing param {name!r}: it was not logged by this code's tracking")
        try:
            fields[name] = _field_value(name, params[name])
        except ValueError:
            raise GlorotError(f"run {run_id}: malformed param {name}={params[name]!r}") from None
    try:
        return build_config(check_machine=False, **fields)
    except GlorotError as e:
        raise GlorotError(f"run {run_id}: malformed param: {e}") from None


def run_config(run: Any) -> TrainConfig:
    """The configuration of an MLflow child run (``run.info.run_id``, ``run.data.params``)."""
    return config_from_params(run.info.run_id, run.data.params)
