"""Prefect flows: a sweep trains the groups of configurations of a study of ``params.yaml``
as tasks (or, given a deployment, as flow runs on a work pool's workers), with MLflow
recording a parent run for the sweep and a child run per configuration. Everything but the
scheduling is the library's (:mod:`glorot.pipeline.sweep`, :mod:`glorot.pipeline.runs`), and so is
the scheduling's policy (:mod:`glorot.pipeline.orchestration`): this file only wires Prefect to it.

    glorot sweep --study quick [--params F] [--fresh] [--wait] [--concurrency 2] [--threads N]
                               [--deployment glorot-train-config/train-config]

(``python flows/sweep.py`` takes the same options: :mod:`glorot.pipeline.sweep_options`.) Its
options are checked, and ``--help`` answered, before Prefect and torch load.

One sweep of a study runs at a time (a second is refused in one line, or waits with ``--wait``).
Rerunning the same sweep continues it: configurations that it already finished are left out
before anything is submitted. With ``--deployment``, each flow run is logged when submitted
(its name) and when it ends (id, state, UI address), with how many configurations are done.
A failed group is tried again only when trying again can fix it (a lost server, a killed
process), never for a bad configuration or bad data. A sweep with failed configurations
exits 2 with one line, its MLflow parent run FAILED and its summary written.

With no ``PREFECT_API_URL`` set, Prefect runs the flows on a temporary local API server, which
a watchdog stops when this process ends, however it ends.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from glorot.errors import GlorotError
from glorot.pipeline.sweep_options import checked_arguments

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # the command line: --help and bad options answer here, before Prefect and torch load
    ARGS, CONCURRENCY = checked_arguments(sys.argv[1:], ROOT)

# Prefect's server would try to send telemetry from machines that often have no internet, and
# its temporary local API gets 20 s to start by default, too little on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, get_run_logger, runtime, task  # noqa: E402
from prefect.artifacts import (create_link_artifact, create_markdown_artifact, create_progress_artifact,  # noqa: E402
                               update_progress_artifact)
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.objects import FlowRun  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.exceptions import TerminationSignal  # noqa: E402
from prefect.futures import PrefectFuture, as_completed  # noqa: E402
from prefect.states import Cancelled, Cancelling, Failed, State  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.urls import url_for  # noqa: E402

from glorot.config import TrainConfig  # noqa: E402
from glorot.pipeline.orchestration import (CANCEL_WAIT_S, FLOW_RUN_POLL_S, FLOW_RUN_RETRIES, RETRY_DELAY_S, SWEEP_FLOW,  # noqa: E402
                                           TASK_RETRIES, TRAIN_FLOW, FlowRunCrashed, OneLineUserErrors, artifact_key,
                                           build_report, check_parallelism, done_line, fan_out, sweep_run_name,
                                           train_run_name, unfinished, worth_retrying)
from glorot.pipeline.progress import (OnProgress, Progress, SweepDisplay, active_display,  # noqa: E402
                                     hush_tracking_setup, ui_line)
from glorot.pipeline.runs import run_configurations  # noqa: E402
from glorot.pipeline.summary import format_rows  # noqa: E402
from glorot.pipeline.sweep import Sweep, configs_from_json, group_label, set_threads  # noqa: E402
from glorot.pipeline.server_lock import first_start_lock  # noqa: E402
from glorot.pipeline.stopping import (LOCAL_STOP, REMOTE_STOP, Stopped, stop_on_signals, stop_on_sigterm,  # noqa: E402
                                      stop_requested)
from glorot.pipeline.watchdog import stop_with_this_process  # noqa: E402

hush_tracking_setup()
for _engine_logger in ("prefect.flow_runs", "prefect.engine"):  # where a worker's failed flow run is logged
    logging.getLogger(_engine_logger).addFilter(OneLineUserErrors())


def retry_condition(task, task_run, state: State) -> bool:
    """Prefect's ``retry_condition_fn``: try a failed task again only if that can fix its error
    (:func:`glorot.pipeline.orchestration.worth_retrying`)."""
    error = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return worth_retrying(error)


def prefect_progress(study: str) -> OnProgress:
    """Each evaluation on the sweep's display (:class:`SweepDisplay`; with none in this process, a
    deployment's flow run: a line in the flow run's log) and in a progress artifact per
    configuration; at a configuration's first evaluation, a link to its MLflow run (for a local
    store, which has no address, a markdown artifact naming the run)."""
    log, artifacts = get_run_logger(), {}

    def report(event: Progress) -> None:
        display = active_display()
        if display:
            display.progress(event)
        else:
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


@task(retries=TASK_RETRIES, retry_delay_seconds=RETRY_DELAY_S, retry_condition_fn=retry_condition,
      task_run_name="{label}")
def train_task(configs: list[TrainConfig], study: str, tracking_uri: str, parent_id: str | None, root: str,
               data_dir: str, label: str) -> list[dict] | State:
    """Train a group of configurations (one batched model, or one alone) and record each in
    MLflow, tagged with this flow run's id (``prefect.flow_run_id``), reporting every evaluation
    (:func:`prefect_progress`); retried on transient failures (finished members are skipped on a
    retry). A :class:`GlorotError` fails it with its one line, without a traceback; a requested
    stop (:mod:`glorot.pipeline.stopping`) cancels it."""
    try:
        return run_configurations(configs, study, tracking_uri, parent_id, root, data_dir,
                                  on_progress=prefect_progress(study), tags={"prefect.flow_run_id": str(runtime.flow_run.id)})
    except GlorotError as e:
        return Failed(message=str(e), data=e)
    except Stopped as e:
        return Cancelled(message=str(e))


def name_train_run() -> str:
    """A training flow run's name, given when it starts (:func:`glorot.pipeline.orchestration.train_run_name`)."""
    return train_run_name(runtime.flow_run.parameters["study"], runtime.flow_run.parameters["label"],
                          str(runtime.flow_run.id))


@flow(name=TRAIN_FLOW, flow_run_name=name_train_run)
def train_config(configs: list[dict], study: str, tracking_uri: str, parent_id: str | None = None,
                 root: str = str(ROOT), data_dir: str = "data", label: str = "configurations",
                 threads: int | None = None) -> list[dict]:
    """A group of configurations as its own flow: what the ``train-config`` deployment runs on
    a worker. Its parameters are JSON; ``configs_from_json`` turns them back into configurations.
    A failed group (a configuration that does not fit this worker, bad data) fails it with its
    task's one line as its message, which the sweep that waits for it reports."""
    set_threads(threads)
    members = configs_from_json(configs)
    with stop_on_sigterm():  # the worker cancelling this flow run: the runs end stopped, not failed
        done = train_task(members, study, tracking_uri, parent_id, root, data_dir, group_label(members),
                          return_state=True)
    return done if done.is_completed() else Failed(message=done.message, data=done.result(raise_on_failure=False))


@task(retries=FLOW_RUN_RETRIES, retry_delay_seconds=RETRY_DELAY_S, retry_condition_fn=retry_condition,
      task_run_name="remote {label}")
def remote_task(deployment: str, parameters: dict, label: str) -> dict | State:
    """Run one group of configurations as a flow run of ``deployment`` on its work pool and wait
    for it (:func:`await_flow_run`), logging its name, id, end and UI address; tried again if the
    flow run crashed (its process died), not if it failed, nor once the sweep is stopping."""
    name = train_run_name(parameters["study"], label)
    get_run_logger().info(f"submitting flow run {name!r} to {deployment}")
    run = await_flow_run(run_deployment(deployment, parameters=parameters, flow_run_name=name, timeout=0))
    address = url_for(run)
    state = run.state.name if run.state else "unknown"
    get_run_logger().info(f"flow run {run.name!r} ({run.id}) of {deployment} ended {state}"
                          + (f": {address}" if address else ""))
    if stop_requested():
        return Cancelled(message=unfinished(run.name, deployment, state, "the sweep was stopped"))
    if run.state and run.state.is_crashed():
        raise FlowRunCrashed(f"flow run {run.name} of {deployment} crashed: {run.state.message}")
    if not run.state or not run.state.is_completed():
        message = unfinished(run.name, deployment, state, run.state.message if run.state else None)
        return Failed(message=message, data=GlorotError(message))
    return {"flow_run_id": str(run.id), "state": state}


def await_flow_run(run: FlowRun) -> FlowRun:
    """``run`` once it has ended, read every :data:`FLOW_RUN_POLL_S` seconds. Once the sweep is
    asked to stop (:mod:`glorot.pipeline.stopping`), the flow run is cancelled, as ``prefect
    flow-run cancel`` does (one not yet started is cancelled at once, one running is left to its
    worker to stop), and waited for at most :data:`CANCEL_WAIT_S` seconds more."""
    with get_client(sync_client=True) as client:
        deadline = None
        while not (run.state and run.state.is_final()):
            if stop_requested() and deadline is None:
                deadline = time.monotonic() + CANCEL_WAIT_S
                state = Cancelled if run.state and run.state.is_scheduled() else Cancelling
                client.set_flow_run_state(run.id, state(message="the sweep that submitted it was stopped"))
                get_run_logger().info(f"cancelling flow run {run.name!r} ({run.id}): the sweep was stopped")
            elif deadline is not None and time.monotonic() > deadline:
                get_run_logger().warning(f"flow run {run.name!r} ({run.id}) is still {run.state.name} "
                                         f"{CANCEL_WAIT_S:.0f} s after its cancellation: not waiting for it")
                return run
            time.sleep(FLOW_RUN_POLL_S)
            run = client.read_flow_run(run.id)
    return run


def submit(runner: ThreadPoolTaskRunner, job: Sweep, members: list[TrainConfig],
           deployment: str | None) -> PrefectFuture:
    """Start one group on ``runner``: a local task, or a flow run of ``deployment`` on its work pool."""
    label = group_label(members)
    if deployment:
        return runner.submit(remote_task, {"deployment": deployment, "parameters": job.deployment_parameters(members),
                                           "label": label})
    return runner.submit(train_task, {"configs": members, **job.run_parameters(), "label": label})


def run_groups(job: Sweep, groups: list[list[TrainConfig]], deployment: str | None, parallel: int,
               on_done=lambda done, failed: None) -> int:
    """Run ``groups``, ``parallel`` in flight at once (a task runner of that many threads, whatever
    the flow's own: a deployment's flow runs a nightly with the concurrency it was given); returns
    how many configurations failed (:func:`count_failed`). Ctrl-C or SIGTERM stops the groups
    trained here at their next checkpoints before the signal ends the sweep (:mod:`glorot.pipeline.stopping`)."""
    with stop_on_signals(effect=REMOTE_STOP if deployment else LOCAL_STOP), \
            ThreadPoolTaskRunner(max_workers=parallel) as runner:
        return count_failed({submit(runner, job, members, deployment): len(members) for members in groups}, on_done)


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


def progress_reporter(job: Sweep, done_before: int, log, display: SweepDisplay):
    """``on_done`` for :func:`count_failed`: the study's progress artifact, a log line and the
    sweep's display, all counting the configurations finished before this run (``done_before``) as done."""
    total = job.study.n_configs
    progress = create_progress_artifact(100.0 * done_before / total,
                                        key=artifact_key(job.study.name, "progress"),
                                        description=f"configurations of study {job.study.name} finished")

    def on_done(done: int, failed: int) -> None:
        update_progress_artifact(progress, 100.0 * (done_before + done) / total)
        log(done_line(done_before + done, total, failed))
        display.groups_ended(done, failed)

    return on_done


def name_sweep_run() -> str:
    """A sweep's flow-run name (:func:`glorot.pipeline.orchestration.sweep_run_name`)."""
    return sweep_run_name(runtime.flow_run.parameters.get("study"), runtime.flow_run.scheduled_start_time,
                          str(runtime.flow_run.id))


@task(task_run_name="report {study}")
def report_task(study: str, params_file: str, root: str, parent_id: str) -> str:
    """The study's report, built at the end of a sweep (:func:`glorot.pipeline.orchestration.build_report`)."""
    return build_report(study, params_file, root, parent_id, get_run_logger().info)


@flow(name=SWEEP_FLOW, flow_run_name=name_sweep_run)
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
    is how many groups are in flight at once (trained here, or flow runs of ``deployment``: give
    the training pool's slots; default: this machine's cores,
    :func:`glorot.pipeline.orchestration.fan_out`); each gets ``threads`` torch threads (default
    ``cores // concurrency``), a deployment's flow runs too. A failure that the user can fix
    (failed configurations, a sweep already running, bad input) ends the flow run Failed with
    its one line.
    """
    log = get_run_logger().info
    job = None
    parallel = fan_out(concurrency)
    try:
        check_parallelism(parallel, threads, remote=bool(deployment))
        job = Sweep.prepare(study, params_file, ROOT, remote=bool(deployment))
        flow_run_id = str(runtime.flow_run.id)
        job.start(fresh, log, wait, instance=flow_run_id if new_sweep_per_run else None, flow_run=flow_run_id)
        log(ui_line(job.tracker.uri, job.tracker.experiment_id, job.parent_id, job.study.name))
        failed, todo, before = 0, job.pending(log), None
        while todo and not failed and todo != before:  # a study that chooses rates on some seeds: two stages
            groups = job.plan(todo, parallel, remote=bool(deployment), threads=threads, report=log)
            with SweepDisplay(groups, job.study.n_configs, job.finished) as display:
                failed = run_groups(job, groups, deployment, parallel, progress_reporter(job, job.finished, log, display))
            todo, before = (job.pending(log, after_stage=True) if not failed else []), todo
        result = job.finish(failed, summary_path, log)
        if report:
            job.release()
            result["report"] = report_task(job.study.name, str(Path(job.root) / params_file), str(job.root),
                                           job.parent_id)
        return result
    except GlorotError as e:
        return Failed(message=str(e), data=e)
    except (KeyboardInterrupt, TerminationSignal):
        if job is not None and job.parent_id:
            job.tracker.stopped(job.parent_id)  # the same command continues it
        raise
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


def run(args, concurrency: int) -> int:
    """Run the sweep that ``args`` ask for (:func:`glorot.pipeline.sweep_options.check_sweep`
    checked them and chose the ``concurrency``) and print its rows; what ``glorot sweep`` runs.
    A problem found now (a corrupt store, a sweep already running, failed configurations) is a
    :class:`GlorotError`."""
    Sweep.prepare(args.study, args.params, ROOT, remote=bool(args.deployment))  # what needs MLflow: one line, first
    stop_server_with_sweep()
    result = sweep(study=args.study, params_file=args.params, deployment=args.deployment, summary_path=args.summary,
                   fresh=args.fresh, concurrency=concurrency, wait=args.wait, threads=args.threads)
    print(format_rows(result["rows"]))
    return 0


def main(argv: list[str] | None = None, checked=None) -> int:
    """``python flows/sweep.py``: the sweep of the arguments ``argv`` (or those already ``checked``,
    with their concurrency); a problem is one line on stderr and exit status 2, Ctrl-C status 130."""
    args, concurrency = checked or checked_arguments(argv, ROOT)
    try:
        return run(args, concurrency)
    except GlorotError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, once the runs have stopped at their checkpoints (glorot.pipeline.stopping)
        print("glorot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(checked=(ARGS, CONCURRENCY)))
