"""The command line's help and advice: ``--help`` loads no heavy library, every list of names
is shown where it is asked for, the descriptions are complete, and each hint names the command
that fixes the problem."""

import json
import subprocess
import sys

import pytest
import yaml

from glorot.cli import main
from glorot.config import DATASETS, PRETRAINED
from glorot.paper.names import ACTIVATION_NAMES, COST_NAMES, INIT_NAMES
from glorot.pipeline.summary import first_sweep_command, numeric_runs

#: Every command and sub-command of ``glorot``.
COMMANDS = ([], ["train"], ["diagnose"], ["summary"], ["ui"], ["report"], ["results"], ["data"], ["data", "fetch"],
            ["data", "shapeset"], ["data", "mnist"], ["data", "cifar10"], ["data", "small_imagenet"])
HEAVY = ("torch", "numpy", "mlflow", "prefect", "pandas", "scipy")


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_help_of_every_command_imports_no_heavy_library():
    """Checked in a fresh interpreter (this one has torch loaded), by what is imported, not by time."""
    script = ("import sys\nfrom glorot.cli import main\n"
              f"for argv in {COMMANDS!r}:\n"
              "    try:\n        main([*argv, '--help'])\n"
              "    except SystemExit as e:\n        assert e.code == 0, argv\n"
              f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "HEAVY []"


def test_every_list_of_names_is_shown_with_its_flag(capsys):
    train = _help(capsys, "train")
    for flag, names in [("--dataset", DATASETS), ("--activation", ACTIVATION_NAMES),
                        ("--init", (*INIT_NAMES, PRETRAINED)), ("--cost", COST_NAMES),
                        ("--device", ("auto", "cpu", "cuda"))]:
        assert f"{flag} {{{','.join(names)}}}" in train
    diagnose = _help(capsys, "diagnose")
    assert f"--activation {{{','.join(ACTIVATION_NAMES)}}}" in diagnose and "--cost {nll,quadratic}" in diagnose
    assert "{fetch,shapeset,mnist,cifar10,small_imagenet}" in _help(capsys, "data")
    assert "{mnist,cifar10}" in _help(capsys, "data", "fetch")


def test_a_name_outside_the_list_is_still_one_line(capsys, tmp_path):
    assert main(["train", "--device", "tpu", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == "glorot: error: invalid device: Input should be 'auto', 'cpu' or 'cuda' (got 'tpu')\n"


def test_the_paper_tables_are_keyed_by_the_names_the_help_shows():
    from glorot.paper.activations import ACTIVATIONS
    from glorot.paper.costs import COSTS
    from glorot.paper.init import INITS

    assert (tuple(ACTIVATIONS), tuple(INITS), tuple(COSTS)) == (ACTIVATION_NAMES, INIT_NAMES, COST_NAMES)


def test_the_description_tells_a_user_where_to_start(capsys):
    text = _help(capsys)
    assert "Glorot & Bengio (2010)" in text and "Start in the project folder with `dvc repro`" in text
    assert "examples:\n  dvc repro" in text and "glorot summary" in text and "glorot ui" in text
    assert "thin argument parsing" not in text  # not the module's docstring


@pytest.mark.parametrize("flow", ["sweep", "deploy"])
def test_the_flows_help_is_complete(flow, capsys):
    module = __import__(f"flows.{flow}", fromlist=["main"])
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]  # after the usage lines
    assert description.rstrip().endswith(".") and len(description.split()) > 40
    assert "docs/scale.md" in text and ("examples:\n" in text or "example:\n" in text)


@pytest.mark.parametrize("study,params,command", [
    ("quick", "params.yaml", "dvc repro"),
    ("init", "params.yaml", "glorot sweep --study init"),
    ("quick", "other.yaml", "glorot sweep --study quick --params other.yaml"),
])
def test_the_first_sweep_of_a_study_is_run_by_the_command_that_runs_that_study(study, params, command, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert first_sweep_command(study, "quick", params) == command


def test_with_mlflow_tracking_uri_set_the_first_sweep_is_the_flow_with_that_variable(monkeypatch):
    """`dvc repro` does not see MLFLOW_TRACKING_URI: it calls the pipeline up to date however empty
    the store that the variable names, so the hint is the flow, with the variable (issue 23)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking host:5000")
    assert first_sweep_command("quick", "quick") == \
        "MLFLOW_TRACKING_URI='http://tracking host:5000' glorot sweep --study quick"


@pytest.mark.parametrize("command", ["summary", "report", "results"])
def test_a_study_without_a_sweep_names_the_command_that_runs_it(command, tmp_path, capsys, monkeypatch):
    study = {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": [0.1], "updates": 1}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"study": "a", "studies": {"a": study, "b": study}}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for name in ("b", "a"):  # with the variable set, even params.yaml's own study: `dvc repro` would not see it
        assert main([command, "--study", name, "--params", str(tmp_path / "params.yaml")]) == 2
        assert capsys.readouterr().err.splitlines()[-1].endswith(
            f"no sweep in {uri} (MLFLOW_TRACKING_URI) yet: run `MLFLOW_TRACKING_URI={uri} glorot sweep "
            f"--study {name}` first")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    for name, hint in [("b", "run `glorot sweep --study b` first"), ("a", "run `dvc repro` first")]:
        assert main([command, "--study", name, "--params", str(tmp_path / "params.yaml")]) == 2
        err = capsys.readouterr().err.splitlines()[-1]
        assert err.endswith(hint) and "(MLFLOW_TRACKING_URI)" not in err


@pytest.mark.parametrize("dataset,hint", [("mnist", "dvc repro data/dvc.yaml:prepare_mnist"),
                                          ("shapeset", "dvc repro shapeset")])
def test_a_missing_prepared_data_set_names_its_dvc_stage(dataset, hint, tmp_path, capsys):
    assert main(["train", "--dataset", dataset, "--data-dir", str(tmp_path), "--updates", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glorot: error: missing data manifest: ") and err.endswith(f"run `{hint}` (or `dvc pull`)\n")
    assert len(err.splitlines()) == 1


def test_per_configuration_numbers_for_dvc_are_numbers_only():
    rows = [{"network": "Tanh", "dataset": "shapeset", "depth": 5, "width": 250, "lr": lr, "seed": 0, "updates": n,
             "status": status, "valid_error_pct": valid, "test_error_pct": test}
            for lr, n, status, valid, test in [(0.01, 9000, "completed", 12.5, 13.25),
                                              (0.1, 300, "diverged", float("nan"), None)]]
    doc = json.loads(json.dumps(numeric_runs(rows)))
    assert doc == {"Tanh / shapeset / d5 / w250 / lr0.01 / s0": {"valid_error_pct": 12.5, "test_error_pct": 13.25,
                                                                  "updates": 9000},
                   "Tanh / shapeset / d5 / w250 / lr0.1 / s0": {"updates": 300}}
