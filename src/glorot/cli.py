"""The ``glorot`` command: thin argument parsing over the library.

Every user mistake (bad value, missing file, unreachable server) ends with one line
``glorot: error: ...`` on stderr and exit status 2. Building the parser and ``--help`` import
neither torch, numpy, MLflow nor Prefect: each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path

from glorot.config import TrainConfig, build_config, field_choices
from glorot.data.commands import add_data_commands
from glorot.errors import GlorotError
from glorot.pipeline import archive_command, sweep_options
from glorot.report.commands import add_report_command

#: TrainConfig fields exposed as typed ``glorot train`` flags.
TRAIN_FLAGS = tuple(TrainConfig.model_fields)
DIAGNOSE_FLAGS = ("activation", "init", "depth", "width", "seed", "cost", "probe_size", "jac_examples")

DESCRIPTION = """\
glorot reproduces Glorot & Bengio (2010), "Understanding the difficulty of training deep
feedforward neural networks": sigmoid, tanh and softsign networks, with the standard or the
normalized initialisation, trained with plain SGD on Shapeset-3x2, MNIST, CIFAR-10 and
Small-ImageNet, and the paper's Table 1 and Figures 2-12 rebuilt from the runs. Experiments
are studies of params.yaml; MLflow records them, Prefect schedules them, DVC versions them.

Start in the project folder with `dvc repro`: it prepares Shapeset-3x2, trains the study that
params.yaml selects (`quick`, about 5 minutes on 2 CPU cores) and writes its report to
reports/quick/report.html. Then `glorot summary` prints the results beside the paper's
Table 1 and `glorot ui` opens them in MLflow."""

EPILOG = """\
examples:
  dvc repro                                  data, sweep and report of params.yaml's study
  glorot summary                             the latest sweep beside the paper's Table 1
  glorot sweep --study depth                 sweep another study of params.yaml
  glorot report --study depth                its report (Table 1, figures, verdicts)
  glorot results --study mnist --study shapeset1000   publish them as docs/results.md
  glorot ui                                  the MLflow UI on the project's runs
  glorot train --activation tanh --init normalized --width 500 --updates 20000 --out runs/tanh-n
  glorot diagnose --activation sigmoid --depth 5   the paper's diagnostics at initialisation
  dvc repro data/dvc.yaml:prepare_mnist      prepare MNIST (see `glorot data --help`)

`glorot COMMAND --help` describes each command; README.md and docs/ the whole project."""


def _add_config_flags(parser: argparse.ArgumentParser, fields) -> None:
    """One flag per configuration field, taken as text: :func:`_flag_value` turns it into a
    number and :func:`build_config` checks it, so that a bad value is a one-line error naming the field.
    A field that takes one of a list of names shows them (``{sigmoid,tanh,softsign,relu}``)."""
    for name in fields:
        field, choices = TrainConfig.model_fields[name], field_choices(name)
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=field.default,
                            metavar="{%s}" % ",".join(choices) if choices else None,
                            help=f"{field.description or name.replace('_', ' ')} (default: {field.default})")


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

    every = config.eval_every if args.checkpoint_every is None else args.checkpoint_every
    checkpointer = Checkpointer(args.checkpoint_dir, every,
                                owner={"code": code_hash(), "data": data_version})
    if checkpointer.load(config) is not None:  # one that is not this run's is set aside here
        print(f"resuming from {checkpointer.path}")
    return checkpointer


def cmd_train(args: argparse.Namespace) -> int:
    from glorot.data.sources import load_data
    from glorot.engine import NullLogger, select_lr, train
    from glorot.pipeline.progress import ProgressLogger, print_progress
    from glorot.pipeline.rundir import save_run

    config = _config_from(args, TRAIN_FLAGS)
    if args.checkpoint_every is not None and (args.checkpoint_every < 1 or not args.checkpoint_dir):
        raise GlorotError(f"invalid checkpoint_every: must be >= 1 and needs --checkpoint-dir "
                          f"(got {args.checkpoint_every}{'' if args.checkpoint_dir else ' without --checkpoint-dir'})")
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
    from glorot.pipeline.study import load_params

    params = load_params(args.params)
    study = params.get_study(args.study, check_machine=False)  # reads results: need not train here
    from glorot.pipeline.store import resolve_uri  # numpy and scipy: after the checks, which need neither
    from glorot.pipeline.summary import first_sweep_command
    from glorot.report.sqlite_source import read_sweep
    from glorot.report.summary import summary_text
    from glorot.report.table1 import build_table

    root = args.params.parent
    uri = resolve_uri(params.tracking_uri, root)
    source = read_sweep(uri, study.name, root, first_sweep_command(study.name, params.study, args.params))
    print(f"study {study.name}: Table 1 of the latest sweep (MLflow run {source.parent_id}) in {uri}")
    print(summary_text(build_table(source.runs, source.correctness), source.runs, every_run=args.all))
    print(f"open the MLflow UI: glorot ui   (or: mlflow ui --backend-store-uri {uri})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Check the sweep's options (:func:`~glorot.pipeline.sweep_options.check_sweep`) before
    anything heavy loads, then run the flow of ``flows/sweep.py``, Prefect's entry point, in this
    process: the project is the current folder, as for ``dvc repro``."""
    import importlib.util

    root = Path.cwd()
    path = root / "flows" / "sweep.py"
    if not path.is_file():
        raise GlorotError(f"no flows/sweep.py in {root}: run `glorot sweep` in the project folder")
    concurrency = sweep_options.check_sweep(args, root)
    spec = importlib.util.spec_from_file_location("flows.sweep", path)
    flow = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(flow)
    return flow.run(args, concurrency)


def cmd_ui(args: argparse.Namespace) -> int:
    from glorot.pipeline.study import load_params

    root = args.params.parent
    params = load_params(args.params)
    study = params.get_study(args.study, check_machine=False)
    from glorot.pipeline.links import runs_url  # MLflow: after the checks, which need none
    from glorot.pipeline.tracking import Tracker, resolve_uri
    from glorot.pipeline.watchdog import serve

    uri = resolve_uri(params.tracking_uri, root)
    tracker = Tracker(uri, study.name, root)
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
    return serve(cmd)  # stopped with glorot ui: Ctrl-C, SIGTERM, or a kill of any kind


def _results_command(name: str, args: argparse.Namespace) -> str:
    """The ``glorot results`` command that publishes study ``name``, as its section names it (the
    flags that differ from the defaults)."""
    flags = f" --study {name}"
    if args.params != Path("params.yaml"):
        flags += f" --params {args.params}"
    if args.out is not None and args.out != Path("docs/results.md"):
        flags += f" --out {args.out}"
    return "glorot results" + flags


def cmd_results(args: argparse.Namespace) -> int:
    from glorot.pipeline.study import load_params

    params = load_params(args.params)
    root = args.params.parent
    names = list(dict.fromkeys(args.study or [params.study]))
    studies = [params.get_study(name, check_machine=False) for name in names]  # every name checked before reading
    from glorot.pipeline.store import resolve_uri  # MLflow, scipy, matplotlib: after the checks, which need none
    from glorot.pipeline.summary import first_sweep_command
    from glorot.report.collect import open_study
    from glorot.report.publish import gather
    from glorot.report.results_doc import write_results

    uri = resolve_uri(params.tracking_uri, root)
    results = []
    for study in studies:
        source = open_study(uri, study.name, root, first_sweep=first_sweep_command(study.name, params.study,
                                                                                   args.params))
        results.append(gather(source, study, root / params.data_dir, args.params,
                              progress=lambda line: print(line, flush=True)))
    out = args.out if args.out is not None else root / "docs" / "results.md"
    for path in write_results(results, out, lambda name: _results_command(name, args)):
        print(f"wrote {path}")
    return 0


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with descriptions and epilogs kept in paragraphs (blank-line separated),
    each filled to the terminal's width, except a paragraph with indented lines (examples),
    which is printed as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join("\n".join(indent + line for line in block.splitlines())
                           if any(line.startswith("  ") for line in block.splitlines())
                           else textwrap.fill(" ".join(block.split()), width, initial_indent=indent,
                                              subsequent_indent=indent, break_on_hyphens=False)
                           for block in text.split("\n\n"))


def _command(sub, name: str, summary: str, description: str | None = None, epilog: str | None = None):
    """A sub-command: ``summary`` in ``glorot --help``, ``description`` (or the summary) on its own ``--help``."""
    return sub.add_parser(name, help=summary, description=description or summary[0].upper() + summary[1:] + ".",
                          epilog=epilog, formatter_class=HelpFormatter)


def _add_train(sub) -> None:
    train = _command(sub, "train", "train one network with plain SGD and write its run folder",
                     "Train one network with plain SGD (paper, Section 2.3) and print its learning curve; "
                     "with --out, write its run folder. Defaults are the paper's: 5 hidden layers of 1000 "
                     "units, mini-batches of 10.",
                     "examples:\n  glorot train --activation softsign --init normalized --width 500 --updates "
                     "20000 --out runs/softsign-n\n  glorot train --dataset mnist --data-dir data --lr-grid "
                     "0.01 0.03 0.1   (after `dvc repro data/dvc.yaml:prepare_mnist`)")
    _add_config_flags(train, TRAIN_FLAGS)
    train.add_argument("--lr-grid", nargs="+", help="choose lr over these by validation error")
    train.add_argument("--data-dir", type=Path,
                       help="folder holding the prepared data sets, e.g. data (default: generate Shapeset-3x2)")
    train.add_argument("--out", type=Path, help="run folder to write (curve, diagnostics, model)")
    train.add_argument("--checkpoint-dir", type=Path, help="save (and resume from) checkpoints in this folder")
    train.add_argument("--checkpoint-every", type=int, help="updates between checkpoints, >= 1, with --checkpoint-dir (default: --eval-every)")
    train.add_argument("--quiet", action="store_true", help="no progress lines (one per evaluation)")
    train.set_defaults(func=cmd_train)


def _add_sweep(sub) -> None:
    sweep = _command(sub, "sweep", "train every configuration of a study, recorded in MLflow, scheduled by Prefect",
                     sweep_options.DESCRIPTION, sweep_options.EPILOG)
    sweep_options.add_sweep_options(sweep)
    sweep.set_defaults(func=cmd_sweep)


def _add_results(sub) -> None:
    """``summary`` and ``ui``: a study's results in the terminal and in MLflow's UI."""
    summary = _command(sub, "summary", "the latest sweep of a study as the paper's Table 1",
                       "The latest sweep of a study as the paper's Table 1 (read from the MLflow store of "
                       "params.yaml): one row per network and data set (and depth), in the paper's order, with the "
                       "learning rate chosen on validation error, our test error (mean ± sd over seeds), the "
                       "paper's, the difference and the test against the column's best; then the sweep's scale "
                       "beside the paper's.",
                       "examples:\n  glorot summary --study depth\n  glorot summary --all     also every "
                       "configuration, the chosen learning rates marked")
    summary.add_argument("--study", help="study of params.yaml (default: its `study` field)")
    summary.add_argument("--params", type=Path, default=Path("params.yaml"),
                         help="parameters file (default: %(default)s)")
    summary.add_argument("--all", action="store_true",
                         help="also list every configuration (sorted, the chosen learning rate marked *)")
    summary.set_defaults(func=cmd_summary)

    ui = _command(sub, "ui", "open the MLflow UI on the project's tracking store")
    ui.add_argument("--params", type=Path, default=Path("params.yaml"), help="parameters file (default: %(default)s)")
    ui.add_argument("--study", help="study whose latest sweep to link to (default: params.yaml's `study` field)")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    ui.add_argument("--port", type=int, default=5000, help="port to listen on (default: %(default)s)")
    ui.set_defaults(func=cmd_ui)

    results = _command(sub, "results", "publish studies' results as docs/results.md, generated from MLflow",
                       "Write docs/results.md (and its figures in docs/results/) from the latest sweep of each "
                       "study in MLflow: Table 1 beside the paper's with the paired test against the column's best, "
                       "the normalized-vs-standard twins, Figures 11 and 12, the verdicts, where a target is missed "
                       "and what scale would decide it, and the commands, commits, machine and wall time behind "
                       "them. Every configuration of each study must have finished. The page is generated: rerun "
                       "this command rather than editing it.",
                       "example:\n  glorot results --study mnist --study shapeset1000   after `glorot sweep "
                       "--study mnist` and `--study shapeset1000`")
    results.add_argument("--study", action="append",
                         help="study of params.yaml, repeatable, in the page's order (default: its `study` field)")
    results.add_argument("--params", type=Path, default=Path("params.yaml"),
                         help="parameters file (default: %(default)s)")
    results.add_argument("--out", type=Path,
                         help="the page to write (default: docs/results.md beside params.yaml); figures go to the "
                              "folder of its name (docs/results/)")
    results.set_defaults(func=cmd_results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glorot", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    _add_train(sub)
    _add_sweep(sub)
    diag = _command(sub, "diagnose", "the paper's diagnostics of a freshly initialised net",
                    "The paper's diagnostics of a freshly initialised net, per layer: activations (Figures "
                    "3-4, 6-7), back-propagated gradients (Figures 7-10) and the singular values of the "
                    "layer Jacobians (Section 4.2.2).",
                    "example:\n  glorot diagnose --activation tanh --init normalized --depth 5")
    _add_config_flags(diag, DIAGNOSE_FLAGS)
    diag.add_argument("--data-dir", type=Path,
                      help="folder holding the prepared data sets, e.g. data (default: generate Shapeset-3x2)")
    diag.add_argument("--json", action="store_true", help="print JSON instead of a table")
    diag.set_defaults(func=cmd_diagnose)
    _add_results(sub)
    archive_command.add_archive_command(_command(sub, "archive", archive_command.SUMMARY, archive_command.DESCRIPTION,
                                                 archive_command.EPILOG))
    add_report_command(_command(sub, "report", "Table 1, Figures 2-12 and a verdict per claim, from a study's "
                                               "latest sweep in MLflow",
                                "Rebuild a study's report from its latest sweep in MLflow: the paper's Table 1 "
                                "(learning rate chosen on validation error), Figures 2-12, theory against "
                                "measurement and a verdict per claim, as report.html and report.md; and the "
                                "DVC metrics (metrics.json, numbers only). `dvc repro` runs it for params.yaml's "
                                "study.",
                                "examples:\n  glorot report                   params.yaml's study, into "
                                "reports/<study>/\n  glorot report --study depth     another study, after "
                                "`glorot sweep --study depth`"))
    add_data_commands(_command(sub, "data", "prepare data sets (the paper's Section 2.1-2.2)",
                               "Prepare a data set in the project's on-disk format. The DVC stages run these: "
                               "`dvc repro` prepares Shapeset-3x2, `dvc repro data/dvc.yaml:prepare_mnist` "
                               "(or prepare_cifar10, prepare_small_imagenet) an image set of Table 1.",
                               "example:\n  glorot data shapeset --n 1000 --seed 1 --out /tmp/shapeset "
                               "--samples /tmp/shapeset.png"))
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
