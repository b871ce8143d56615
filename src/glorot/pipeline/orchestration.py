"""The policy of a sweep's scheduling, whatever schedules it: how many groups run at once, which
failures are worth trying again and how often, names of flow runs and artifacts, the progress
line, the report built at the end. Plain values and functions: ``flows/`` wires Prefect to them
(this package never imports Prefect)."""

from __future__ import annotations

import datetime
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

from glorot.errors import GlorotError

#: The flows' names, as deployments are named ``<flow>/<deployment>``.
TRAIN_FLOW, SWEEP_FLOW = "glorot-train-config", "glorot-sweep"
#: A group's task is tried again this many times within its flow run (transient failures only).
TASK_RETRIES = 2
#: A crashed flow run of a training deployment is submitted again this many times.
FLOW_RUN_RETRIES = 1
RETRY_DELAY_S = 10
#: How often a sweep reads the state of a training flow run it waits for, in seconds.
FLOW_RUN_POLL_S = 2.0
#: How long a stopped sweep waits for the training flow runs it cancelled to end, in seconds (a
#: process worker gives a cancelled flow run's process 30 s after SIGTERM before it kills it).
CANCEL_WAIT_S = 120.0


class FlowRunCrashed(RuntimeError):
    """A deployment's flow run ended CRASHED: its process died (a retry resumes from the checkpoints)."""


def worth_retrying(error: object) -> bool:
    """Whether trying a failed group again can fix ``error``: a crashed flow run, or what
    :func:`glorot.pipeline.runs.retryable` calls transient; not a bad configuration or bad data."""
    from glorot.pipeline.runs import retryable  # here, not above: a sweep's options are checked without torch

    return isinstance(error, FlowRunCrashed) or (isinstance(error, BaseException) and retryable(error))


def fan_out(concurrency: int | None) -> int:
    """How many groups a sweep has in flight at once: ``concurrency`` (on a deployment: the
    training pool's slots, which the sweep cannot see), by default this machine's cores. One
    below 1 is returned as it is, for :func:`check_parallelism` to refuse."""
    return (os.cpu_count() or 1) if concurrency is None else concurrency


def check_parallelism(concurrency: int, threads: int | None, remote: bool) -> None:
    """One line for a bad concurrency or thread count: below 1, or (trained here) more threads
    in all than this machine has cores."""
    if concurrency < 1:
        raise GlorotError(f"invalid concurrency: must be >= 1 (got {concurrency})")
    if threads is not None and threads < 1:
        raise GlorotError(f"invalid threads: must be >= 1 (got {threads})")
    cores = os.cpu_count() or 1
    if threads and not remote and threads * concurrency > cores:
        raise GlorotError(f"invalid threads: {threads} threads x {concurrency} groups at once exceeds this "
                          f"machine's {cores} cores; lower --threads or --concurrency")


class OneLineUserErrors(logging.Filter):
    """A log record whose exception is a :class:`GlorotError` (a user's error: a bad configuration,
    bad data, a device the machine lacks) becomes one line, its message and the error, without
    the traceback that a logger adds to what it calls unexpected; other records pass unchanged.
    ``flows/`` adds it to the loggers of Prefect's engine, so that a worker's log says such an
    error in one line (docs/scale.md, step 5)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, GlorotError):
            record.msg, record.args = f"{record.getMessage()}: {error}", ()
            record.exc_info = record.exc_text = None
        return True


def artifact_key(*parts: str) -> str:
    """An artifact key (lowercase letters, digits, dashes): ``glorot-<parts...>``, e.g. the
    study, a configuration's label and the artifact's kind."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", "-".join(("glorot", *parts)).lower())).strip("-")


def sweep_run_name(study: str | None, due: datetime.datetime | None, run_id: str) -> str:
    """A sweep's flow-run name: its study, when it was due and the end of its run id, which
    tells apart two runs due in the same minute, e.g. ``quick 2025-01-31 02:00 UTC 8f3a21c0``."""
    when = (due or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return f"{study or 'default study'} {when:%Y-%m-%d %H:%M} UTC {run_id.replace('-', '')[-8:]}"


def train_run_name(study: str, label: str, run_id: str | None = None) -> str:
    """The flow-run name of a group that a deployment trains: its study and label, and once it
    runs (``run_id``, its own flow-run id) the end of that id, as a sweep's name ends
    (:func:`sweep_run_name`), so that the groups of two sweeps (two nights) are told apart, e.g.
    ``quick: Tanh / Shapeset-3x2 d5 w500 lr=0.05 s0 [3c9e02b7]``; without, the name it waits under."""
    return f"{study}: {label}" + (f" [{run_id.replace('-', '')[-8:]}]" if run_id else "")


def unfinished(name: str, deployment: str, state: str, message: str | None) -> str:
    """The one line of a training flow run that ended neither completed nor crashed."""
    return f"flow run {name} of {deployment} ended {state}" + (f": {message}" if message else "")


def done_line(done: int, total: int, failed: int) -> str:
    """How far a sweep is, e.g. ``3/5 configurations done (1 failed)``."""
    return f"{done}/{total} configurations done" + (f" ({failed} failed)" if failed else "")


def build_report(study: str, params_file: str, root: str, parent_id: str, log: Callable[[str], None]) -> str:
    """Build the report of the sweep ``parent_id`` into ``<root>/reports/<study>`` and attach it to
    the sweep's MLflow run, as ``glorot report`` (DVC's report stage) does, in a process of its
    own: the sweep's code does not import the report's, so an edit to the report never retrains
    (the sweep stage's DVC dependencies). Logs its output; returns the report's folder."""
    out = Path(root) / "reports" / study
    done = subprocess.run([sys.executable, "-m", "glorot.cli", "report", "--study", study, "--params", params_file,
                           "--parent", parent_id, "--out", str(out)], cwd=root, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        log(line)
    if done.returncode:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise GlorotError(f"report of study {study} failed: {lines[-1]}")
    return str(out)
