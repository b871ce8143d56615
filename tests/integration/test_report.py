"""`glorot report` on a real tiny sweep recorded by Prefect into a temporary MLflow store."""

import json
import re
import sys

import pytest
from mlflow.tracking import MlflowClient

from .project import BIN, generate_shapeset, make_project, prefect_home, run

pytestmark = pytest.mark.integration

STUDY = {
    "description": "three tiny networks for the report test",
    "datasets": ["shapeset"], "networks": ["Tanh", "Tanh N", "Sigmoid"], "depths": [2], "widths": [16],
    "lrs": [0.1], "seeds": [0], "updates": 40, "eval_every": 10, "probe_every": 10, "probe_size": 20,
    "device": "cpu",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    project = make_project(tmp / "project", STUDY)
    generate_shapeset(project)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    extra = {"MLFLOW_TRACKING_URI": uri, "PREFECT_HOME": prefect_home(tmp / "prefect-home")}
    run([sys.executable, "flows/sweep.py", "--study", "tiny", "--concurrency", "2"], project, **extra)
    proc = run([str(BIN / "glorot"), "report", "--study", "tiny"], project, **extra)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("glorot-tiny")
    runs = client.search_runs([experiment.experiment_id])
    yield {"out": project / "reports" / "tiny", "stdout": proc.stdout, "client": client, "runs": runs}


def test_table_shows_exactly_the_runs_that_exist(report):
    doc = json.loads((report["out"] / "table1.json").read_text())
    children = [r for r in report["runs"] if r.data.tags.get("glorot.kind") == "config"]
    column = doc["depth_2"]["Shapeset-3x2"]
    assert {n for n, c in column.items() if c["status"] == "ok"} == {"Tanh", "Tanh N", "Sigmoid"}
    assert column["Softsign"] == {"status": "not run", "paper_pct": 16.27}
    assert all(c["status"] == "not run" for c in doc["depth_2"]["MNIST"].values())
    for child in children:
        cell = column[child.data.tags["paper_cell"].split(" / ")[0]]
        assert cell["test_error_pct"] == pytest.approx(100 * child.data.metrics["final/test_error"], abs=1e-3)
        assert cell["lr"] == 0.1 and cell["seeds"] == 1 and cell["updates"] == 40
        # one seed: McNemar's test when the run logged test_correct.npy, else not decided, with the reason
        assert cell["test"] in ((None,) if cell["best"] else (None, "McNemar exact test on the test set"))
        assert cell["best"] or cell["test"] or "test_correct.npy" in cell["not_decided"]
    md = (report["out"] / "report.md").read_text()
    assert re.search(r"\| Softsign \| not run \| 16\.27 \| - \|", md)
    assert "McNemar" in md and "Welch" in md


def test_figures_are_png_and_missing_ones_are_listed(report):
    figures = {p.name: p for p in (report["out"] / "figures").glob("*.png")}
    for name in ("fig02_sigmoid_activations", "fig03_saturation_tanh_softsign", "fig05_cost_surfaces",
                 "fig06_init_activations", "fig07_init_backprop_gradients", "fig08_init_weight_gradients",
                 "fig09_weight_gradient_std", "fig10_saturation_tanh_n", "fig11_test_error_shapeset",
                 "fig04_final_activation_histograms", "theory_variances"):
        data = figures[f"{name}.png"].read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
    assert "fig12_test_error_image_sets.png" not in figures
    md = (report["out"] / "report.md").read_text()
    assert "fig12_test_error_image_sets: no trained MNIST, CIFAR-10 or Small-ImageNet run" in md
    lines = (report["out"] / "curves.csv").read_text().splitlines()
    assert lines[0] == "update,series,network,dataset,depth,width,test_error_pct,valid_error_pct"
    rows = [ln.split(",") for ln in lines[1:]]
    assert {r[1] for r in rows} == {"Tanh", "Tanh N", "Sigmoid"}
    assert [r[0] for r in rows if r[1] == "Tanh"] == ["0", "10", "20", "30", "40"]


def test_html_is_self_contained(report):
    page = (report["out"] / "report.html").read_text()
    srcs = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(srcs) >= 10 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"<link|<script|href=|url\(", page)


def test_verdicts_and_theory_are_computed(report):
    verdicts = json.loads((report["out"] / "verdicts.json").read_text())
    by_id = {v["id"]: v for v in verdicts}
    assert set(v["status"] for v in verdicts) <= {"reproduced", "not reproduced", "not decided", "not run"}
    assert by_id["fig3_tanh_sequential"]["status"] != "not run"  # Tanh, 2 layers, trained
    assert by_id["sec422_jacobian"]["status"] != "not run" and by_id["sec422_jacobian"]["numbers"]
    assert by_id["table1_tanh_n_vs_tanh"]["status"] != "not run"
    assert "40 updates, 1 seed(s)" in by_id["sec422_jacobian"]["scale"]
    theory = json.loads((report["out"] / "theory.json").read_text())
    assert {(r["network"], r["layer"]) for r in theory["rows"]} == {("Tanh", 1), ("Tanh", 2), ("Tanh N", 1),
                                                                    ("Tanh N", 2)}
    assert theory["var_x"]["shapeset"] > 0 and "prepared shapeset test split" in theory["input_source"]["shapeset"]
    assert theory["x_second_moment"]["shapeset"] >= theory["var_x"]["shapeset"]


def test_report_is_attached_to_the_sweeps_parent_run(report):
    client = report["client"]
    (parent,) = [r for r in report["runs"] if r.data.tags.get("glorot.kind") == "sweep"]
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/report.md", "report/table1.json", "report/figures"} <= names
    assert client.get_run(parent.info.run_id).data.tags["glorot.report"] == "report/report.html"
    assert f"logged the report to MLflow run {parent.info.run_id}" in report["stdout"]
