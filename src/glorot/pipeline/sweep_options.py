"""The options of a sweep, as ``glorot sweep`` and ``python flows/sweep.py`` both take them, and
their checks against the project (the study in ``params.yaml``, its prepared data, the tracking
server), made before torch, Prefect or MLflow load: ``--help`` and a bad option answer in well
under a second, not after the ten that those imports take. The sweep itself, which needs them,
is :mod:`glorot.pipeline.sweep` scheduled by ``flows/sweep.py``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from glorot.data.defaults import prepare_command
from glorot.errors import GlorotError
from glorot.pipeline.orchestration import TRAIN_FLOW, check_parallelism, fan_out

#: The training deployment of ``prefect.yaml``, what ``--deployment`` usually names (docs/scale.md).
TRAIN_DEPLOYMENT = f"{TRAIN_FLOW}/train-config"

DESCRIPTION = (
    "Sweep a study of params.yaml: train each of its configurations (network, data set, depth, width, "
    "learning rate of the grid, seed) with Prefect scheduling the work, and record the sweep in MLflow "
    "(a parent run, a child run per configuration). A configuration already finished in the sweep is "
    "not trained again. `dvc repro` runs this for params.yaml's own study; run it for any other study, "
    "then `glorot summary --study NAME` and `glorot report --study NAME`. `python flows/sweep.py` takes "
    "the same options (it is Prefect's entry point). With no PREFECT_API_URL, Prefect runs on a "
    "temporary local server.")

EPILOG = (f"examples:\n  glorot sweep --study depth\n"
          f"  glorot sweep --study table1 --deployment {TRAIN_DEPLOYMENT}   (workers of a pool: docs/scale.md)")


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """The one definition of a sweep's options."""
    parser.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    parser.add_argument("--params", default="params.yaml", help="parameters file, relative to the project")
    parser.add_argument("--concurrency", type=int,
                        help="groups of configurations in flight at once: trained here, or (--deployment) flow runs "
                             "on the pool, so give its slots (default: this machine's cores)")
    parser.add_argument("--threads", type=int,
                        help="torch threads of each group, also of a deployment's flow runs (default: cores // "
                             "concurrency; locally, threads x concurrency may not exceed the cores)")
    parser.add_argument("--deployment", help=f"fan out to this deployment's work pool, e.g. {TRAIN_DEPLOYMENT}")
    parser.add_argument("--summary", help="summary JSON path, with runs.json (numbers only) beside it "
                                          "(default: results/<study>/summary.json)")
    parser.add_argument("--fresh", action="store_true", help="start a new sweep instead of continuing this one")
    parser.add_argument("--wait", action="store_true",
                        help="if a sweep of the study is running, wait for it instead of refusing")


def require_data(root: str | Path, data_dir: str, datasets: Sequence[str]) -> None:
    """Fail before any training if a prepared data set of the study is missing."""
    for dataset in datasets:
        folder = Path(root) / data_dir / dataset
        if not folder.is_dir():
            raise GlorotError(f"missing prepared data {folder}: run `{prepare_command(dataset)}` (or `dvc pull`)")


def check_sweep(args: argparse.Namespace, root: str | Path) -> int:
    """One line for what would stop the sweep of ``args`` (options of :func:`add_sweep_options`)
    before it starts: a bad concurrency or thread count, a parameters file (relative to
    ``root``) or study that does not validate (with ``--deployment``, not against this machine:
    the workers train), a missing prepared data set (not with ``--deployment``: the workers'
    data count), a tracking server that does not answer.
    Returns the sweep's concurrency (:func:`~glorot.pipeline.orchestration.fan_out`)."""
    from glorot.pipeline.store import check_reachable, resolve_uri  # here, not above: `glorot --help` only
    from glorot.pipeline.study import load_params  # builds the options

    concurrency = fan_out(args.concurrency)
    check_parallelism(concurrency, args.threads, remote=bool(args.deployment))
    params = load_params(args.params, root)
    study = params.get_study(args.study, check_machine=not args.deployment)
    if not args.deployment:  # the workers hold and check the data (docs/scale.md)
        require_data(root, params.data_dir, study.datasets)
    check_reachable(resolve_uri(params.tracking_uri, root))
    return concurrency


def checked_arguments(argv: Sequence[str] | None, root: str | Path) -> tuple[argparse.Namespace, int]:
    """``python flows/sweep.py``'s arguments, parsed and checked (:func:`check_sweep`), with the
    concurrency: ``--help`` exits 0, and a bad option exits 2 with one line on stderr."""
    parser = argparse.ArgumentParser(description=textwrap.fill(DESCRIPTION, 79), epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sweep_options(parser)
    args = parser.parse_args(argv)
    try:
        return args, check_sweep(args, root)
    except GlorotError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
