"""The sweep's command line on bad input: one clear line, a non-zero exit, no training."""

import os
import sys

import pytest
import yaml

from .project import make_project
from .project import env as project_env
from .servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("bad") / "project")


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _sweep(project, *args, **extra):
    import subprocess

    proc = subprocess.run([sys.executable, "flows/sweep.py", *args], cwd=project, capture_output=True, text=True,
                          env=project_env(**extra))
    return proc.returncode, proc.stderr.strip().splitlines()


def test_unknown_study(project):
    code, err = _sweep(project, "--study", "nope")
    assert code == 2 and err == ["glorot: error: unknown study 'nope'; valid: quick, depth, pretraining, table1, mnist, shapeset1000, init, initlab, tiny"]


def test_invalid_field_in_params(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["studies"]["tiny"]["widths"] = [0]
    (project / "bad.yaml").write_text(yaml.safe_dump(params))
    code, err = _sweep(project, "--params", "bad.yaml")
    assert code == 2
    assert err == ["glorot: error: bad.yaml studies.tiny: invalid width: Input should be greater than or "
                   "equal to 1 (got 0)"]


@pytest.mark.parametrize("change,message", [
    ({"widths": [True]}, "invalid widths.0: Input should be a valid integer (got True)"),
    ({"updates": "40"}, "invalid updates: Input should be a valid integer (got '40')"),
    ({"lrs": [float("inf")]}, "invalid lrs.0: Input should be a finite number (got inf)"),
    ({"lrs": [float("nan")]}, "invalid lrs.0: Input should be a finite number (got nan)"),
    ({"widths": [10_000_000]},
     "invalid width: 2 x 10000000 units need 372,568 GiB for the weights alone; this machine has "),
    pytest.param({"device": "cuda"}, "invalid device: 'cuda' requested but no CUDA device is available",
                 marks=pytest.mark.skipif(_has_cuda(), reason="this machine has a CUDA device")),
])
def test_bad_study_values_fail_before_any_mlflow_run(project, change, message):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["studies"]["tiny"].update(change)
    (project / "bad.yaml").write_text(yaml.safe_dump(params))
    code, err = _sweep(project, "--params", "bad.yaml")
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"glorot: error: bad.yaml studies.tiny: {message}"), err[0]
    assert not (project / "mlflow.db").exists() and not (project / "mlartifacts").exists()


def test_missing_prepared_data(project):
    code, err = _sweep(project, "--study", "tiny")
    assert code == 2 and len(err) == 1
    assert err[0].startswith("glorot: error: missing prepared data") and "dvc repro shapeset" in err[0]


def test_unreachable_tracking_server(project):
    (project / "data" / "shapeset").mkdir(parents=True, exist_ok=True)
    uri = f"http://127.0.0.1:{free_port()}"
    code, err = _sweep(project, "--study", "tiny", MLFLOW_TRACKING_URI=uri)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"glorot: error: cannot reach the MLflow tracking server at {uri}: ")
    assert not (project / "results").exists()


def _store(kind, project):
    """A tracking URI that cannot be opened, and the start of the one line that says so."""
    if kind == "corrupt":
        db = project / "corrupt.db"
        db.write_bytes(os.urandom(8192))
        uri = f"sqlite:///{db}"
        return uri, f"glorot: error: cannot open the MLflow tracking store {uri}: DatabaseError: "
    if kind == "scheme":
        return "bogus://x", "glorot: error: cannot open the MLflow tracking store bogus://x: "
    uri = f"http://127.0.0.1:{free_port()}"
    return uri, f"glorot: error: cannot reach the MLflow tracking server at {uri}: "


@pytest.mark.parametrize("command", ["sweep", "summary", "report"])
@pytest.mark.parametrize("kind", ["corrupt", "scheme", "unreachable"])
def test_a_tracking_store_that_cannot_be_opened_is_one_line(project, kind, command):
    import subprocess

    (project / "data" / "shapeset").mkdir(parents=True, exist_ok=True)
    uri, start = _store(kind, project)
    cmd = ([sys.executable, "flows/sweep.py", "--study", "tiny"] if command == "sweep" else
           [sys.executable, "-m", "glorot.cli", command, "--study", "tiny", "--no-log"] if command == "report" else
           [sys.executable, "-m", "glorot.cli", command, "--study", "tiny"])
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=project_env(MLFLOW_TRACKING_URI=uri))
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and err[0].startswith(start), proc.stderr[-2000:]
