"""The ``glorot`` command: thin argument parsing over the library.

Every user mistake (bad value, missing file, unreachable server) ends with one line
``glorot: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from glorot.config import TrainConfig, build_config
from glorot.data.commands import add_data_commands
from glorot.errors import GlorotError
from glorot.report.commands import add_report_command

#: TrainConfig fields exposed as typed ``glorot train`` flags (``--device`` has choices of its own).
TRAIN_FLAGS = tuple(name for name in TrainConfig.model_fields if name != "device")
DIAGNOSE_FLAGS = ("activation", "init", "depth", "width", "seed", "cost", "probe_size", "jac_examples")


def _add_config_flags(parser: argparse.ArgumentParser, fields) -> None:
    """One flag per configuration field, taken as text: :func:`_flag_value` turns it into a
    number and :func:`build_config` checks it, so that a bad value is a one-line error naming the field."""
    for name in fields:
        field = TrainConfig.model_fields[name]
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=field.default,
                            help=f"{field.description or name} (default: {field.default})")


def _flag_value(name: str, value):
    """A flag's text as its field's type (``"5"`` -> 5 for an int field, ``"0.01"`` -> 0.01 for a
    float one); text that is no such number stays text, which the strict field then refuses
    (``invalid depth: Input should be a valid integer (got 'abc')``). Defaults pass unchanged."""
    kind = TrainConfig.model_fields[name].annotation
    if isinstance(value, str) and kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            return value
    return value


def _config_from(args: argparse.Namespace, fields) -> TrainConfig:
    return build_config(**{name: _flag_value(name, getattr(args, name)) for name in fields})


def _print_curve(curve: list[dict]) -> None:
    print(f"{'update':>9} {'train nll':>10} {'valid err':>10} {'test err':>9}")
    for p in curve:
        nll = "" if math.isnan(p["train/nll"]) else f"{p['train/nll']:.4f}"
        print(f"{p['update']:>9} {nll:>10} {p['valid/error']:>10.4f} {p['test/error']:>9.4f}")


def _checkpointer(args: argparse.Namespace, config: TrainConfig, data_version: str):
    """The run's checkpointer with ``--checkpoint-dir``: its checkpoints belong to this code and
    these data, so one made on other data (``--data-dir``) or by other code is set aside, with
    one line, and the run starts from update 0."""
    if not args.checkpoint_dir:
        return None
    from glorot.engine import Checkpointer
    from glorot.pipeline.provenance import code_hash

    checkpointer = Checkpointer(args.checkpoint_dir, args.checkpoint_every or config.eval_every,
                                owner={"code": code_hash(), "data": data_version})
    if checkpointer.load(config) is not None:  # one that is not this run's is set aside here
        print(f"resuming from {checkpointer.path}")
    return checkpointer


def cmd_train(args: argparse.Namespace) -> int:
    from glorot.data.sources import load_data
    from glorot.engine import NullLogger, select_lr, train
    from glorot.pipeline.progress import ProgressLogger, print_progress
    from glorot.pipeline.rundir import save_run

    config = _config_from(args, TRAIN_FLAGS + ("device",))
    grid = [build_config(**dict(config.model_dump(), lr=_flag_value("lr", lr))).lr  # each lr checked here
            for lr in args.lr_grid or ()]
    data = load_data(config, args.data_dir)
    if grid:
        selection = select_lr(config, grid, data)
        for lr, r in selection.results.items():
            print(f"lr {lr:g}: {r.status}, valid error {r.valid_error:.4f}")
        if selection.best_lr is None:
            raise GlorotError(f"every learning rate in {grid} diverged")
        print(f"chosen lr {selection.best_lr:g} (lowest validation error)")
        config = config.model_copy(update={"lr": selection.best_lr})
    checkpointer = _checkpointer(args, config, data.version)
    logger = None if args.quiet else ProgressLogger(NullLogger(), config, print_progress)  # a line per evaluation
    net, result = train(config, data, logger, progress=False, checkpointer=checkpointer)
    _print_curve(result.curve)
    if result.status == "diverged":
        print(f"status: diverged at update {result.diverged_at}")
    print(f"{config.paper_cell}: valid error {result.valid_error:.4f}, test error {result.test_error:.4f}, "
          f"{result.updates} updates in {result.seconds:.1f}s")
    if args.out:
        print(f"wrote {save_run(args.out, config, result, net, data.version)}")
    if checkpointer:
        checkpointer.clear()
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from glorot.data.sources import load_data
    from glorot.paper.probes import probe
    from glorot.engine import build_net

    fields = {k: _flag_value(k, getattr(args, k)) for k in DIAGNOSE_FLAGS}
    config = build_config(**fields, valid_size=1, test_size=fields["probe_size"], device="cpu")
    data = load_data(config, args.data_dir)
    net = build_net(config, data)
    record = probe(net, data.test.x, data.test.y, 0, config.cost, config.jac_examples)
    if args.json:
        print(json.dumps({"config": config.model_dump(), "update": 0, "layers": record.layers}, indent=2))
    else:
        print(f"{'layer':>5} " + " ".join(f"{k:>12}" for k in record.layers[0]))
        for i, layer in enumerate(record.layers, 1):
            print(f"{i:>5} " + " ".join(f"{v:>12.5g}" for v in layer.values()))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from glorot.pipeline.summary import format_rows, sweep_rows
    from glorot.pipeline.study import load_params
    from glorot.pipeline.tracking import Tracker, resolve_uri

    params = load_params(args.params)
    study = params.get_study(args.study, check_machine=False)  # reads results: need not train here
    uri = resolve_uri(params.tracking_uri, args.params.parent)
    tracker = Tracker(uri, study.name, args.params.parent)
    parent = tracker.latest_parent()
    if parent is None:
        raise GlorotError(f"study {study.name!r} has no sweep in {uri} yet: run `dvc repro` first")
    print(f"study {study.name}: latest sweep (MLflow run {parent}) in {uri}")
    print(format_rows(sweep_rows(tracker, parent)))
    print(f"open the MLflow UI: glorot ui   (or: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import subprocess

    from glorot.pipeline.links import runs_url
    from glorot.pipeline.study import load_params
    from glorot.pipeline.tracking import Tracker, resolve_uri

    root = args.params.parent
    params = load_params(args.params)
    uri = resolve_uri(params.tracking_uri, root)
    tracker = Tracker(uri, params.get_study(args.study, check_machine=False).name, root)
    served = uri.startswith(("http://", "https://"))
    url = runs_url(uri if served else f"http://{args.host}:{args.port}", tracker.experiment_id, tracker.latest_parent())
    if served:
        print(f"the tracking store is a server: open {url} in a browser (the training runs of study "
              f"{tracker.study}'s latest sweep)")
        return 0
    print(f"MLflow UI on http://{args.host}:{args.port} for {uri} (Ctrl-C stops it)\n"
          f"training runs of study {tracker.study}'s latest sweep: {url}", flush=True)
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", args.host,
           "--port", str(args.port), "--artifacts-destination", str((root / "mlartifacts").resolve())]
    return subprocess.call(cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glorot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one network with plain SGD and write its run folder")
    _add_config_flags(train, TRAIN_FLAGS)
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train.add_argument("--lr-grid", nargs="+", help="choose lr over these by validation error")
    train.add_argument("--data-dir", type=Path, help="folder with prepared splits (default: generate)")
    train.add_argument("--out", type=Path, help="run folder to write (curve, diagnostics, model)")
    train.add_argument("--checkpoint-dir", type=Path, help="save (and resume from) checkpoints in this folder")
    train.add_argument("--checkpoint-every", type=int, help="updates between checkpoints (default: --eval-every)")
    train.add_argument("--quiet", action="store_true", help="no progress lines (one per evaluation)")
    train.set_defaults(func=cmd_train)

    diag = sub.add_parser("diagnose", help="the paper's diagnostics of a freshly initialised net")
    _add_config_flags(diag, DIAGNOSE_FLAGS)
    diag.add_argument("--data-dir", type=Path, help="folder with prepared splits (default: generate)")
    diag.add_argument("--json", action="store_true", help="print JSON instead of a table")
    diag.set_defaults(func=cmd_diagnose)

    summary = sub.add_parser("summary", help="the latest sweep of a study, next to the paper's Table 1")
    summary.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    summary.add_argument("--params", type=Path, default=Path("params.yaml"))
    summary.set_defaults(func=cmd_summary)

    ui = sub.add_parser("ui", help="open the MLflow UI on the project's tracking store")
    ui.add_argument("--params", type=Path, default=Path("params.yaml"))
    ui.add_argument("--study", help="study whose latest sweep to link to (default: params.yaml's `study` field)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    ui.set_defaults(func=cmd_ui)

    add_report_command(sub)
    add_data_commands(sub.add_parser("data", help="prepare data sets (the paper's Section 2.1-2.2)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GlorotError as e:
        print(f"glorot: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("glorot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
