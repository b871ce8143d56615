"""How fast do the commands users touch answer? ``--help`` and a bad option of ``glorot sweep``,
``glorot summary``, ``flows/sweep.py`` and ``flows/deploy.py --help``, and ``glorot summary`` on a
finished sweep's store, each timed as a fresh process (median wall time of ``--repeats`` runs,
the commands taken in turn so that a busy machine slows them alike) and printed against two
baselines measured in the same run: ``python -c pass`` (an interpreter's start) and
``python -c "import torch"`` (what a command that loads torch pays at least).

    python benchmarks/cli_speed.py [--repeats 5] [--project .] [--store DIR]

``--project``: the project folder the commands run in (its ``flows/``; default: this one).
``--store``: a folder holding a store with a finished sweep of the project's study
(``mlflow.db`` and ``mlartifacts/``, e.g. the project itself after ``dvc repro``); it is copied
to a temporary folder and ``glorot summary`` reads the copy (default: no summary timing).
Run with ``PYTHONPATH=<other checkout>/src --project <other checkout>`` to time another version
of the code on the same machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
_SCRIPT = Path(PYTHON).with_name("glorot")  # the console script users run, beside this interpreter
GLOROT = [str(_SCRIPT)] if _SCRIPT.is_file() else [PYTHON, "-m", "glorot.cli"]

#: Name -> (command, extra environment).
Timed = dict[str, tuple[list[str], dict[str, str]]]


def commands(store: str | None) -> Timed:
    """Name -> (command, extra environment) of everything timed, baselines first."""
    timed = {
        "python -c pass": ([PYTHON, "-c", "pass"], {}),
        "python -c 'import torch'": ([PYTHON, "-c", "import torch"], {}),
        "glorot --help": ([*GLOROT, "--help"], {}),
        "glorot sweep --help": ([*GLOROT, "sweep", "--help"], {}),
        "glorot sweep --study nope": ([*GLOROT, "sweep", "--study", "nope"], {}),
        "glorot summary --study nope": ([*GLOROT, "summary", "--study", "nope"], {}),
        "python flows/sweep.py --help": ([PYTHON, "flows/sweep.py", "--help"], {}),
        "python flows/sweep.py --study nope": ([PYTHON, "flows/sweep.py", "--study", "nope"], {}),
        "python flows/deploy.py --help": ([PYTHON, "flows/deploy.py", "--help"], {}),
    }
    if store:
        timed["glorot summary (a finished sweep)"] = ([*GLOROT, "summary"], {"MLFLOW_TRACKING_URI": store})
    return timed


def time_once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and exit status of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def copied_store(folder: Path, into: Path) -> str:
    """A copy of the store in ``folder`` (``mlflow.db`` and ``mlartifacts/``) in ``into``, as a tracking URI."""
    shutil.copy2(folder / "mlflow.db", into / "mlflow.db")
    if (folder / "mlartifacts").is_dir():
        shutil.copytree(folder / "mlartifacts", into / "mlartifacts")
    return f"sqlite:///{into / 'mlflow.db'}"


def measure(timed: Timed, repeats: int, cwd: Path) -> dict[str, tuple[float, int]]:
    """Median seconds and last exit status per command, the commands taken in turn ``repeats`` times."""
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    status: dict[str, int] = {}
    for _ in range(repeats):
        for name, (cmd, env) in timed.items():
            took, status[name] = time_once(cmd, env, cwd)
            seconds[name].append(took)
    return {name: (statistics.median(s), status[name]) for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--store", type=Path, help="folder with mlflow.db and mlartifacts/ of a finished sweep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = copied_store(args.store, Path(tmp)) if args.store else None
        results = measure(commands(store), args.repeats, args.project.resolve())
    bare, torch_import = results["python -c pass"][0], results["python -c 'import torch'"][0]
    print(f"{'command':<36} {'exit':>4} {'seconds':>8} {'/ python':>9} {'/ torch':>8}   (median of {args.repeats})")
    for name, (took, code) in results.items():
        print(f"{name:<36} {code:>4} {took:>8.2f} {took / bare:>9.1f} {took / torch_import:>8.2f}")


if __name__ == "__main__":
    main()
