"""DVC end to end in a throw-away copy of the project: plain `dvc repro` of a tiny study (data,
sweep, report; never the image sets), its metrics and its one overlaid plot, what a code edit
makes stale, a DVC experiment recorded in MLflow, push to a temporary remote, pull into a fresh
clone, and the data version recorded in MLflow."""

import filecmp
import json
import re
import shutil
import sys

from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.unit.imageset_fixtures import write_imagenet_tree

from .project import BIN, make_project, prefect_home, run

pytestmark = pytest.mark.integration
DVC = str(BIN / "dvc")
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")  # an MLflow run id


# Any download would go through this proxy, which nothing listens on: the run must not need one.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dvc")
    project = make_project(tmp / "project", git=True)
    run([DVC, "remote", "add", "-d", "-f", "tmp", str(tmp / "remote")], project)
    proc = run([DVC, "repro"], project, PREFECT_HOME=prefect_home(tmp / "prefect-home"), **OFFLINE)
    return {"tmp": tmp, "project": project, "stdout": proc.stdout}


def _lock_md5(project, path, lock="dvc.lock"):
    lock = yaml.safe_load((project / lock).read_text())
    return next(o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] == path)


def _leaves(doc):
    for value in doc.values():
        yield from _leaves(value) if isinstance(value, dict) else [value]


def test_plain_repro_runs_data_sweep_and_report_but_not_the_image_sets(repro):
    project, stdout = repro["project"], repro["stdout"]
    assert {p.name for p in (project / "data" / "shapeset").iterdir()} >= {"valid", "test", "samples.png"}
    summary = json.loads((project / "results" / "tiny" / "summary.json").read_text())
    where = json.loads((project / "results" / "tiny" / "tracking.json").read_text())  # no stage's output
    assert len(summary["runs"]) == 2 and where["registered_models"] == {"shapeset": "glorot-tiny-shapeset/1"}
    assert {"report.html", "metrics.json", "curves.csv", "table1.json"} <= {
        p.name for p in (project / "reports" / "tiny").iterdir()}
    for stage in ("shapeset", "sweep", "report"):
        assert f"Running stage '{stage}'" in stdout
    assert "fetch_" not in stdout and "prepare_" not in stdout
    assert [p.name for p in (project / "data").glob("raw/**/*")] in ([], [".gitignore"])  # no image set fetched
    stages = run([DVC, "stage", "list", "--all"], project).stdout
    assert "data/dvc.yaml:prepare_mnist" in stages  # declared, run only when asked
    assert "/shapeset" in (project / "data" / ".gitignore").read_text().split()
    assert json.loads(run([DVC, "status", "--json", "dvc.yaml"], project).stdout) == {}


def test_metrics_are_numbers_only(repro):
    project = repro["project"]
    shown = json.loads(run([DVC, "metrics", "show", "--json"], project).stdout)[""]["data"]
    assert set(shown) == {"reports/tiny/metrics.json"}  # summary.json and table1.json are plain outputs
    metrics = shown["reports/tiny/metrics.json"]["data"]
    assert set(metrics) == {"Tanh", "Tanh N"}  # the test error per network: one short column each
    assert all(type(v) in (int, float) for v in _leaves(metrics))
    header = run([DVC, "metrics", "show"], project).stdout.splitlines()[0]
    assert header.split() == ["Path", "Tanh", "Tanh", "N"] and len(header) < 80  # readable at a glance
    # Per configuration (each lr apart), numbers only, kept out of the short table above: compared on request.
    target = "results/tiny/runs.json"
    runs = json.loads(run([DVC, "metrics", "show", "--json", target], project).stdout)[""]["data"][target]["data"]
    assert len(runs) == 2 and all(type(v) in (int, float) for v in _leaves(runs))
    assert all(set(entry) <= {"valid_error_pct", "test_error_pct", "updates"} for entry in runs.values())


def test_dvc_outputs_hold_no_run_id_or_path(repro):
    """What DVC hashes (the sweep's and the report's outputs in dvc.lock) holds only what the
    results decide: no run id, no folder of this machine (they are in the tracking.json files).
    (The data versions, DVC md5s, are there: they are the data, not the run.)"""
    project, tmp = repro["project"], repro["tmp"]
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    run_ids = {r.info.run_id for r in client.search_runs([client.get_experiment_by_name("glorot-tiny").experiment_id])}
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    outs = [project / o["path"] for stage in ("sweep", "report") for o in lock["stages"][stage]["outs"]]
    files = [f for out in outs for f in ([out] if out.is_file() else out.rglob("*")) if f.is_file()]
    assert {"summary.json", "runs.json", "report.md", "report.html", "table1.json", "metrics.json"} <= {
        f.name for f in files}
    for f in files:
        if f.suffix in (".json", ".md", ".csv", ".html"):
            found = set(RUN_ID.findall(f.read_text()))
            assert len(run_ids) >= 3 and not found & run_ids, f"{f.relative_to(project)} holds a run id"
            assert str(tmp) not in f.read_text() and str(Path.home()) not in f.read_text(), \
                f"{f.relative_to(project)} holds a path"
    where = json.loads((project / "reports" / "tiny" / "tracking.json").read_text())
    assert where["parent_run_id"] in run_ids and str(project) in where["tracking_uri"]


def test_one_overlaid_plot_of_every_network(repro):
    project = repro["project"]
    plots = json.loads(run([DVC, "plots", "show", "--json"], project).stdout)["data"]
    vega = {name: items for name, items in plots.items() if any(i["type"] == "vega" for i in items)}
    assert list(vega) == ["test_error"]
    spec = vega["test_error"][0]["content"]
    assert spec["encoding"]["color"]["field"] == "series" and spec["encoding"]["x"]["field"] == "update"
    assert {row["series"] for row in spec["data"]["values"]} == {"Tanh", "Tanh N"}


def _status_after_edit(project, rel):
    """The stages of dvc.yaml that `dvc status` calls changed once ``rel`` is edited (then restored)."""
    path = project / rel
    original = path.read_text()
    try:
        path.write_text(original + "\n# an edit\n")
        return set(json.loads(run([DVC, "status", "--json", "dvc.yaml"], project).stdout))
    finally:
        path.write_text(original)


def test_an_edit_to_the_report_rebuilds_only_the_report(repro):
    project = repro["project"]
    assert _status_after_edit(project, "src/glorot/report/render.py") == {"report"}
    assert _status_after_edit(project, "src/glorot/cli.py") == {"report"}
    assert _status_after_edit(project, "src/glorot/engine/loop.py") == {"sweep", "report"}
    assert json.loads(run([DVC, "status", "--json", "dvc.yaml"], project).stdout) == {}


def test_dvc_experiment_sets_a_param_and_mlflow_gets_its_sweep(repro, tmp_path):
    project = tmp_path / "exp"
    shutil.copytree(repro["project"], project, symlinks=True)
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "before the experiment"], project)
    uri = f"sqlite:///{tmp_path / 'exp.db'}"
    proc = run([DVC, "exp", "run", "--temp", "-S", "studies.tiny.lrs=[0.2]"], project, MLFLOW_TRACKING_URI=uri,
               PREFECT_HOME=prefect_home(tmp_path / "prefect-home"), **OFFLINE)
    assert "Running stage 'sweep'" in proc.stdout and "Running stage 'report'" in proc.stdout
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("glorot-tiny")
    sweeps = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'sweep'")
    children = client.search_runs([experiment.experiment_id], "tags.`glorot.kind` = 'config'")
    assert len(sweeps) == 1 and len(children) == 2
    assert {c.data.params["lr"] for c in children} == {"0.2"}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {sweeps[0].info.run_id}
    assert yaml.safe_load((project / "params.yaml").read_text())["studies"]["tiny"]["lrs"] == [0.1]  # a temp copy
    shown = json.loads(run([DVC, "exp", "show", "--json"], project).stdout)
    exps = [rev for row in shown for experiment in (row.get("experiments") or []) for rev in experiment["revs"]]
    (exp,) = [e for e in exps if e["data"]["params"]["params.yaml"]["data"]["studies"]["tiny"]["lrs"] == [0.2]]
    metrics = exp["data"]["metrics"]["reports/tiny/metrics.json"]["data"]
    tanh = next(c for c in children if c.data.tags["paper_cell"].startswith("Tanh /"))
    assert metrics["Tanh"] == pytest.approx(
        100 * tanh.data.metrics["final/test_error"], abs=1e-3)


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


def test_repro_in_a_fresh_clone_leaves_git_status_clean(repro, tmp_path):
    """A fresh clone of a commit with a current dvc.lock: `dvc repro` trains the sweep again (a new
    MLflow store, new run ids) and writes the same bytes, so dvc.lock and `git status` stay clean."""
    project = repro["project"]
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--allow-empty", "-qm", "lock"], project)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    proc = run([DVC, "repro"], clone, PREFECT_HOME=prefect_home(tmp_path / "prefect-home"), **OFFLINE)
    assert "Running stage 'sweep'" in proc.stdout and "Running stage 'report'" in proc.stdout
    changed = run(["git", "status", "--porcelain"], clone).stdout
    assert changed == "", changed + run(["git", "diff", "HEAD"], clone).stdout


def test_small_imagenet_stage_builds_from_a_user_tree(repro):
    project, tmp = repro["project"], repro["tmp"]
    mapping = json.loads((project / "src/glorot/data/small_imagenet_synsets.json").read_text())
    counts = {next(iter(wnids)): 11 for wnids in mapping["groups"].values()}
    write_imagenet_tree(tmp / "imagenet", counts)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["imagesets"]["small_imagenet"]["source"] = str(tmp / "imagenet")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([DVC, "repro", "data/dvc.yaml:prepare_small_imagenet"], project)
    sizes = {s: json.loads((project / "data/small_imagenet" / s / "manifest.json").read_text())["n"]
             for s in ("train", "valid", "test")}
    assert sizes == {"train": 90, "valid": 10, "test": 10}
    assert _lock_md5(project, "data/small_imagenet", "data/dvc.lock").endswith(".dir")
    proc = run([sys.executable, "-m", "glorot.cli", "train", "--dataset", "small_imagenet", "--data-dir", "data",
                "--depth", "1", "--width", "16", "--updates", "20", "--eval-every", "10", "--probe-size", "10",
                "--quiet"], project)
    assert "Tanh / Small-ImageNet: valid error" in proc.stdout


def test_data_that_differ_from_dvc_lock_are_refused_before_training(repro, tmp_path, monkeypatch):
    import shutil

    from glorot.config import build_config
    from glorot.errors import GlorotError
    from glorot.pipeline.runs import run_configuration

    project = tmp_path / "copy"
    shutil.copytree(repro["project"], project, symlinks=True)
    (project / "data/shapeset/samples.png").write_bytes(b"changed")
    config = build_config(depth=1, width=8, updates=1, device="cpu")
    # In this process, opening the store sets MLFLOW_TRACKING_URI (mlflow.set_tracking_uri): restored
    # afterwards, or the later tests' subprocesses would inherit this test's store.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(GlorotError, match=r"data/shapeset/samples.png differs: the data differ from the version "
                                          r"in dvc.lock \(.*\.dir\); run `dvc checkout data/shapeset`"):
        run_configuration(config, "tiny", f"sqlite:///{tmp_path / 'x.db'}", root=project)
    from glorot.pipeline.tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'x.db'}", "tiny", project)
    [refused] = tracker.client.search_runs([tracker.experiment_id])
    assert refused.data.tags["status"] == "failed" and "samples.png differs" in refused.data.tags["error"]
    assert not refused.data.metrics  # refused before training: a failed run that names the cause, no update
