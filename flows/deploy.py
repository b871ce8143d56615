"""Create the project's Prefect deployments, as ``prefect.yaml`` declares them, on work pools
(no Docker: ``build=False, push=False``).

    python flows/deploy.py [--pool glorot] [--nightly-pool POOL] [--orchestration-pool glorot-sweeps]
                           [--cron "0 2 * * *"] [--timezone UTC] [--study quick] [--concurrency N]
                           [--threads N] [--source PATH_OR_GIT_URL]

``prefect.yaml`` is the one declaration (names, entrypoints, pools, parameters, schedule,
concurrency limit, pull steps): ``prefect deploy --all`` reads it, and so does this script,
whose options change what they name. Two deployments, on two pools, so that a sweep waiting
for its configurations never holds a slot that training needs (a GPU worker with ``--limit 1``):

* ``glorot-train-config/train-config`` on ``--pool``: one group of configurations per flow
  run, what ``python flows/sweep.py --deployment glorot-train-config/train-config`` fans out
  to. On a pool other than ``prefect.yaml``'s it is named ``train-config-<pool>``, so
  deployments on CPU and GPU pools coexist;
* ``glorot-sweep/nightly`` on the orchestration pool: the sweep of a study on a cron schedule,
  fanning out to a training deployment, ``--concurrency`` flow runs in flight. Each scheduled
  run is a new sweep (a new MLflow parent run; retrying that flow run continues it) and ends
  by building the study's report. At most one runs at a time. Its settings are kept as
  deployed unless given (a first deployment takes ``prefect.yaml``'s, fanning out to ``--pool``).

Workers of the pools run the flows from ``--source``: a folder that every worker sees at
the same path (default: this project), or a git URL that each worker clones. Missing pools are
created (type ``process``), as ``prefect work-pool create NAME --type process`` would. The
Prefect API is the one of ``PREFECT_API_URL`` (or of the active profile); docs/scale.md walks
through the whole set-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import yaml  # noqa: E402

from glorot.pipeline.orchestration import SWEEP_FLOW, TRAIN_FLOW  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The one declaration of the deployments: Prefect's own file, which ``prefect deploy --all`` reads too.
PREFECT_YAML = ROOT / "prefect.yaml"
TRAIN_ENTRYPOINT, SWEEP_ENTRYPOINT = "flows/sweep.py:train_config", "flows/sweep.py:sweep"
FLOW_OF = {TRAIN_ENTRYPOINT: TRAIN_FLOW, SWEEP_ENTRYPOINT: SWEEP_FLOW}


class DeployError(Exception):
    """A problem worth one line on stderr and exit status 2."""


def declaration(path: Path = PREFECT_YAML) -> tuple[dict, dict]:
    """The training and the nightly deployments of ``prefect.yaml``, each with its ``flow``."""
    specs = {spec["entrypoint"]: dict(spec, flow=FLOW_OF[spec["entrypoint"]])
             for spec in yaml.safe_load(path.read_text())["deployments"]}
    return specs[TRAIN_ENTRYPOINT], specs[SWEEP_ENTRYPOINT]


TRAIN, NIGHTLY = declaration()
DEFAULT_POOL = TRAIN["work_pool"]["name"]
DEFAULT_CRON, DEFAULT_TIMEZONE = NIGHTLY["schedules"][0]["cron"], NIGHTLY["schedules"][0]["timezone"]
DEFAULT_STUDY = NIGHTLY["parameters"]["study"]


def _is_local(source: str) -> bool:
    parsed = urlparse(source)
    return not source.endswith(".git") and parsed.scheme in ("", "file", "local")


def check_source(source: str, study: str) -> str:
    """A local source must hold the flows and a params.yaml with ``study``; returns the source to deploy."""
    if not _is_local(source):
        return source
    path = Path(source.split("://", 1)[-1]).expanduser().resolve()
    flows = TRAIN_ENTRYPOINT.split(":")[0]
    if not (path / flows).is_file():
        raise DeployError(f"invalid source: {path} has no {flows}")
    from glorot.errors import GlorotError
    from glorot.pipeline.study import load_params

    try:
        load_params(path / "params.yaml").get_study(study)
    except GlorotError as e:
        raise DeployError(f"invalid study: {e}") from None
    return str(path)


def train_spec(pool: str, train: dict = TRAIN) -> dict:
    """The training deployment on ``pool``: ``prefect.yaml``'s on its own pool, named
    ``<name>-<pool>`` on any other, so that deployments on CPU and GPU pools coexist."""
    name = train["name"] if pool == train["work_pool"]["name"] else f"{train['name']}-{pool}"
    return dict(train, name=name, work_pool={"name": pool})


def nightly_spec(current: dict, pool: str | None = None, training: str | None = None, cron: str | None = None,
                 timezone: str | None = None, **parameters) -> dict:
    """The nightly deployment ``current`` (as deployed, or ``prefect.yaml``'s) with what is given
    changed and the rest kept: its orchestration ``pool``, the ``training`` deployment it fans
    out to, its schedule, and its parameters (``study``, ``threads``, ``concurrency``: how many
    training flow runs it keeps in flight, the training pool's slots)."""
    schedule = dict(current["schedules"][0])
    schedule.update({k: v for k, v in (("cron", cron), ("timezone", timezone)) if v is not None})
    given = {k: v for k, v in dict(parameters, deployment=training).items() if v is not None}
    return dict(current, work_pool={"name": pool or current["work_pool"]["name"]},
                parameters={**current["parameters"], **given}, schedules=[schedule])


def declared(pools: Sequence[str] = (DEFAULT_POOL,), nightly: dict = NIGHTLY) -> list[dict]:
    """The deployments to create (``prefect.yaml``'s form, with ``flow``): the training one on
    each of ``pools`` (:func:`train_spec`), then ``nightly`` (:func:`nightly_spec`). With the
    defaults, exactly ``prefect.yaml``'s."""
    return [train_spec(pool) for pool in dict.fromkeys(pools)] + [nightly]


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


def check_pools(orchestration: str | None, training: set[str]) -> None:
    """One line if the nightly would run on a training pool: it would hold a slot that its
    training runs need (a GPU worker with ``--limit 1``)."""
    if orchestration is not None and orchestration in training:
        raise DeployError(f"invalid orchestration pool: {orchestration!r} is a training pool; the nightly "
                          f"sweep would hold a slot its training runs need")


def check_api() -> None:
    """Fail in one line unless a Prefect server answers."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

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


def deployed_nightly(client) -> dict | None:
    """The nightly as the server holds it (its pool, parameters and cron schedule), in
    ``prefect.yaml``'s form, or ``None`` before it is first deployed."""
    from prefect.exceptions import ObjectNotFound

    try:
        found = client.read_deployment_by_name(f"{NIGHTLY['flow']}/{NIGHTLY['name']}")
    except ObjectNotFound:
        return None
    crons = [{"cron": s.schedule.cron, "timezone": s.schedule.timezone} for s in found.schedules
             if getattr(s.schedule, "cron", None)]
    return dict(NIGHTLY, work_pool={"name": found.work_pool_name}, parameters=dict(found.parameters),
                schedules=crons or NIGHTLY["schedules"])


def ensure_pools(client, pools: list[str]) -> None:
    """Create the missing pools as ``process`` pools (``prefect work-pool create NAME --type process``)."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    for pool in dict.fromkeys(pools):
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


def parse(argv: list[str] | None) -> argparse.Namespace:
    train, nightly = f"{TRAIN['flow']}/{TRAIN['name']}", f"{NIGHTLY['flow']}/{NIGHTLY['name']}"
    parser = argparse.ArgumentParser(
        description=textwrap.fill(
            f"Declare the project's Prefect deployments, as prefect.yaml declares them: {train} on the training "
            f"pool (named {train}-POOL on a pool other than {DEFAULT_POOL!r}, so CPU and GPU pools coexist), which "
            f"trains a group of configurations per flow run (what `python flows/sweep.py --deployment {train}` "
            f"fans out to), and {nightly} on the orchestration pool, which runs a new sweep of a study on a cron "
            f"schedule, at most one at a time, and builds its report. The nightly keeps its settings (pools, "
            f"schedule, study, threads, concurrency, training deployment) unless given. Prefect workers then run "
            f"them (`prefect worker start --pool NAME`); the Prefect API is the one of PREFECT_API_URL. "
            f"docs/scale.md walks through the whole set-up.", 79),
        epilog=f"examples:\n  python flows/deploy.py --pool glorot --study quick --cron {DEFAULT_CRON!r} "
               f"--timezone Europe/Paris\n  python flows/deploy.py --pool glorot-gpu   (adds {train}-glorot-gpu; "
               f"the nightly stays as it is)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default=DEFAULT_POOL,
                        help=f"work pool that trains (created as `process` if missing; default: {DEFAULT_POOL})")
    parser.add_argument("--nightly-pool", help=f"training pool that {nightly} fans out to (default: kept; "
                                               f"for a first deployment, --pool)")
    parser.add_argument("--orchestration-pool", help=f"work pool of {nightly}, which only waits for the training "
                                                     f"runs (default: kept; {NIGHTLY['work_pool']['name']})")
    parser.add_argument("--cron", help=f"schedule of {nightly} (default: kept; {DEFAULT_CRON!r})")
    parser.add_argument("--timezone", help=f"IANA time zone of --cron, e.g. Europe/Paris (default: kept; "
                                           f"{DEFAULT_TIMEZONE})")
    parser.add_argument("--study", help=f"study of params.yaml that the nightly sweep runs (default: kept; "
                                        f"{DEFAULT_STUDY})")
    parser.add_argument("--concurrency", type=int,
                        help="training flow runs the nightly keeps in flight: the training pool's slots, the sum of "
                             "its workers' --limit (default: kept; the orchestration worker's cores)")
    parser.add_argument("--threads", type=int,
                        help="torch threads of each training flow run of the nightly (default: kept; the "
                             "orchestration worker's cores // the concurrency); set it to a training worker's "
                             "cores // its --limit")
    parser.add_argument("--source", default=str(ROOT),
                        help="project folder every worker sees, or a git URL (default: this project)")
    return parser.parse_args(argv)


def check_options(args: argparse.Namespace) -> None:
    """One line for a bad option, before any server is asked."""
    check_schedule(args.cron or DEFAULT_CRON, args.timezone or DEFAULT_TIMEZONE)
    for name in ("threads", "concurrency"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise DeployError(f"invalid {name}: must be >= 1 (got {value})")
    check_pools(args.orchestration_pool, {args.pool, args.nightly_pool})


def plan(args: argparse.Namespace, current: dict | None) -> list[dict]:
    """The deployments that ``args`` ask for, the nightly's settings kept from ``current`` (as
    deployed; ``None``: a first deployment, ``prefect.yaml``'s, fanning out to ``--pool``)."""
    training = args.nightly_pool or (args.pool if current is None else None)
    nightly = nightly_spec(current or NIGHTLY, args.orchestration_pool,
                           training and f"{TRAIN['flow']}/{train_spec(training)['name']}", args.cron, args.timezone,
                           study=args.study, threads=args.threads, concurrency=args.concurrency)
    check_pools(nightly["work_pool"]["name"], {args.pool, training})
    return declared([args.pool] + ([training] if training else []), nightly)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)  # --help answers before Prefect loads
    from prefect.client.orchestration import get_client

    try:
        check_options(args)
        check_api()
        with get_client(sync_client=True) as client:
            specs = plan(args, deployed_nightly(client))
            source = check_source(args.source, specs[-1]["parameters"]["study"])
            ensure_pools(client, [spec["work_pool"]["name"] for spec in specs])
        names = deploy(source, specs)
    except DeployError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the API going away mid-way, a git source that cannot be cloned, ...
        first = str(e).splitlines()[0] if str(e) else ""
        print(f"glorot: error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
    for name, spec in zip(names, specs):
        print(f"deployed {name} on pool {spec['work_pool']['name']!r} from {source}")
    nightly, schedule = specs[-1], specs[-1]["schedules"][0]
    print(f"{names[-1]}: {schedule['cron']!r} ({schedule['timezone']}), study {nightly['parameters']['study']!r}, "
          f"fanning out to {nightly['parameters']['deployment']}, one run at a time")
    print("start workers: " + "   and   ".join(f"prefect worker start --pool {pool}"
                                               for pool in dict.fromkeys(s["work_pool"]["name"] for s in specs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
