"""``glorot report --study NAME``: rebuild the paper's table and figures from MLflow."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from glorot.pipeline.study import load_params

    params = load_params(args.params)
    study = params.get_study(args.study, check_machine=False)  # reads results: need not train here
    from glorot.pipeline.store import resolve_uri  # MLflow, scipy, matplotlib: after the checks, which need none
    from glorot.pipeline.summary import first_sweep_command
    from glorot.report.build import build_report
    from glorot.report.collect import open_study

    root = args.params.parent
    uri = resolve_uri(params.tracking_uri, root)
    source = open_study(uri, study.name, root, args.parent,
                        first_sweep=first_sweep_command(study.name, params.study, args.params))
    out = args.out if args.out is not None else root / "reports" / study.name
    result = build_report(source, study.name, out, uri, data_dir=root / params.data_dir,
                          log_to_mlflow=not args.no_log, progress=lambda line: print(line, flush=True))
    counts: dict[str, int] = {}
    for v in result.verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    print("verdicts: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    print(f"wrote {out / 'report.html'} and {out / 'report.md'}")
    return 0


def add_report_command(report: argparse.ArgumentParser) -> None:
    """Fill in the parser of ``glorot report``."""
    report.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    report.add_argument("--params", type=Path, default=Path("params.yaml"),
                        help="parameters file (default: %(default)s)")
    report.add_argument("--out", type=Path, help="output folder (default: reports/<study> beside params.yaml)")
    report.add_argument("--parent", help="the sweep's parent run id (default: the study's latest sweep)")
    report.add_argument("--no-log", action="store_true", help="do not attach the report to the sweep's MLflow run")
    report.set_defaults(func=cmd_report)
