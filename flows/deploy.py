"""Declare the project's Prefect deployments on a work pool (no Docker: ``build=False, push=False``).

    python flows/deploy.py --pool glorot [--cron "0 2 * * *"] [--study quick] [--source PATH_OR_GIT_URL]

Two deployments, both on ``--pool``:

* ``glorot-train-config/train-config``: one group of configurations per flow run, what
  ``python flows/sweep.py --deployment glorot-train-config/train-config`` fans out to;
* ``glorot-sweep/nightly``: the sweep of ``--study`` on a cron schedule (default every day
  at 02:00 UTC), itself fanning out to ``train-config``.

Workers of the pool run the flows from ``--source``: a folder that every worker sees at
the same path (default: this project), or a git URL that each worker clones. The pool is
created (type ``process``) when it does not exist, as ``prefect work-pool create NAME
--type process`` would. The Prefect API is the one of ``PREFECT_API_URL`` (or of the
active profile); docs/scale.md walks through the whole set-up.
"""

from __future__ import annotations

import argparse
import textwrap
import os
import sys
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


def check_api(pool: str) -> None:
    """Fail in one line unless a Prefect server answers; create the ``process`` pool if missing."""
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
        try:
            found = client.read_work_pool(pool)
            print(f"work pool {pool!r} (type {found.type}) found")
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
            print(f"work pool {pool!r} (type process) created")


def deploy(pool: str, source: str, cron: str, study: str) -> list[str]:
    """Create or update both deployments; returns their ``flow/deployment`` names."""
    from prefect import flow

    train = flow.from_source(source=source, entrypoint=f"{ENTRYPOINT}:train_config")
    train.deploy(name=TRAIN_NAME, work_pool_name=pool, build=False, push=False, print_next_steps=False,
                 ignore_warnings=True, tags=["glorot"],
                 description="A group of configurations of a study (one batched model, or one alone): each trained and recorded as an MLflow child run.")
    sweep = flow.from_source(source=source, entrypoint=f"{ENTRYPOINT}:sweep")
    sweep.deploy(name=SWEEP_NAME, work_pool_name=pool, build=False, push=False, print_next_steps=False,
                 ignore_warnings=True, tags=["glorot"], cron=cron,
                 parameters={"study": study, "deployment": f"{TRAIN_FLOW}/{TRAIN_NAME}"},
                 description=f"The {study!r} study, fanned out to {TRAIN_FLOW}/{TRAIN_NAME}, on a schedule.")
    return [f"{TRAIN_FLOW}/{TRAIN_NAME}", f"{SWEEP_FLOW}/{SWEEP_NAME}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=textwrap.fill(
            f"Declare the project's Prefect deployments: {TRAIN_FLOW}/{TRAIN_NAME}, which trains a group of "
            f"configurations per flow run (what `python flows/sweep.py --deployment {TRAIN_FLOW}/{TRAIN_NAME}` "
            f"fans out to), and {SWEEP_FLOW}/{SWEEP_NAME}, which sweeps a study on a cron schedule. Prefect "
            f"workers then run them (`prefect worker start --pool NAME`); the Prefect API is the one of "
            f"PREFECT_API_URL. docs/scale.md walks through the whole set-up.", 79),
        epilog=f"example:\n  python flows/deploy.py --pool glorot --study quick --cron {DEFAULT_CRON!r}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", required=True,
                        help="work pool the deployments run on (created as `process` if missing)")
    parser.add_argument("--cron", default=DEFAULT_CRON,
                        help=f"schedule of {SWEEP_FLOW}/{SWEEP_NAME} (default: {DEFAULT_CRON!r}, UTC)")
    parser.add_argument("--study", default="quick",
                        help="study of params.yaml that the nightly sweep runs (default: quick)")
    parser.add_argument("--source", default=str(ROOT),
                        help="project folder every worker sees, or a git URL (default: this project)")
    args = parser.parse_args(argv)
    try:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=args.cron)
        except ValueError:
            raise DeployError(f"invalid cron: {args.cron!r} is not a cron expression "
                              f"such as {DEFAULT_CRON!r}") from None
        source = check_source(args.source, args.study)
        check_api(args.pool)
        names = deploy(args.pool, source, args.cron, args.study)
    except DeployError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the API going away mid-way, a git source that cannot be cloned, ...
        first = str(e).splitlines()[0] if str(e) else ""
        print(f"glorot: error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
    for name in names:
        print(f"deployed {name} on pool {args.pool!r} from {source}")
    print(f"schedule of {names[1]}: {args.cron!r} (UTC), study {args.study!r}")
    print(f"start a worker: prefect worker start --pool {args.pool}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
