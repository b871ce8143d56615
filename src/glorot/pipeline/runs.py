"""Training configurations as MLflow child runs, idempotently: a configuration that already
finished is skipped, one whose process died resumes from its checkpoint in the same MLflow
run, a failed one is retried up to a number of attempts. A checkpoint belongs to its run: it
records the MLflow run id, the :func:`~glorot.pipeline.provenance.code_hash` and the data
version, and any other run (a fresh sweep's, new code's) sets it aside and starts from update 0.
Training itself is the engine's (:func:`glorot.engine.train_group`); Prefect's flows (``flows/``)
call these functions and ask :func:`retryable` which failures to try again; nothing here
imports Prefect or DVC.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glorot.atomic import atomic_write_text
from glorot.config import TrainConfig, build_config
from glorot.data.sources import DataBundle
from glorot.engine import group_key, train_group
from glorot.errors import GlorotError
from glorot.pipeline.links import run_url
from glorot.pipeline.progress import OnProgress, ProgressLogger, print_progress
from glorot.pipeline.provenance import code_hash, config_key, versioned_data
from glorot.pipeline.metrics_logger import MlflowLogger
from glorot.pipeline.stopping import Stopped, StoppingCheckpointer, check
from glorot.pipeline.store import store_digest
from glorot.pipeline.tracking import Tracker, system_metrics, transient


def retryable(error: BaseException) -> bool:
    """Whether trying a failed group again can fix ``error``: a tracking store that is away
    (:func:`~glorot.pipeline.tracking.transient`) or an operating-system or connection error; not a
    bad configuration or bad data (any other :class:`GlorotError`) and not a bug."""
    if transient(error):
        return True
    return isinstance(error, (OSError, ConnectionError, TimeoutError))


@dataclass
class _Member:
    """A configuration of a group that is to be trained: its MLflow run and checkpoint folder."""

    index: int
    config: TrainConfig
    run_id: str
    folder: Path
    resumed: bool


def _summary(run_id: str, config: TrainConfig, **fields: Any) -> dict:
    return {"run_id": run_id, "paper_cell": config.paper_cell, **fields}


def is_finished(run: Any) -> bool:
    """Whether an MLflow run of a configuration finished (completed or diverged)."""
    return run.info.status == "FINISHED" and run.data.tags.get("status") != "failed"


def finished_run(previous: list[Any]) -> Any | None:
    """The earlier run of a configuration that finished, if any (:func:`is_finished`)."""
    return next((r for r in previous if is_finished(r)), None)


def _attempts(previous: list[Any]) -> int:
    return sum(int(r.data.tags.get("glorot.attempts", 1)) for r in previous)


def _open_member(tracker: Tracker, parent_id: str | None, index: int, config: TrainConfig, key: str,
                 previous: list[Any], tags: dict[str, str], root: str | Path) -> _Member:
    """The MLflow run a configuration trains into: the interrupted one that its checkpoint
    folder ``<root>/checkpoints/<key>-<store>/`` names (reopened), else a new child run. The
    folder is the tracking store's as well as the configuration's (:func:`store_digest`): two
    stores of one project never set aside each other's checkpoints."""
    folder = Path(root) / "checkpoints" / f"{key}-{store_digest(tracker.uri)}"
    run_file = folder / "run.json"
    resumable = json.loads(run_file.read_text())["run_id"] if run_file.is_file() else None
    if resumable in {r.info.run_id for r in previous}:
        tracker.reopen(resumable)
        return _Member(index, config, resumable, folder, True)
    run_id = tracker.start_child(parent_id, config, {"glorot.config_key": key, **tags})
    tracker.log_dataset(run_id, config.dataset, tags["data_version"], tags["data_source"])
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_file, json.dumps({"run_id": run_id}) + "\n")
    return _Member(index, config, run_id, folder, False)


def fits_here(config: TrainConfig) -> None:
    """A one-line :class:`GlorotError` if ``config`` cannot train on this machine (``device: cuda``
    without a CUDA device, sizes beyond its memory: :func:`glorot.config.check_machine`), checked
    where it starts training: a launcher that fans out to workers cannot check for them
    (:func:`glorot.pipeline.sweep.configs_from_json`)."""
    build_config(**config.model_dump())


def _train(tracker: Tracker, members: list[_Member], data: DataBundle, data_version: str,
           checkpoint_every: int | None, on_progress: OnProgress) -> list[tuple[_Member, dict]]:
    """Train ``members`` as one group and finish their runs, reporting each evaluation to
    ``on_progress``; a member that does not fit this machine (:func:`fits_here`) fails them all,
    as a user error (not retried, :func:`retryable`). On any error the runs not yet finished are
    marked failed, on a requested stop (:mod:`glorot.pipeline.stopping`) stopped; their checkpoints
    stay, to resume from, by the same runs only."""
    pending = list(members)
    done = []
    try:
        for m in members:
            fits_here(m.config)
        # How this attempt runs: a configuration's numbers depend on the thread count, and, in their
        # last bits, on the group it trains in (replayed as that group: glorot.pipeline.replay).
        group = ",".join(config_key(m.config, data_version) for m in members)
        for m in members:
            tracker.set_tags(m.run_id, {"glorot.group_size": str(len(members)), "glorot.group": group,
                                        "torch_threads": str(torch.get_num_threads())})
        loggers = [ProgressLogger(MlflowLogger(tracker.client, m.run_id), m.config, on_progress, m.run_id,
                                  run_url(tracker.uri, tracker.experiment_id, m.run_id)) for m in members]
        owner = {"code": code_hash(), "data": data_version}
        checkpointers = StoppingCheckpointer.group([m.folder for m in members],
                                                   [checkpoint_every or m.config.eval_every for m in members],
                                                   [{"run_id": m.run_id, **owner} for m in members])
        with system_metrics(tracker, [m.run_id for m in members]):
            runs = train_group([m.config for m in members], data, loggers, False, checkpointers)
        for m, (net, result) in zip(members, runs):
            tracker.finish_child(m.run_id, m.config, result, net, data.test.x[:5].numpy())
            pending.remove(m)
            shutil.rmtree(m.folder, ignore_errors=True)  # the checkpoint, run.json and any temp file of a killed write
            done.append((m, _summary(m.run_id, m.config, resumed=m.resumed, **result.summary())))
    except Stopped:
        for m in pending:
            tracker.stopped(m.run_id)
        raise
    except BaseException as e:
        for m in pending:
            tracker.fail(m.run_id, f"{type(e).__name__}: {e}")
        raise
    return done


#: The data version of a configuration whose data could not be used (:func:`_refuse`).
UNUSABLE_DATA = "unusable"


def _refuse(tracker: Tracker, parent_id: str | None, configs: list[TrainConfig], error: GlorotError,
            tags: dict[str, str]) -> None:
    """Record each of ``configs`` as a failed child run with ``error`` (its data could not be
    used), so that the sweep's parent shows the cause; not retried (:func:`retryable`). Keyed on
    :data:`UNUSABLE_DATA`, so that a later attempt on usable data replaces it
    (:func:`_forget_refusals`)."""
    for config in configs:
        key = config_key(config, UNUSABLE_DATA)
        run_id = tracker.start_child(parent_id, config, {**tags, "glorot.config_key": key, "data_version": UNUSABLE_DATA})
        tracker.fail(run_id, f"{type(error).__name__}: {error}")


def _forget_refusals(tracker: Tracker, parent_id: str | None, config: TrainConfig) -> None:
    """Delete the runs that recorded ``config``'s data as unusable under ``parent_id``: its data
    is usable now, and one configuration has one record in a sweep."""
    for run in tracker.runs_with_key(parent_id, config_key(config, UNUSABLE_DATA)):
        tracker.delete_run(run.info.run_id)


def run_configurations(configs: list[TrainConfig], study: str, tracking_uri: str, parent_id: str | None = None,
                       root: str | Path = ".", data_dir: str | None = "data", checkpoint_every: int | None = None,
                       max_attempts: int = 3, on_progress: OnProgress = print_progress,
                       tags: dict[str, str] | None = None) -> list[dict]:
    """Train ``configs`` on their prepared data and record each as a child run; returns their summaries.

    Each evaluation of each configuration is reported to ``on_progress`` (default: a line on
    standard output, :class:`~glorot.pipeline.progress.Progress`). ``tags`` are added to the
    new child runs (e.g. the orchestrator's run id, ``prefect.flow_run_id``).

    The configurations must share a :func:`glorot.engine.group_key`; those left to train are
    trained together by :func:`glorot.engine.train_group` (a group of one gives the numbers
    of :func:`glorot.engine.train`).

    Idempotent, per configuration: one (same settings, same data version) that already
    finished under ``parent_id`` is skipped; one whose process died resumes from its
    checkpoint in ``<root>/checkpoints/<key>-<store>/`` and continues the same MLflow run; a failed
    one is retried until it has been tried ``max_attempts`` times, then left out (the others
    still train) and reported in the error raised at the end.
    """
    if not configs:
        return []
    check()  # a group that a stopped sweep's task runner still starts: nothing to open
    if len({group_key(c) for c in configs}) != 1:
        raise GlorotError("run_configurations needs configurations of one group (see glorot.engine.group_key)")
    tracker = Tracker(tracking_uri, study, root)
    try:
        data, data_tags = versioned_data(configs[0], root, data_dir)
    except GlorotError as e:  # missing, corrupt or changed data: a user error, recorded where users look
        _refuse(tracker, parent_id, configs, e, tags or {})
        raise
    source = str((Path(root) / data_dir / configs[0].dataset).resolve()) if data_dir else "generated in memory"
    summaries: list[dict | None] = [None] * len(configs)
    members: list[_Member] = []
    given_up: list[str] = []
    for index, config in enumerate(configs):
        _forget_refusals(tracker, parent_id, config)
        key = config_key(config, data_tags["data_version"])
        previous = tracker.runs_with_key(parent_id, key)
        if (run := finished_run(previous)) is not None:
            summaries[index] = _summary(run.info.run_id, config, status=run.data.tags.get("status"), skipped=True)
        elif (attempts := _attempts(previous)) >= max_attempts:
            given_up.append(f"{config.paper_cell} (key {key}) was tried {attempts} times without finishing; "
                            f"not retried (see its runs in MLflow, or start a fresh sweep)")
        else:
            members.append(_open_member(tracker, parent_id, index, config, key, previous,
                                        {**data_tags, "data_source": source, **(tags or {})}, root))
    for member, summary in _train(tracker, members, data, data_tags["data_version"], checkpoint_every, on_progress):
        summaries[member.index] = summary
    if given_up:
        raise GlorotError("; ".join(given_up))
    return summaries


def run_configuration(config: TrainConfig, study: str, tracking_uri: str, parent_id: str | None = None,
                      root: str | Path = ".", data_dir: str | None = "data", checkpoint_every: int | None = None,
                      max_attempts: int = 3, on_progress: OnProgress = print_progress,
                      tags: dict[str, str] | None = None) -> dict:
    """:func:`run_configurations` for one configuration."""
    return run_configurations([config], study, tracking_uri, parent_id, root, data_dir, checkpoint_every,
                              max_attempts, on_progress, tags)[0]
