"""Prefect flows: a sweep trains the groups of configurations of a study of ``params.yaml``
as tasks (or, given a deployment, as flow runs on a work pool's workers), with MLflow
recording a parent run for the sweep and a child run per configuration. Everything but the
scheduling is the library's (:mod:`glorot.pipeline.sweep`, :mod:`glorot.pipeline.runs`).

    python flows/sweep.py --study quick [--params F] [--fresh] [--concurrency 2]
                          [--deployment glorot-train-config/train-config]

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

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_progress_artifact, update_progress_artifact  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.futures import PrefectFuture, as_completed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from glorot.config import TrainConfig  # noqa: E402
from glorot.errors import GlorotError  # noqa: E402
from glorot.pipeline.runs import run_configurations  # noqa: E402
from glorot.pipeline.summary import format_rows  # noqa: E402
from glorot.pipeline.sweep import Sweep, configs_from_json, group_label, set_threads  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DEPLOYMENT = "glorot-train-config/train-config"


@task(retries=2, retry_delay_seconds=10, task_run_name="{label}")
def train_task(configs: list[TrainConfig], study: str, tracking_uri: str, parent_id: str | None, root: str,
               data_dir: str, label: str) -> list[dict]:
    """Train a group of configurations (one batched model, or one alone) and record each in
    MLflow (retried on transient failures; finished members are skipped on a retry)."""
    return run_configurations(configs, study, tracking_uri, parent_id, root, data_dir)


@flow(name="glorot-train-config", flow_run_name="{study}: {label}")
def train_config(configs: list[dict], study: str, tracking_uri: str, parent_id: str | None = None,
                 root: str = str(ROOT), data_dir: str = "data", label: str = "configurations",
                 threads: int | None = None) -> list[dict]:
    """A group of configurations as its own flow: what the ``train-config`` deployment runs on
    a worker. Its parameters are JSON; ``configs_from_json`` turns them back into configurations."""
    set_threads(threads)
    members = configs_from_json(configs)
    return train_task(members, study, tracking_uri, parent_id, root, data_dir, group_label(members))


@task(retries=1, retry_delay_seconds=10, task_run_name="remote {label}")
def remote_task(deployment: str, parameters: dict, label: str) -> dict:
    """Run one group of configurations as a flow run of ``deployment`` on its work pool and wait for it."""
    run = run_deployment(deployment, parameters=parameters, timeout=None, poll_interval=2)
    if not run.state or not run.state.is_completed():
        raise RuntimeError(f"flow run {run.name} of {deployment} ended {run.state.name if run.state else 'unknown'}")
    return {"flow_run_id": str(run.id), "state": run.state.name}


def submit(job: Sweep, members: list[TrainConfig], deployment: str | None) -> PrefectFuture:
    """Start one group: a local task, or a flow run of ``deployment`` on its work pool."""
    if deployment:
        return remote_task.submit(deployment, job.deployment_parameters(members), group_label(members))
    return train_task.submit(members, **job.run_parameters(), label=group_label(members))


def count_failed(futures: dict[PrefectFuture, int], on_done=lambda done: None) -> int:
    """Wait for every group as it ends; returns how many configurations are in groups that did
    not complete. Each future is waited for before its state is read: until then Prefect reads
    the state from its API, which can still say Running after the task has failed."""
    failed = done = 0
    for future in as_completed(list(futures)):
        future.wait()
        if not future.state.is_completed():
            failed += futures[future]
        done += futures[future]
        on_done(done)
    return failed


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
    log = get_run_logger().info
    job = Sweep.prepare(study, params_file, ROOT)
    job.start(fresh, log)
    groups = job.plan(concurrency or os.cpu_count() or 1, remote=bool(deployment), report=log)
    progress = create_progress_artifact(0.0, key=f"glorot-{job.study.name.replace('_', '-')}-progress",
                                        description=f"configurations of study {job.study.name} finished")
    futures = {submit(job, members, deployment): len(members) for members in groups}
    failed = count_failed(futures, lambda done: update_progress_artifact(progress, 100.0 * done / len(job.configs)))
    return job.finish(failed, summary_path, log)


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
        Sweep.prepare(args.study, args.params, ROOT)  # bad input: one line, before Prefect starts
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
