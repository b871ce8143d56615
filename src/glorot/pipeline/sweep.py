"""A sweep of a study, everything but the scheduling: validated preparation, the study's lease
(one sweep of a study at a time, :mod:`glorot.pipeline.lease`), the MLflow parent run (continued
when the same sweep runs again), the configurations it still has to train (finished ones are left
out before anything is scheduled), the plan of groups, the parameters each group is trained with,
and the end (best model per data set registered, summary written, parent run closed with the
count of failed configurations). ``flows/sweep.py`` schedules the groups with Prefect; nothing
here imports Prefect.

A sweep's configurations are validated once, when the study is read (:mod:`glorot.pipeline.study`),
and travel as :class:`~glorot.config.TrainConfig` objects; only a deployment's flow run gets
them as JSON, and :func:`configs_from_json` is the one place that turns them back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glorot.config import TrainConfig, build_config
from glorot.data.sources import data_shape
from glorot.engine import plan_groups
from glorot.errors import GlorotError
from glorot.pipeline.lease import Lease
from glorot.pipeline.progress import group_label
from glorot.pipeline.provenance import config_key, dvc_data_versions, git_commit, sweep_key
from glorot.pipeline.runs import is_finished
from glorot.pipeline.study import StudyConfig, chosen_rates, load_params
from glorot.pipeline.summary import network_metrics, row_trial, sweep_rows, write_summary
from glorot.pipeline.sweep_options import require_data
from glorot.pipeline.tracking import Tracker, resolve_uri

Report = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class SweepFailed(GlorotError):
    """Configurations of a sweep failed; the parent run is closed FAILED and the summary written."""


def set_threads(threads: int | None) -> None:
    """Set torch's threads per process deliberately (``None``: leave torch's default).

    A configuration's numbers depend on the thread count (products split their sums
    differently), so the count is recorded on every MLflow run (tag ``torch_threads``).
    """
    if threads is not None:
        if threads < 1:
            raise GlorotError(f"invalid threads: must be >= 1 (got {threads})")
        torch.set_num_threads(threads)


def configs_from_json(configs: Sequence[dict[str, Any]]) -> list[TrainConfig]:
    """The configurations a deployment's flow run received as JSON, validated again (they
    crossed a process boundary); a bad one is a one-line :class:`GlorotError`. Whether each fits
    this worker (its CUDA device, its memory) is checked where it starts training, after its
    MLflow run is opened (:func:`glorot.pipeline.runs.run_configurations`), so that a misfit is a
    failed child run with its ``error``, not a flow run that fails before any run exists."""
    return [build_config(check_machine=False, **c) for c in configs]


@dataclass
class Sweep:
    """A study ready to sweep: validated, its data present (here, or on the workers of a
    deployment), its tracking store reachable; after :meth:`start`, its MLflow parent run."""

    study: StudyConfig
    root: Path
    data_dir: str
    tracker: Tracker
    parent_id: str | None = None
    lease: Lease | None = None
    data_versions: dict[str, str | None] | None = None
    threads: int | None = None
    finished: int = 0  # configurations finished before this run of the sweep (:meth:`pending`)

    @classmethod
    def prepare(cls, study: str | None, params_file: str = "params.yaml", root: str | Path = ".",
                remote: bool = False) -> Sweep:
        """Validate everything a sweep needs before any training: the parameters file (relative
        to ``root``), the study and its configurations, the prepared data, the tracking store.
        ``remote``: the configurations train on a deployment's workers, which check the device,
        the memory and their own data (against ``dvc.lock``, :func:`~glorot.pipeline.provenance.versioned_data`)
        themselves, so this machine needs no data: it reads their versions from ``dvc.lock`` alone
        (:meth:`start`), and plans groups without their shapes (:meth:`plan`)."""
        params = load_params(params_file, root)
        spec = params.get_study(study, check_machine=not remote)
        if not remote:
            require_data(root, params.data_dir, spec.datasets)
        tracker = Tracker(resolve_uri(params.tracking_uri, root), spec.name, root)
        return cls(spec, Path(root), params.data_dir, tracker)

    @property
    def configs(self) -> list[TrainConfig]:
        """The study's configurations, as validated when it was read."""
        return self.study.configs()

    def start(self, fresh: bool = False, report: Report = _quiet, wait: bool = False,
              instance: str | None = None, flow_run: str | None = None) -> str:
        """Take the study's lease (refused in one line while another sweep of it runs, or with
        ``wait`` waited for), then open the sweep's MLflow parent run: the one of the same sweep
        (same study settings, data versions and code, :func:`~glorot.pipeline.provenance.sweep_key`,
        and the same ``instance`` if given) if there is one and not ``fresh``, so that finished
        configurations are skipped; else a new one, which closes the runs of earlier sweeps left
        RUNNING (:meth:`Tracker.supersede`). ``instance`` makes each of its values a sweep of its
        own (the nightly deployment passes its flow run's id: each night is a new sweep, and a
        retry of that night's flow run continues it). ``flow_run``: the orchestrator's run id, added
        to the parent's (:meth:`Tracker.add_flow_run`: a continued sweep keeps the first and lists all)."""
        lease = Lease(self.tracker, self.study.name, report=report)
        lease.acquire(wait)
        self.lease = lease
        try:
            commit = git_commit(self.root)
            self.data_versions = dvc_data_versions(self.root, self.data_dir, self.study.datasets)
            key = sweep_key(self.study, self.data_versions) + (f"-{instance}" if instance else "")
            self.parent_id = None if fresh else self.tracker.find_parent(key)
            if self.parent_id:
                self.tracker.continue_parent(self.parent_id)
                report(f"continuing sweep {key} (MLflow parent run {self.parent_id}): finished configurations "
                       f"are skipped")
            else:
                self.parent_id = self.tracker.start_parent({"git_commit": commit, "n_configs": str(self.study.n_configs),
                                                            "glorot.sweep_key": key},
                                                           self.study.model_dump(exclude={"description"}))
                if closed := self.tracker.supersede(self.parent_id):
                    report(f"closed {len(closed)} run(s) of earlier sweeps left running, as KILLED and superseded "
                           f"by {self.parent_id}")
            if flow_run:
                self.tracker.add_flow_run(self.parent_id, flow_run)
            self.lease.attach(self.parent_id)
        except BaseException:
            self.release()
            raise
        report(f"study {self.study.name}: {self.study.n_configs} configurations, MLflow parent run {self.parent_id} "
               f"at {self.tracker.uri}")
        return self.parent_id

    def release(self) -> None:
        """Give the study's lease back (after :meth:`finish`, or when the sweep stops early)."""
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def pending(self, report: Report = _quiet, after_stage: bool = False) -> list[TrainConfig]:
        """The configurations still to train: those without a finished child run (completed or
        diverged, :func:`~glorot.pipeline.runs.is_finished`) of this sweep's parent run with the
        same :func:`~glorot.pipeline.provenance.config_key`, on the data version that ``dvc.lock``
        records (or, for data DVC does not version, on the one that run recorded). Asked before
        anything is scheduled, so that a continued sweep sends no finished configuration to a worker.
        A study with ``lr_choice_seeds`` has two stages: first its choice seeds at every rate; once
        they have all finished, its other seeds at each network's chosen rate (:meth:`chosen_rates`).
        ``after_stage``: asked again once this process trained a stage, whose configurations are then
        finished but not "skipped" (``report`` hears only the chosen rates)."""
        finished = [r for r in self.tracker.child_runs(self.parent_id) if is_finished(r)]
        keys = {r.data.tags.get("glorot.config_key") for r in finished}
        seen = {r.data.tags.get("data_version") for r in finished} - {None}

        def done(config: TrainConfig) -> bool:
            known = (self.data_versions or {}).get(config.dataset)
            return any(config_key(config, v) in keys for v in ([known] if known else seen))

        todo = [c for c in self.configs if not done(c)]
        self.finished = len(self.configs) - len(todo)
        if not todo and self.study.follower_seeds:
            chosen = self.chosen_rates()
            followers = self.study.follower_configs(chosen)
            todo = [c for c in followers if not done(c)]
            self.finished += len(followers) - len(todo)
            if todo:
                report("learning rates chosen on seed(s) " + ", ".join(map(str, self.study.lr_choice_seeds)) + ": "
                       + "; ".join(f"{cell[1]} {cell[0]} d{cell[2]} w{cell[3]}: {lr:g}" for cell, lr in chosen.items())
                       + f"; seed(s) {', '.join(map(str, self.study.follower_seeds))} run at those rates")
        if self.finished and not after_stage:
            report(f"{self.finished} of {self.study.n_configs} configurations already finished in this sweep: skipped")
        return todo

    def chosen_rates(self) -> dict[tuple, float]:
        """Each network cell's learning rate, chosen from this sweep's runs on the study's
        ``lr_choice_seeds`` (:func:`glorot.pipeline.study.chosen_rates`)."""
        return chosen_rates(self.study, (((r["dataset"], r["network"], r["depth"], r["width"]), row_trial(r))
                                         for r in sweep_rows(self.tracker, self.parent_id)))

    def plan(self, configs: Sequence[TrainConfig], parallel: int, remote: bool = False, threads: int | None = None,
             report: Report = _quiet) -> list[list[TrainConfig]]:
        """Choose the torch threads of each group (``threads``, default ``cores // parallel``, so that
        ``parallel`` groups at once use no more threads than this machine has cores; a deployment's
        flow runs get the same count, :meth:`deployment_parameters`) and cut ``configs`` into groups
        of the study's ``group`` size (:func:`glorot.engine.plan_groups`). ``remote`` (a deployment
        trains them): ``auto`` means 1, since the size can only be measured where training runs, so no
        data set's shape is read here (:meth:`prepare`: this machine may have no data)."""
        self.threads = threads or max(1, (os.cpu_count() or 1) // parallel)
        set_threads(self.threads)
        group = self.study.group
        if remote and group == "auto":
            group = 1
            report("study.group is `auto`, but the group size can only be measured where training runs: "
                   "with a deployment each configuration is its own flow run; set study.group to batch them")
        groups = plan_groups(list(configs), group, lambda c: data_shape(c.dataset, self.root / self.data_dir),
                             parallel, report) if configs else []
        report(f"{len(configs)} configurations in {len(groups)} groups, {parallel} at once, "
               f"{self.threads} torch thread(s) each")
        return groups

    def run_parameters(self) -> dict[str, Any]:
        """Where a group's runs go, as :func:`glorot.pipeline.runs.run_configurations` takes it."""
        return {"study": self.study.name, "tracking_uri": self.tracker.uri, "parent_id": self.parent_id,
                "root": str(self.root), "data_dir": self.data_dir}

    def deployment_parameters(self, members: Sequence[TrainConfig]) -> dict[str, Any]:
        """A group as the JSON parameters of a ``train-config`` deployment's flow run, with the
        planned thread count. Without ``root``: a flow run reads the data of its own project
        folder (its deployment's source, or the clone that its pull steps made)."""
        where = {k: v for k, v in self.run_parameters().items() if k != "root"}
        return {"configs": [c.model_dump() for c in members], **where, "label": group_label(members),
                "threads": self.threads}

    def first_failure(self) -> str | None:
        """The oldest failed child run of this sweep whose configuration has not finished since, as
        ``cell: error`` (the one line its run recorded), or ``None`` (none failed in a run of its own)."""
        runs = self.tracker.child_runs(self.parent_id)
        finished = {r.data.tags.get("glorot.config_key") for r in runs if is_finished(r)}
        failed = next((r for r in runs if r.data.tags.get("status") == "failed"
                       and r.data.tags.get("glorot.config_key") not in finished), None)
        if failed is None:
            return None
        tags = failed.data.tags
        return f"{tags.get('paper_cell', failed.info.run_id)}: {tags.get('error', 'no error recorded')}"

    def finish(self, failed: int, summary_path: str | Path | None = None, report: Report = _quiet) -> dict:
        """Register each data set's best model, close the parent run (FAILED, with the count, if
        any of the ``failed`` configurations did), write the summary (default
        ``results/<study>/summary.json``); then raise :class:`SweepFailed` (one line, naming the
        first failure's error, :meth:`first_failure`) if configurations failed, else return the parent run, rows and models."""
        registered = self.tracker.register_best(self.parent_id)
        rows = sweep_rows(self.tracker, self.parent_id)
        self.tracker.record_results(self.parent_id, network_metrics(rows), rows)
        self.tracker.end_parent(self.parent_id, failed=failed)
        path = write_summary(summary_path or self.root / "results" / self.study.name / "summary.json",
                             self.study.name, self.parent_id, rows, registered, self.tracker.uri)
        report(f"summary written to {path}; registered models: {registered or 'none'}")
        if failed:
            cause = self.first_failure()
            raise SweepFailed(f"{failed} of {self.study.n_configs} configurations failed; see MLflow parent run "
                              f"{self.parent_id} at {self.tracker.uri} (every member of a failed group counts)"
                              + (f"; the first: {cause}" if cause else ""))
        if self.lease is not None and self.lease.lost:
            raise SweepFailed(f"the lease of study {self.study.name} was taken over during the sweep; check MLflow "
                              f"parent run {self.parent_id} for runs of another sweep")
        return {"parent_run_id": self.parent_id, "rows": rows, "registered": registered}
