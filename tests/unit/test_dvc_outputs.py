"""The outputs that DVC hashes (dvc.yaml's outs, metrics and plots of the sweep and report
stages) hold only what the results decide (issue 23): two sweeps with the same results but other
run ids, tracking stores, git commits and folders write the same bytes, so `dvc repro` of a fresh
clone leaves dvc.lock, and `git status`, as they were. Where the sweep is goes to tracking.json,
which no stage declares."""

import filecmp
import json
import re
import uuid
from dataclasses import replace
from pathlib import Path

import yaml
from test_dvc_pipeline import declared_stages
from test_report_build import FakeSource

from glorot.pipeline.summary import write_summary
from glorot.report.build import TRACKING_FILE, build_report

REPO = Path(__file__).resolve().parents[2]
STUDY = yaml.safe_load((REPO / "params.yaml").read_text())["study"]  # what declared_stages resolves ${study} to
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")  # an MLflow run id


def _declared(stage: str, folder: str) -> list[str]:
    """The names, inside ``folder``, of what ``stage`` of dvc.yaml declares there (outs, metrics, plots)."""
    prefix = f"{folder}/{STUDY}/"
    outs = declared_stages("dvc.yaml")[stage]["outs"]
    assert all(out.startswith(prefix) for out in outs)
    return sorted(out[len(prefix):] for out in outs)


def _files(folder: Path, names: list[str]) -> list[Path]:
    """Every file of ``names`` under ``folder``, folders walked."""
    paths = [folder / name for name in names]
    return sorted(f.relative_to(folder) for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())


def _assert_same_and_clean(a: Path, b: Path, names: list[str], forbidden: list[str]) -> None:
    files = _files(a, names)
    assert files and files == _files(b, names)
    for rel in files:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), f"{rel} differs between two sweeps with the same results"
        if rel.suffix in (".json", ".md", ".csv", ".html"):
            text = (a / rel).read_text()
            assert not RUN_ID.search(text), f"{rel} holds a run id"
            assert not [f for f in forbidden if f in text], f"{rel} holds {forbidden}"


def _row(run_id: str, lr: float) -> dict:
    return {"run_id": run_id, "network": "Tanh", "dataset": "shapeset", "depth": 5, "width": 250, "lr": lr, "seed": 0,
            "updates": 9000, "status": "completed", "valid_error_pct": 20.5 + lr, "test_error_pct": 21.25 + lr,
            "paper_test_error_pct": 27.15}


def test_the_sweeps_dvc_outputs_are_the_same_bytes_for_the_same_results(tmp_path):
    names = _declared("sweep", "results")
    assert names == ["runs.json", "summary.json"]
    for sweep in ("a", "b"):
        store = f"sqlite:///{tmp_path / sweep / 'project'}/mlflow.db"
        rows = [_row(uuid.uuid4().hex, lr) for lr in (0.01, 0.1)]
        write_summary(tmp_path / sweep / "summary.json", "quick", uuid.uuid4().hex, rows,
                      {"shapeset": f"glorot-quick-shapeset/{len(sweep) + ord(sweep)}"}, store)
    _assert_same_and_clean(tmp_path / "a", tmp_path / "b", names, [str(tmp_path)])
    where = [json.loads((tmp_path / s / "tracking.json").read_text()) for s in "ab"]  # what moved, kept apart
    assert where[0]["parent_run_id"] != where[1]["parent_run_id"]
    assert where[0]["registered_models"] != where[1]["registered_models"]


def test_the_reports_dvc_outputs_are_the_same_bytes_for_the_same_results(tmp_path):
    names = _declared("report", "reports")
    assert {"report.md", "report.html", "table1.json", "metrics.json", "figures"} <= set(names)
    assert TRACKING_FILE not in names
    for sweep in ("a", "b"):
        source = FakeSource()
        source.parent_id = uuid.uuid4().hex
        source.parent = replace(source.parent, run_id=source.parent_id, name=f"sweep-{sweep}-20261206-0315")
        source.runs = [replace(r, run_id=uuid.uuid4().hex, git_commit=f"{uuid.uuid4().hex[:8]}+dirty")
                       for r in source.runs][::1 if sweep == "a" else -1]  # MLflow gives them in start order
        build_report(source, "fake", tmp_path / sweep / "report", f"sqlite:///{tmp_path / sweep}/mlflow.db",
                     data_dir=tmp_path / sweep / "data", log_to_mlflow=False)
    _assert_same_and_clean(tmp_path / "a" / "report", tmp_path / "b" / "report", names, [str(tmp_path), "+dirty"])
    where = json.loads((tmp_path / "a" / "report" / TRACKING_FILE).read_text())
    assert where["tracking_uri"] == f"sqlite:///{tmp_path / 'a'}/mlflow.db" and RUN_ID.fullmatch(where["parent_run_id"])
    assert where["parent_run_name"] == "sweep-a-20261206-0315" and len(where["git_commits"]) == len(source.runs)
