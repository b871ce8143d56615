"""DVC end to end in a throw-away copy of the project: `dvc repro` of a tiny study, push to a
temporary remote, pull into a fresh clone, and the data version recorded in MLflow."""

import filecmp
import json
import sys

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.unit.imageset_fixtures import write_imagenet_tree

from .project import BIN, make_project, run

pytestmark = pytest.mark.integration
DVC = str(BIN / "dvc")


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dvc")
    project = make_project(tmp / "project", git=True)
    run([DVC, "remote", "add", "-d", "-f", "tmp", str(tmp / "remote")], project)
    proc = run([DVC, "repro", "sweep"], project, PREFECT_HOME=str(tmp / "prefect-home"))
    return {"tmp": tmp, "project": project, "stdout": proc.stdout}


def _lock_md5(project, path):
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return next(o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] == path)


def test_repro_runs_data_then_sweep_and_writes_metrics(repro):
    project = repro["project"]
    assert {p.name for p in (project / "data" / "shapeset").iterdir()} >= {"valid", "test", "samples.png"}
    summary = json.loads((project / "results" / "tiny" / "summary.json").read_text())
    assert len(summary["runs"]) == 2 and summary["registered_models"] == {"shapeset": "glorot-shapeset/1"}
    metrics = run([DVC, "metrics", "show", "--json"], project).stdout
    assert "results/tiny/summary.json" in metrics
    assert "/shapeset" in (project / "data" / ".gitignore").read_text().split()


def test_mlflow_runs_record_the_dvc_data_version(repro):
    project = repro["project"]
    md5 = _lock_md5(project, "data/shapeset")
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("glorot-tiny")
    children = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'config'")
    assert len(children) == 2
    for child in children:
        assert child.data.tags["data_version"] == md5
        assert child.data.tags["data_version_source"] == "dvc.lock"


def test_push_then_pull_into_a_fresh_clone_gives_identical_data(repro):
    project, tmp = repro["project"], repro["tmp"]
    run([DVC, "push"], project)
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"], project)
    clone = tmp / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp)
    assert not (clone / "data" / "shapeset").exists()
    run([DVC, "pull", "data/shapeset"], clone)
    for split in ("valid", "test"):
        for name in ("data.npz", "manifest.json"):
            a, b = project / "data/shapeset" / split / name, clone / "data/shapeset" / split / name
            assert filecmp.cmp(a, b, shallow=False)
    assert run([DVC, "status", "shapeset"], clone).stdout.strip().endswith("up to date.")


def test_small_imagenet_stage_builds_from_a_user_tree(repro):
    project, tmp = repro["project"], repro["tmp"]
    mapping = json.loads((project / "src/glorot/data/small_imagenet_synsets.json").read_text())
    counts = {next(iter(wnids)): 11 for wnids in mapping["groups"].values()}
    write_imagenet_tree(tmp / "imagenet", counts)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["imagesets"]["small_imagenet"]["source"] = str(tmp / "imagenet")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([DVC, "repro", "prepare_small_imagenet"], project)
    sizes = {s: json.loads((project / "data/small_imagenet" / s / "manifest.json").read_text())["n"]
             for s in ("train", "valid", "test")}
    assert sizes == {"train": 90, "valid": 10, "test": 10}
    assert _lock_md5(project, "data/small_imagenet").endswith(".dir")
    proc = run([sys.executable, "-m", "glorot.cli", "train", "--dataset", "small_imagenet", "--data-dir", "data",
                "--depth", "1", "--width", "16", "--updates", "20", "--eval-every", "10", "--probe-size", "10",
                "--quiet"], project)
    assert "Tanh / Small-ImageNet: valid error" in proc.stdout


def test_data_that_differ_from_dvc_lock_are_refused_before_training(repro, tmp_path):
    import shutil

    from glorot.config import build_config
    from glorot.errors import GlorotError
    from glorot.pipeline.runs import run_configuration

    project = tmp_path / "copy"
    shutil.copytree(repro["project"], project, symlinks=True)
    (project / "data/shapeset/samples.png").write_bytes(b"changed")
    config = build_config(depth=1, width=8, updates=1, device="cpu")
    with pytest.raises(GlorotError, match=r"data/shapeset/samples.png differs: the data differ from the version "
                                          r"in dvc.lock \(.*\.dir\); run `dvc checkout data/shapeset`"):
        run_configuration(config, "tiny", f"sqlite:///{tmp_path / 'x.db'}", root=project)
    assert not (tmp_path / "x.db").exists()  # refused before any run was recorded
