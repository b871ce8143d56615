"""``glorot archive export|import``: a study's sweep carried between tracking stores as one file
(:mod:`glorot.pipeline.archive`). Building the parser imports no MLflow; the command checks its
study against ``params.yaml`` before the store opens."""

from __future__ import annotations

import argparse
from pathlib import Path

SUMMARY = "carry a study's sweep to another tracking store (export, import)"
DESCRIPTION = (
    "Carry a study's sweep between MLflow stores as one file: `export` writes the latest sweep's parent run and "
    "finished runs (params, tags, metric histories, the artifacts the report reads; no models) to a .tar.xz; "
    "`import` puts them into this project's store under the sweep's key, so that `glorot sweep` continues the "
    "sweep there and `glorot report` and `glorot results` read it. For sweeps longer than a machine is kept.")
EPILOG = ("examples:\n  glorot archive export --study mnist        writes docs/results/mnist-sweep.tar.xz\n"
          "  glorot archive import docs/results/mnist-sweep.tar.xz && glorot sweep --study mnist")


def cmd_archive(args: argparse.Namespace) -> int:
    from glorot.pipeline.study import load_params

    params = load_params(args.params)
    root = args.params.parent
    name = params.get_study(args.study, check_machine=False).name if args.action == "export" else None
    from glorot.pipeline.archive import export_sweep, import_sweep, read_archive  # MLflow: after the checks
    from glorot.pipeline.progress import hush_tracking_setup
    from glorot.pipeline.tracking import Tracker, resolve_uri

    hush_tracking_setup()  # a new store's set-up lines ("Creating initial MLflow database tables...")

    uri = resolve_uri(params.tracking_uri, root)
    if name is not None:
        path = args.path or root / "docs" / "results" / f"{name}-sweep.tar.xz"
        moved = export_sweep(Tracker(uri, name, root), path)
        print(f"wrote {path}: study {moved.study}, sweep {moved.parent_id} of {uri}, {moved.runs} finished run(s)")
        return 0
    study = params.get_study(read_archive(args.path)[0]["study"], check_machine=False).name  # one params.yaml knows
    moved = import_sweep(Tracker(uri, study, root), args.path)
    print(f"imported {moved.runs} run(s) of study {study} into sweep {moved.parent_id} of {uri}"
          + (f"; {moved.skipped} already finished there, left as they were" if moved.skipped else "")
          + f"; `glorot sweep --study {study}` continues it")
    return 0


def add_archive_command(archive: argparse.ArgumentParser) -> None:
    """Fill in the parser of ``glorot archive`` and its two actions."""
    actions = archive.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write a study's latest sweep to an archive")
    export.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    export.add_argument("--out", dest="path", type=Path, help="default: docs/results/<study>-sweep.tar.xz")
    load = actions.add_parser("import", help="put an archive's runs into this project's tracking store")
    load.add_argument("path", type=Path, help="the archive, e.g. docs/results/mnist-sweep.tar.xz")
    load.set_defaults(study=None)
    for parser in (export, load):
        parser.add_argument("--params", type=Path, default=Path("params.yaml"),
                            help="parameters file (default: %(default)s)")
    archive.set_defaults(func=cmd_archive)
