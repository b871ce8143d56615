"""Prefect flows: a sweep expands a study of ``params.yaml`` into configurations and trains
each one as a task (or, given a deployment, as a flow run on a work pool's workers), with
MLflow recording a parent run for the sweep and a child run per configuration.

    python flows/sweep.py --study quick [--concurrency 2] [--deployment glorot-train-config/train-config]

With no ``PREFECT_API_URL`` set, Prefect runs the flows on its local ephemeral API.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Prefect's server would try to send telemetry from machines that often have no internet, and
# its temporary local API gets 20 s to start by default, too little on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import torch  # noqa: E402
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.deployments import run_deployment
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from glorot.config import TrainConfig
from glorot.errors import GlorotError
from glorot.data.sources import data_shape
from glorot.engine import plan_groups
from glorot.pipeline.runs import (dvc_data_version, format_rows, git_commit, require_data, run_configurations,
                             sweep_key, sweep_rows, write_summary)
from glorot.pipeline.study import StudyConfig, load_params
from glorot.pipeline.tracking import Tracker, resolve_uri

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DEPLOYMENT = "glorot-train-config/train-config"


def _label(config: TrainConfig) -> str:
    return f"{config.paper_cell} d{config.depth} w{config.width} lr={config.lr:g} s{config.seed}"


def _group_label(configs: list[TrainConfig]) -> str:
    return _label(configs[0]) + (f" (+{len(configs) - 1} batched)" if len(configs) > 1 else "")


def set_threads(threads: int | None) -> None:
    """Set torch's threads per process deliberately (``None``: leave torch's default).

    A configuration's numbers depend on the thread count (products split their sums
    differently), so the count is recorded on every MLflow run (tag ``torch_threads``).
    """
    if threads is not None:
        if threads < 1:
            raise GlorotError(f"invalid threads: must be >= 1 (got {threads})")
        torch.set_num_threads(threads)


@task(retries=2, retry_delay_seconds=10, task_run_name="{label}")
def train_task(configs: list[dict], study: str, tracking_uri: str, parent_id: str | None, root: str,
               data_dir: str, label: str) -> list[dict]:
    """Train a group of configurations (one batched model, or one alone) and record each in
    MLflow (retried on transient failures; finished members are skipped on a retry)."""
    return run_configurations([TrainConfig(**c) for c in configs], study, tracking_uri, parent_id, root, data_dir)


@flow(name="glorot-train-config", flow_run_name="{study}: {label}")
def train_config(configs: list[dict], study: str, tracking_uri: str, parent_id: str | None = None,
                 root: str = str(ROOT), data_dir: str = "data", label: str = "configurations",
                 threads: int | None = None) -> list[dict]:
    """A group of configurations as its own flow: what the ``train-config`` deployment runs on a worker."""
    set_threads(threads)
    return train_task(configs, study, tracking_uri, parent_id, root, data_dir,
                      _group_label([TrainConfig(**c) for c in configs]))


@task(retries=1, retry_delay_seconds=10, task_run_name="remote {label}")
def remote_task(deployment: str, parameters: dict, label: str) -> dict:
    """Run one group of configurations as a flow run of ``deployment`` on its work pool and wait for it."""
    run = run_deployment(deployment, parameters=parameters, timeout=None, poll_interval=2)
    if not run.state or not run.state.is_completed():
        raise RuntimeError(f"flow run {run.name} of {deployment} ended {run.state.name if run.state else 'unknown'}")
    return {"flow_run_id": str(run.id), "state": run.state.name}


def prepare(study_name: str | None, params_file: str = "params.yaml") -> tuple[StudyConfig, str, str]:
    """Validate everything a sweep needs before any training: params, study, data, tracking."""
    params = load_params(ROOT / params_file)
    study = params.get_study(study_name)
    require_data(ROOT, params.data_dir, study.datasets)
    uri = resolve_uri(params.tracking_uri, ROOT)
    Tracker(uri, study.name, ROOT)
    return study, uri, params.data_dir


@flow(name="glorot-sweep", task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count()))
def sweep(study: str | None = None, params_file: str = "params.yaml", deployment: str | None = None,
          summary_path: str | None = None, fresh: bool = False, concurrency: int | None = None) -> dict:
    """Train every configuration of ``study``; register the best model per data set; write a summary.

    Rerunning the same sweep (same study settings, data versions and code) continues its
    MLflow parent run: finished configurations are skipped, interrupted ones resume from
    their checkpoints, failed ones are retried. ``fresh`` starts a new parent run instead.

    Compatible configurations are trained as batched groups of the study's ``group`` size
    (``auto``: the size measured fastest here, :mod:`glorot.engine.grouping`). ``concurrency``
    is how many groups train at once (the task runner's workers, default: the number of
    cores); each gets ``cores // concurrency`` torch threads.
    """
    logger = get_run_logger()
    spec, uri, data_dir = prepare(study, params_file)
    tracker = Tracker(uri, spec.name, ROOT)
    configs, commit = spec.configs(), git_commit(ROOT)
    key = sweep_key(spec, {d: dvc_data_version(ROOT, data_dir, d) for d in spec.datasets}, commit)
    parent_id = None if fresh else tracker.find_parent(key)
    if parent_id:
        tracker.client.update_run(parent_id, status="RUNNING")
        logger.info("continuing sweep %s (MLflow parent run %s): finished configurations are skipped", key, parent_id)
    else:
        parent_id = tracker.start_parent({"git_commit": commit, "n_configs": str(len(configs)),
                                          "glorot.sweep_key": key})
    logger.info("study %s: %d configurations, MLflow parent run %s at %s", spec.name, len(configs), parent_id, uri)
    cores = os.cpu_count() or 1
    parallel = concurrency or cores
    set_threads(max(1, cores // parallel))
    group = spec.group
    if deployment and group == "auto":
        group = 1
        logger.info("study.group is `auto`, but the group size can only be measured where training runs: "
                    "with a deployment each configuration is its own flow run; set study.group to batch them")
    groups = plan_groups(configs, group, lambda c: data_shape(c.dataset, ROOT / data_dir), parallel, logger.info)
    logger.info("%d configurations in %d groups, %d at once, %d torch thread(s) each", len(configs), len(groups),
                parallel, torch.get_num_threads())
    progress = create_progress_artifact(0.0, key=f"glorot-{spec.name.replace('_', '-')}-progress",
                                        description=f"configurations of study {spec.name} finished")
    futures = {}
    for members in groups:
        label, dumped = _group_label(members), [c.model_dump() for c in members]
        if deployment:
            parameters = {"configs": dumped, "study": spec.name, "tracking_uri": uri, "parent_id": parent_id,
                          "root": str(ROOT), "data_dir": data_dir, "label": label}
            future = remote_task.submit(deployment, parameters, label)
        else:
            future = train_task.submit(dumped, spec.name, uri, parent_id, str(ROOT), data_dir, label)
        futures[future] = len(members)
    failed, done = 0, 0
    for future in as_completed(futures):
        if future.state.is_failed():
            failed += futures[future]
        done += futures[future]
        update_progress_artifact(progress, 100.0 * done / len(configs))
    registered = tracker.register_best(parent_id)
    rows = sweep_rows(tracker, parent_id)
    tracker.client.set_terminated(parent_id, "FAILED" if failed else "FINISHED")
    path = write_summary(summary_path or ROOT / "results" / spec.name / "summary.json", spec.name, parent_id,
                         rows, registered)
    logger.info("summary written to %s; registered models: %s", path, registered or "none")
    if failed:
        raise RuntimeError(f"{failed} of {len(configs)} configurations failed (counting every member of a failed "
                           f"group); see the MLflow parent run {parent_id}")
    return {"parent_run_id": parent_id, "rows": rows, "registered": registered}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    parser.add_argument("--params", default="params.yaml", help="parameters file, relative to the project")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count(),
                        help="groups of configurations trained at once locally (default: the number of cores)")
    parser.add_argument("--deployment", help=f"fan out to this deployment's work pool, e.g. {TRAIN_DEPLOYMENT}")
    parser.add_argument("--summary", help="summary JSON path (default: results/<study>/summary.json)")
    parser.add_argument("--fresh", action="store_true", help="start a new sweep instead of continuing this one")
    args = parser.parse_args(argv)
    try:
        if args.concurrency < 1:
            raise GlorotError(f"invalid concurrency: must be >= 1 (got {args.concurrency})")
        prepare(args.study, args.params)
        result = sweep.with_options(task_runner=ThreadPoolTaskRunner(max_workers=args.concurrency))(
            study=args.study, params_file=args.params, deployment=args.deployment, summary_path=args.summary,
            fresh=args.fresh, concurrency=args.concurrency)
    except GlorotError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    print(format_rows(result["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
