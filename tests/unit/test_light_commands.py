"""Commands that answer in a second: ``--help`` and every bad option of ``glorot sweep``,
``glorot summary``, ``flows/sweep.py`` and ``flows/deploy.py --help`` answer before torch,
Prefect or MLflow load, and ``glorot summary`` reads runs without torch. Checked by what a
fresh interpreter has imported when the command is done, never by time
(``benchmarks/cli_speed.py`` times them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from glorot.cli import main

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "prefect", "mlflow", "mlflow.pytorch")
#: Runs an entry point with argv in this interpreter, then prints its exit status and which of HEAVY it loaded.
RUNNER = """\
import json, runpy, sys
entry, argv = sys.argv[1], sys.argv[2:]
try:
    if entry == "glorot":
        from glorot.cli import main
        code = main(argv)
    else:
        sys.argv = [entry, *argv]
        runpy.run_path(entry, run_name="__main__")
        code = 0
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def _run(entry: str, *argv: str, cwd: Path = REPO, **env: str) -> tuple[int, list[str], str]:
    """``entry`` (``glorot`` or a flow file) run with ``argv`` in a fresh interpreter: its exit
    status, the heavy modules it loaded, and its stderr."""
    import os

    proc = subprocess.run([sys.executable, "-c", RUNNER, entry, *argv], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, **env))
    result = json.loads(proc.stdout.splitlines()[-1])
    return result["code"], result["loaded"], proc.stderr


@pytest.mark.parametrize("entry,argv", [
    ("glorot", ["sweep", "--help"]),
    ("glorot", ["summary", "--help"]),
    ("flows/sweep.py", ["--help"]),
    ("flows/deploy.py", ["--help"]),
])
def test_help_loads_neither_torch_prefect_nor_mlflow(entry, argv):
    code, loaded, _ = _run(entry, *argv)
    assert (code, loaded) == (0, [])


@pytest.mark.parametrize("entry", ["glorot", "flows/sweep.py"])
@pytest.mark.parametrize("argv,message", [
    (["--study", "nope"], "unknown study 'nope'; valid: quick, "),
    (["--threads", "0"], "invalid threads: must be >= 1 (got 0)"),
    (["--concurrency", "0"], "invalid concurrency: must be >= 1 (got 0)"),
    (["--params", "missing.yaml"], "missing parameters file: "),
])
def test_a_bad_sweep_option_is_one_line_before_torch_prefect_or_mlflow_load(entry, argv, message):
    code, loaded, err = _run(entry, *(["sweep"] if entry == "glorot" else []), *argv)
    assert (code, loaded) == (2, [])
    assert err.startswith(f"glorot: error: {message}") and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("argv,message", [
    (["--study", "nope"], "unknown study 'nope'; valid: quick, "),
    (["--params", "missing.yaml"], "missing parameters file: missing.yaml"),
])
@pytest.mark.parametrize("command", ["summary", "report", "results", "ui"])
def test_a_bad_option_of_a_reading_command_is_one_line_before_mlflow_loads(command, argv, message):
    code, loaded, err = _run("glorot", command, *argv)
    assert (code, loaded) == (2, [])
    assert err.startswith(f"glorot: error: {message}") and len(err.splitlines()) == 1, err


def _project(tmp_path: Path, datasets=("shapeset",)) -> Path:
    study = {"datasets": list(datasets), "networks": ["Tanh"], "lrs": [0.1], "updates": 1}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"study": "a", "studies": {"a": study}}))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "sweep.py").write_text(
        "def run(args, concurrency):\n    print('ran', args.study, concurrency, args.fresh)\n    return 0\n")
    return tmp_path


def test_a_missing_data_set_is_one_line_before_torch_prefect_or_mlflow_load(tmp_path):
    code, loaded, err = _run("glorot", "sweep", cwd=_project(tmp_path))
    assert (code, loaded) == (2, [])
    assert err.startswith(f"glorot: error: missing prepared data {tmp_path}/data/shapeset: run `dvc repro shapeset`")


def test_glorot_sweep_runs_the_flow_file_of_the_project_with_its_checked_options(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(_project(tmp_path))
    (tmp_path / "data" / "shapeset").mkdir(parents=True)
    assert main(["sweep", "--study", "a", "--concurrency", "1", "--fresh"]) == 0
    assert capsys.readouterr().out == "ran a 1 True\n"


def test_glorot_sweep_outside_a_project_says_where_to_run_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep"]) == 2
    assert capsys.readouterr().err == (f"glorot: error: no flows/sweep.py in {tmp_path}: run `glorot sweep` in the "
                                       f"project folder\n")


def test_glorot_summary_reads_a_local_store_without_mlflow_torch_or_prefect(tmp_path, monkeypatch):
    """The whole of the summary's import path (every import of ``cmd_summary`` and of what
    reads the runs) on a store that holds another study: it ends at "no sweep", having read
    the SQLite file itself (glorot.report.sqlite_source), none of HEAVY loaded."""
    from glorot.pipeline.tracking import Tracker

    project = _project(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored after: opening the store sets it in this process
    Tracker(uri, "other", tmp_path)
    code, loaded, err = _run("glorot", "summary", "--params", str(project / "params.yaml"), cwd=project,
                             MLFLOW_TRACKING_URI=uri)
    assert code == 2 and err.startswith("glorot: error: study 'a' has no sweep in sqlite:///"), err
    assert loaded == []


def test_reading_a_sweep_loads_no_torch():
    """The modules that read runs and build the table, imported in a fresh interpreter."""
    script = ("import sys\nimport glorot.report.collect, glorot.report.summary, glorot.report.table1, "
              "glorot.pipeline.summary, glorot.pipeline.tracking\n"
              f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['mlflow']"]
