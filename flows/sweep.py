"""Prefect flows: a sweep trains the groups of configurations of a study of ``params.yaml``
as tasks (or, given a deployment, as flow runs on a work pool's workers), with MLflow
recording a parent run for the sweep and a child run per configuration. Everything but the
scheduling is the library's (:mod:`glorot.pipeline.sweep`, :mod:`glorot.pipeline.runs`).

    python flows/sweep.py --study quick [--params F] [--fresh] [--wait] [--concurrency 2] [--threads N]
                          [--deployment glorot-train-config/train-config]

One sweep of a study runs at a time (a second is refused in one line, or waits with ``--wait``).
Rerunning the same sweep continues it: configurations that it already finished are left out
before anything is submitted. With ``--deployment``, each flow run submitted is logged (name,
id, UI address) and, as each ends, how many configurations are done out of how many.
A failed group is tried again only when trying again can fix it (a lost server, a killed
process), never for a bad configuration or bad data. A sweep with failed configurations
exits 2 with one line, its MLflow parent run FAILED and its summary written.

With no ``PREFECT_API_URL`` set, Prefect runs the flows on a temporary local API server, which
a watchdog stops when this process ends, however it ends.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

# Prefect's server would try to send telemetry from machines that often have no internet, and
# its temporary local API gets 20 s to start by default, too little on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, get_client, get_run_logger, runtime, task  # noqa: E402
from prefect.artifacts import (create_link_artifact, create_markdown_artifact, create_progress_artifact,  # noqa: E402
                               update_progress_artifact)
from prefect.deployments import run_deployment  # noqa: E402
from prefect.futures import PrefectFuture, as_completed  # noqa: E402
from prefect.states import Failed, State  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.urls import url_for  # noqa: E402

from glorot.config import TrainConfig  # noqa: E402
from glorot.errors import GlorotError  # noqa: E402
from glorot.pipeline.progress import OnProgress, Progress  # noqa: E402
from glorot.pipeline.runs import retryable, run_configurations  # noqa: E402
from glorot.pipeline.summary import format_rows  # noqa: E402
from glorot.pipeline.sweep import Sweep, configs_from_json, group_label, set_threads  # noqa: E402
from glorot.pipeline.server_lock import first_start_lock  # noqa: E402
from glorot.pipeline.watchdog import stop_with_this_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DEPLOYMENT = "glorot-train-config/train-config"


class FlowRunCrashed(RuntimeError):
    """A deployment's flow run ended CRASHED: its process died (a retry resumes from the checkpoints)."""


def worth_retrying(task, task_run, state: State) -> bool:
    """Prefect's ``retry_condition_fn``: try a failed task again only if that can fix its error
    (:func:`glorot.pipeline.runs.retryable`, or a crashed flow run), not a bad configuration or bad data."""
    error = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return isinstance(error, FlowRunCrashed) or (isinstance(error, BaseException) and retryable(error))


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes): ``glorot-<parts...>``, e.g.
    the study, a configuration's label and the artifact's kind."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", "-".join(("glorot", *parts)).lower())).strip("-")


def prefect_progress(study: str) -> OnProgress:
    """Each evaluation in the flow run's log (one line) and in a progress artifact per
    configuration; at a configuration's first evaluation, a link to its MLflow run (for a local
    store, which has no address, a markdown artifact naming the run)."""
    log, artifacts = get_run_logger(), {}

    def report(event: Progress) -> None:
        log.info(event.line())
        if event.label in artifacts:
            update_progress_artifact(artifacts[event.label], 100 * event.fraction, description=event.line())
            return
        artifacts[event.label] = create_progress_artifact(100 * event.fraction, key=artifact_key(
            study, event.label, "progress"), description=event.line())
        if event.run_url:
            create_link_artifact(event.run_url, f"MLflow run of {event.label}", key=artifact_key(study, event.label, "run"))
        else:
            create_markdown_artifact(f"MLflow run of **{event.label}**: `{event.run_id}`",
                                     key=artifact_key(study, event.label, "run"))
    return report


@task(retries=2, retry_delay_seconds=10, retry_condition_fn=worth_retrying, task_run_name="{label}")
def train_task(configs: list[TrainConfig], study: str, tracking_uri: str, parent_id: str | None, root: str,
               data_dir: str, label: str) -> list[dict] | State:
    """Train a group of configurations (one batched model, or one alone) and record each in
    MLflow, tagged with this flow run's id (``prefect.flow_run_id``), reporting every evaluation
    (:func:`prefect_progress`); retried on transient failures (finished members are skipped on a
    retry). A :class:`GlorotError` fails it with its one line, without a traceback."""
    try:
        return run_configurations(configs, study, tracking_uri, parent_id, root, data_dir,
                                  on_progress=prefect_progress(study), tags={"prefect.flow_run_id": str(runtime.flow_run.id)})
    except GlorotError as e:
        return Failed(message=str(e), data=e)


@flow(name="glorot-train-config", flow_run_name="{study}: {label}")
def train_config(configs: list[dict], study: str, tracking_uri: str, parent_id: str | None = None,
                 root: str = str(ROOT), data_dir: str = "data", label: str = "configurations",
                 threads: int | None = None) -> list[dict]:
    """A group of configurations as its own flow: what the ``train-config`` deployment runs on
    a worker. Its parameters are JSON; ``configs_from_json`` turns them back into configurations."""
    set_threads(threads)
    members = configs_from_json(configs)
    return train_task(members, study, tracking_uri, parent_id, root, data_dir, group_label(members))


def wait_for(run, poll_s: float = 2.0):
    """The flow run ``run`` once it has ended (read from the API every ``poll_s`` seconds)."""
    with get_client(sync_client=True) as client:
        while not (run.state and run.state.is_final()):
            time.sleep(poll_s)
            run = client.read_flow_run(run.id)
    return run


@task(retries=1, retry_delay_seconds=10, retry_condition_fn=worth_retrying, task_run_name="remote {label}")
def remote_task(deployment: str, parameters: dict, label: str) -> dict | State:
    """Run one group of configurations as a flow run of ``deployment`` on its work pool, logging
    its name, id and UI address, and wait for it; tried again if the flow run crashed (its
    process died), not if it failed."""
    run = run_deployment(deployment, parameters=parameters, flow_run_name=f"{parameters['study']}: {label}",
                         timeout=0)
    address = url_for(run)
    get_run_logger().info(f"submitted flow run {run.name!r} ({run.id}) of {deployment}"
                          + (f": {address}" if address else ""))
    run = wait_for(run)
    if run.state and run.state.is_crashed():
        raise FlowRunCrashed(f"flow run {run.name} of {deployment} crashed: {run.state.message}")
    if not run.state or not run.state.is_completed():
        message = f"flow run {run.name} of {deployment} ended {run.state.name if run.state else 'unknown'}" + (
            f": {run.state.message}" if run.state and run.state.message else "")
        return Failed(message=message, data=GlorotError(message))
    return {"flow_run_id": str(run.id), "state": run.state.name}


def submit(job: Sweep, members: list[TrainConfig], deployment: str | None) -> PrefectFuture:
    """Start one group: a local task, or a flow run of ``deployment`` on its work pool."""
    if deployment:
        return remote_task.submit(deployment, job.deployment_parameters(members), group_label(members))
    return train_task.submit(members, **job.run_parameters(), label=group_label(members))


def count_failed(futures: dict[PrefectFuture, int], on_done=lambda done, failed: None) -> int:
    """Wait for every group as it ends; returns how many configurations are in groups that did
    not complete; ``on_done`` hears, as each group ends, how many configurations have ended and
    failed so far. Each future is waited for before its state is read: until then Prefect reads
    the state from its API, which can still say Running after the task has failed."""
    failed = done = 0
    for future in as_completed(list(futures)):
        future.wait()
        if not future.state.is_completed():
            failed += futures[future]
        done += futures[future]
        on_done(done, failed)
    return failed


def progress_reporter(job: Sweep, done_before: int, log):
    """``on_done`` for :func:`count_failed`: the study's progress artifact and a log line, both
    counting the configurations finished before this run (``done_before``) as done."""
    total = len(job.configs)
    progress = create_progress_artifact(100.0 * done_before / total,
                                        key=artifact_key(job.study.name, "progress"),
                                        description=f"configurations of study {job.study.name} finished")

    def on_done(done: int, failed: int) -> None:
        update_progress_artifact(progress, 100.0 * (done_before + done) / total)
        log(f"{done_before + done}/{total} configurations done" + (f" ({failed} failed)" if failed else ""))

    return on_done


def sweep_run_name() -> str:
    """A sweep's flow-run name: its study and when it was due, e.g. ``quick 2025-01-31 02:00 UTC``."""
    study = runtime.flow_run.parameters.get("study") or "default study"
    when = runtime.flow_run.scheduled_start_time or datetime.datetime.now(datetime.timezone.utc)
    return f"{study} {when.astimezone(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"


@task(task_run_name="report {study}")
def report_task(study: str, params_file: str, root: str, parent_id: str) -> str:
    """Build the report of the sweep ``parent_id`` into ``<root>/reports/<study>`` and attach it to
    the sweep's MLflow run, as ``glorot report`` (DVC's report stage) does, in a process of its own:
    the sweep's code does not import the report's, so an edit to the report never retrains
    (the sweep stage's DVC dependencies). Returns the report's folder."""
    out = Path(root) / "reports" / study
    done = subprocess.run([sys.executable, "-m", "glorot.cli", "report", "--study", study, "--params", params_file,
                           "--parent", parent_id, "--out", str(out)], cwd=root, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        get_run_logger().info(line)
    if done.returncode:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise GlorotError(f"report of study {study} failed: {lines[-1]}")
    return str(out)


@flow(name="glorot-sweep", flow_run_name=sweep_run_name, task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count()))
def sweep(study: str | None = None, params_file: str = "params.yaml", deployment: str | None = None,
          summary_path: str | None = None, fresh: bool = False, concurrency: int | None = None,
          wait: bool = False, threads: int | None = None, new_sweep_per_run: bool = False,
          report: bool = False) -> dict | State:
    """Train every configuration of ``study``; register the best model per data set; write a summary.

    One sweep of a study at a time: while another holds the study's lease, this one is refused
    (``wait``: waits for it). Rerunning the same sweep (same study settings, data versions and
    code) continues its MLflow parent run: finished configurations are left out before anything
    is submitted, interrupted ones resume from their checkpoints, failed ones are retried.
    ``fresh`` starts a new parent run instead, closing the runs that a killed sweep left RUNNING.
    ``new_sweep_per_run`` (the nightly deployment's): each flow run is a sweep of its own, a
    retry of the same flow run continues it. ``report``: build the study's report at the end.

    Compatible configurations are trained as batched groups of the study's ``group`` size
    (``auto``: the size measured fastest here, :mod:`glorot.engine.grouping`). ``concurrency``
    is how many groups train at once (the task runner's workers, default: the number of
    cores); each gets ``threads`` torch threads (default ``cores // concurrency``), a
    deployment's flow runs too. A failure that the user can fix (failed configurations, a sweep
    already running, bad input) ends the flow run Failed with its one line.
    """
    log = get_run_logger().info
    job = None
    parallel = concurrency or os.cpu_count() or 1
    try:
        job = Sweep.prepare(study, params_file, ROOT, remote=bool(deployment))
        flow_run_id = str(runtime.flow_run.id)
        job.start(fresh, log, wait, instance=flow_run_id if new_sweep_per_run else None,
                  tags={"prefect.flow_run_id": flow_run_id})
        todo = job.pending(log)
        groups = job.plan(todo, parallel, remote=bool(deployment), threads=threads, report=log)
        on_done = progress_reporter(job, len(job.configs) - len(todo), log)
        futures = {submit(job, members, deployment): len(members) for members in groups}
        result = job.finish(count_failed(futures, on_done), summary_path, log)
        if report:
            job.release()
            result["report"] = report_task(job.study.name, str(Path(job.root) / params_file), str(job.root),
                                           job.parent_id)
        return result
    except GlorotError as e:
        return Failed(message=str(e), data=e)
    finally:
        if job is not None:
            job.release()


def stop_server_with_sweep() -> None:
    """With no ``PREFECT_API_URL``, Prefect's client starts a temporary API server as a child
    process and stops it at a normal exit only. Start that server here (the client then uses
    it) and have a watchdog stop it when this process ends in any way, SIGKILL included. Its
    start (and migration of the home's database) holds the home's lock (:func:`first_start_lock`)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    if PREFECT_API_URL.value():
        return
    server = SubprocessASGIServer()
    with first_start_lock(PREFECT_HOME.value()):  # one server migrating the home's database at a time
        server.start()
    stop_with_this_process(server.server_process.pid)


def check_parallelism(concurrency: int, threads: int | None, remote: bool) -> None:
    """One line for a bad ``--concurrency`` or ``--threads``: below 1, or (trained here) more
    threads in all than this machine has cores."""
    if concurrency < 1:
        raise GlorotError(f"invalid concurrency: must be >= 1 (got {concurrency})")
    if threads is not None and threads < 1:
        raise GlorotError(f"invalid threads: must be >= 1 (got {threads})")
    cores = os.cpu_count() or 1
    if threads and not remote and threads * concurrency > cores:
        raise GlorotError(f"invalid threads: {threads} threads x {concurrency} groups at once exceeds this "
                          f"machine's {cores} cores; lower --threads or --concurrency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=textwrap.fill(
            "Sweep a study of params.yaml: train each of its configurations (network, data set, depth, width, "
            "learning rate of the grid, seed) with Prefect scheduling the work, and record the sweep in MLflow "
            "(a parent run, a child run per configuration). A configuration already finished in the sweep is "
            "not trained again. `dvc repro` runs this for params.yaml's own study; run it directly for any "
            "other study, then `glorot summary --study NAME` and `glorot report --study NAME`. With no "
            "PREFECT_API_URL, Prefect runs on a temporary local server.", 79),
        epilog=f"examples:\n  python flows/sweep.py --study depth\n"
               f"  python flows/sweep.py --study table1 --deployment {TRAIN_DEPLOYMENT}"
               f"   (workers of a pool: docs/scale.md)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    parser.add_argument("--params", default="params.yaml", help="parameters file, relative to the project")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count(),
                        help="groups of configurations trained at once locally (default: the number of cores)")
    parser.add_argument("--threads", type=int,
                        help="torch threads of each group, also of a deployment's flow runs (default: cores // "
                             "concurrency; locally, threads x concurrency may not exceed the cores)")
    parser.add_argument("--deployment", help=f"fan out to this deployment's work pool, e.g. {TRAIN_DEPLOYMENT}")
    parser.add_argument("--summary", help="summary JSON path, with runs.json (numbers only) beside it "
                                               "(default: results/<study>/summary.json)")
    parser.add_argument("--fresh", action="store_true", help="start a new sweep instead of continuing this one")
    parser.add_argument("--wait", action="store_true",
                        help="if a sweep of the study is running, wait for it instead of refusing")
    args = parser.parse_args(argv)
    try:
        check_parallelism(args.concurrency, args.threads, remote=bool(args.deployment))
        Sweep.prepare(args.study, args.params, ROOT, remote=bool(args.deployment))  # bad input: one line, first
        stop_server_with_sweep()
        result = sweep.with_options(task_runner=ThreadPoolTaskRunner(max_workers=args.concurrency))(
            study=args.study, params_file=args.params, deployment=args.deployment, summary_path=args.summary,
            fresh=args.fresh, concurrency=args.concurrency, wait=args.wait, threads=args.threads)
    except GlorotError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    print(format_rows(result["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
