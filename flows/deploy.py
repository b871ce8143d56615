"""Declare the project's Prefect deployments on work pools (no Docker: ``build=False, push=False``).

    python flows/deploy.py --pool glorot [--orchestration-pool glorot-sweeps] [--cron "0 2 * * *"]
                           [--timezone UTC] [--study quick] [--threads N] [--source PATH_OR_GIT_URL]

Two deployments, on two pools, so that a sweep waiting for its configurations never holds a
slot that training needs (a GPU worker with ``--limit 1``):

* ``glorot-train-config/train-config`` on ``--pool``: one group of configurations per flow
  run, what ``python flows/sweep.py --deployment glorot-train-config/train-config`` fans out to;
* ``glorot-sweep/nightly`` on ``--orchestration-pool`` (default ``<pool>-sweeps``): the sweep
  of ``--study`` on a cron schedule (default every day at 02:00 in ``--timezone``, default
  UTC), itself fanning out to ``train-config``. Each scheduled run is a new sweep (a new MLflow
  parent run; retrying that flow run continues it) and ends by building the study's report.
  At most one runs at a time: a night due while the last still runs waits for it.

Workers of the pools run the flows from ``--source``: a folder that every worker sees at
the same path (default: this project), or a git URL that each worker clones. ``prefect.yaml``
declares the same deployments for ``prefect deploy --all``, with pull steps that clone the
code and ``dvc pull`` the data on the worker. Missing pools are created (type ``process``),
as ``prefect work-pool create NAME --type process`` would. The Prefect API is the one of
``PREFECT_API_URL`` (or of the active profile); docs/scale.md walks through the whole set-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
TRAIN_FLOW, TRAIN_NAME = "glorot-train-config", "train-config"
SWEEP_FLOW, SWEEP_NAME = "glorot-sweep", "nightly"
ENTRYPOINT = "flows/sweep.py"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_POOL, DEFAULT_STUDY, DEFAULT_TIMEZONE = "glorot", "quick", "UTC"
#: At most one nightly sweep at a time; a run due while one is running waits for it (ENQUEUE).
NIGHTLY_CONCURRENCY = {"limit": 1, "collision_strategy": "ENQUEUE"}
TRAIN_DESCRIPTION = ("A group of configurations of a study (one batched model, or one alone): each trained and "
                     "recorded as an MLflow child run.")


class DeployError(Exception):
    """A problem worth one line on stderr and exit status 2."""


def _is_local(source: str) -> bool:
    parsed = urlparse(source)
    return not source.endswith(".git") and parsed.scheme in ("", "file", "local")


def check_source(source: str, study: str) -> str:
    """A local source must hold the flows and a params.yaml with ``study``; returns the source to deploy."""
    if not _is_local(source):
        return source
    path = Path(source.split("://", 1)[-1]).expanduser().resolve()
    if not (path / ENTRYPOINT).is_file():
        raise DeployError(f"invalid source: {path} has no {ENTRYPOINT}")
    from glorot.errors import GlorotError
    from glorot.pipeline.study import load_params

    try:
        load_params(path / "params.yaml").get_study(study)
    except GlorotError as e:
        raise DeployError(f"invalid study: {e}") from None
    return str(path)


def orchestration_pool_of(pool: str) -> str:
    """The default pool of the nightly sweep, beside the training pool ``pool``."""
    return f"{pool}-sweeps"


def declared(pool: str = DEFAULT_POOL, orchestration_pool: str | None = None, study: str = DEFAULT_STUDY,
             cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE, threads: int | None = None) -> list[dict]:
    """Both deployments as ``prefect.yaml`` writes them (name, flow, entrypoint, work pool,
    parameters, schedules, concurrency limit); :func:`deploy` creates them, and the repository's
    ``prefect.yaml`` must declare the same with the defaults (a test checks it)."""
    nightly = {"study": study, "deployment": f"{TRAIN_FLOW}/{TRAIN_NAME}", "new_sweep_per_run": True, "report": True}
    if threads is not None:
        nightly["threads"] = threads
    return [
        {"name": TRAIN_NAME, "flow": TRAIN_FLOW, "entrypoint": f"{ENTRYPOINT}:train_config", "tags": ["glorot"],
         "description": TRAIN_DESCRIPTION, "work_pool": {"name": pool}, "parameters": {}},
        {"name": SWEEP_NAME, "flow": SWEEP_FLOW, "entrypoint": f"{ENTRYPOINT}:sweep", "tags": ["glorot"],
         "description": "A study's sweep, fanned out to glorot-train-config/train-config, one new sweep per "
                        "scheduled run, its report built at the end.",
         "work_pool": {"name": orchestration_pool or orchestration_pool_of(pool)}, "parameters": nightly,
         "schedules": [{"cron": cron, "timezone": timezone}], "concurrency_limit": dict(NIGHTLY_CONCURRENCY)},
    ]


def check_schedule(cron: str, timezone: str) -> None:
    """One line for a cron expression or a time zone that Prefect's scheduler would not take."""
    from prefect.client.schemas.schedules import CronSchedule, is_valid_timezone

    try:
        CronSchedule(cron=cron)
    except ValueError:
        raise DeployError(f"invalid cron: {cron!r} is not a cron expression such as {DEFAULT_CRON!r}") from None
    if not is_valid_timezone(timezone):
        raise DeployError(f"invalid timezone: {timezone!r} is not an IANA time zone such as 'UTC' or "
                          f"'Europe/Paris'")


def check_api(pools: list[str]) -> None:
    """Fail in one line unless a Prefect server answers; create the missing ``process`` pools."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import get_current_settings
    from prefect.workers.process import ProcessWorker

    url = get_current_settings().api.url
    if not url:
        raise DeployError("no Prefect server configured: start one with `prefect server start` and set "
                          "PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)")
    try:  # fail fast on a refused connection: the client would retry for a while first
        urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=10).close()
    except urllib.error.HTTPError:
        pass  # answered (an auth proxy, Prefect Cloud, ...): the client's check below decides
    except (urllib.error.URLError, OSError) as e:
        raise DeployError(f"cannot reach the Prefect API at {url}: {getattr(e, 'reason', e)}") from None
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
        if error is not None:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DeployError(f"cannot reach the Prefect API at {url}: {reason}")
        for pool in pools:
            try:
                found = client.read_work_pool(pool)
                print(f"work pool {pool!r} (type {found.type}) found")
            except ObjectNotFound:
                client.create_work_pool(WorkPoolCreate(
                    name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
                print(f"work pool {pool!r} (type process) created")


def deploy(source: str, specs: list[dict]) -> list[str]:
    """Create or update the deployments ``specs`` (:func:`declared`) from ``source``; returns
    their ``flow/deployment`` names."""
    from prefect import flow
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron

    for spec in specs:
        limit = spec.get("concurrency_limit")
        flow.from_source(source=source, entrypoint=spec["entrypoint"]).deploy(
            name=spec["name"], work_pool_name=spec["work_pool"]["name"], build=False, push=False,
            print_next_steps=False, ignore_warnings=True, tags=spec["tags"], description=spec["description"],
            parameters=spec["parameters"], schedules=[Cron(s["cron"], timezone=s["timezone"])
                                                      for s in spec.get("schedules", [])],
            concurrency_limit=ConcurrencyLimitConfig(**limit) if limit else None)
    return [f"{spec['flow']}/{spec['name']}" for spec in specs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=textwrap.fill(
            f"Declare the project's Prefect deployments: {TRAIN_FLOW}/{TRAIN_NAME} on the training pool, which "
            f"trains a group of configurations per flow run (what `python flows/sweep.py --deployment "
            f"{TRAIN_FLOW}/{TRAIN_NAME}` fans out to), and {SWEEP_FLOW}/{SWEEP_NAME} on the orchestration pool, "
            f"which runs a new sweep of a study on a cron schedule, at most one at a time, and builds its report. "
            f"Prefect workers then run them (`prefect worker start --pool NAME`); the Prefect API is the one of "
            f"PREFECT_API_URL. docs/scale.md walks through the whole set-up.", 79),
        epilog=f"example:\n  python flows/deploy.py --pool glorot --study quick --cron {DEFAULT_CRON!r} "
               f"--timezone Europe/Paris",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default=DEFAULT_POOL,
                        help=f"work pool that trains, {TRAIN_FLOW}/{TRAIN_NAME}'s (created as `process` if "
                             f"missing; default: {DEFAULT_POOL})")
    parser.add_argument("--orchestration-pool",
                        help=f"work pool of {SWEEP_FLOW}/{SWEEP_NAME}, which only waits for the training runs "
                             f"(default: <pool>-sweeps)")
    parser.add_argument("--cron", default=DEFAULT_CRON,
                        help=f"schedule of {SWEEP_FLOW}/{SWEEP_NAME} (default: {DEFAULT_CRON!r})")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE,
                        help="IANA time zone of --cron, e.g. Europe/Paris (default: UTC)")
    parser.add_argument("--study", default=DEFAULT_STUDY,
                        help=f"study of params.yaml that the nightly sweep runs (default: {DEFAULT_STUDY})")
    parser.add_argument("--threads", type=int,
                        help="torch threads of each training flow run of the nightly (default: the orchestration "
                             "worker's cores // its sweep's concurrency); set it to a training worker's cores "
                             "// its --limit")
    parser.add_argument("--source", default=str(ROOT),
                        help="project folder every worker sees, or a git URL (default: this project)")
    args = parser.parse_args(argv)
    orchestration = args.orchestration_pool or orchestration_pool_of(args.pool)
    try:
        check_schedule(args.cron, args.timezone)
        if args.threads is not None and args.threads < 1:
            raise DeployError(f"invalid threads: must be >= 1 (got {args.threads})")
        if orchestration == args.pool:
            raise DeployError(f"invalid orchestration pool: {orchestration!r} is the training pool; the nightly "
                              f"sweep would hold a slot its training runs need")
        source = check_source(args.source, args.study)
        check_api([args.pool, orchestration])
        names = deploy(source, declared(args.pool, orchestration, args.study, args.cron, args.timezone, args.threads))
    except DeployError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the API going away mid-way, a git source that cannot be cloned, ...
        first = str(e).splitlines()[0] if str(e) else ""
        print(f"glorot: error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
    for name, pool in zip(names, (args.pool, orchestration)):
        print(f"deployed {name} on pool {pool!r} from {source}")
    print(f"schedule of {names[1]}: {args.cron!r} ({args.timezone}), study {args.study!r}, one run at a time")
    print(f"start workers: prefect worker start --pool {args.pool}   and   prefect worker start --pool {orchestration}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
