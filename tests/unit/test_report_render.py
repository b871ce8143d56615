"""The report's Markdown and self-contained HTML, Figure 5's experiment, and `glorot report` errors."""

import base64
import re

import numpy as np
import pytest
import yaml

from glorot.cli import main
from glorot.report import costsurface, figures, render
from glorot.report.records import Run, RunPanel, Series
from glorot.report.render import Bullets, DataTable, Heading, Image, Paragraph

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_markdown_and_html_from_blocks(tmp_path):
    record = Run(run_id="r", network="Tanh", depth=2, width=8, lr=0.1, seed=0,
                 series={f"L{i}/{k}": Series.of([[0, 0.1 * i], [10, 0.2 * i]])
                         for i in (1, 2) for k in ("act_p98", "act_std")})
    (tmp_path / "figures").mkdir()
    png = figures.saturation([RunPanel("Tanh", record)], tmp_path / "figures" / "fig03.png")
    assert png.read_bytes().startswith(PNG_MAGIC)
    blocks = [Heading(1, "Report <x>"), Paragraph("**bold** and `code` & more"), Bullets(["a", "b|c"]),
              DataTable(["network", "error"], [["Tanh | N", "not run"]]), Image("figures/fig03.png", "Figure 3")]
    md = render.to_markdown(blocks)
    assert md.startswith("# Report <x>\n") and "| Tanh \\| N | not run |" in md
    assert "![Figure 3](figures/fig03.png)" in md
    page = render.to_html(blocks, tmp_path, "t")
    assert "<h1>Report &lt;x&gt;</h1>" in page and "<strong>bold</strong>" in page and "<code>code</code>" in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == png.read_bytes()
    assert "http" not in page and "<link" not in page and "<script" not in page


def test_cost_surface_experiment_is_deterministic_and_shows_plateaus():
    a = costsurface.cost_surfaces(grid_points=15)
    b = costsurface.cost_surfaces(grid_points=15)
    assert a.surfaces == b.surfaces
    nll, quad = np.asarray(a.surfaces["nll"]), np.asarray(a.surfaces["quadratic"])
    assert nll.shape == quad.shape == (15, 15) and (nll > 0).all() and (quad >= 0).all()
    assert a.plateau_fraction["quadratic"] > a.plateau_fraction["nll"]


def test_cost_surface_uses_the_projects_costs():
    import torch

    from glorot.paper.costs import nll, quadratic
    from glorot.data import shapeset
    from glorot.paper.nets import MLP

    s = costsurface.cost_surfaces(grid_points=3, span=2.0)
    x, y = (torch.from_numpy(v) for v in shapeset.generate(costsurface.N_EXAMPLES, costsurface.DATA_SEED))
    net = MLP(1024, 9, depth=1, width=costsurface.WIDTH, activation="tanh", init="normalized",
              seed=costsurface.INIT_SEED)
    pixel, klass = int(x.var(0).argmax()), int(torch.bincount(y, minlength=9).argmax())
    with torch.no_grad():
        net.layers[0].weight[0, pixel], net.layers[1].weight[klass, 0] = -2.0, 2.0  # grid corner (0, 2)
        logits = net(x)
    assert abs(s.surfaces["nll"][0][2] - float(nll(logits, y)[0])) < 1e-5
    assert abs(s.surfaces["quadratic"][0][2] - float(quadratic(logits, y)[0])) < 1e-5


def test_plateau_fraction_of_a_flat_and_a_sloped_surface():
    grid = np.linspace(-1, 1, 11)
    assert costsurface.plateau_fraction(np.zeros((11, 11)), grid) == 1.0
    assert costsurface.plateau_fraction(np.add.outer(grid, grid), grid) == 0.0


def test_report_unknown_study_is_one_line_and_exit_2(tmp_path, capsys):
    params = {"study": "a", "studies": {"a": {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": [0.1],
                                              "updates": 1}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["report", "--study", "nope", "--params", str(tmp_path / "params.yaml")]) == 2
    assert capsys.readouterr().err == "glorot: error: unknown study 'nope'; valid: a\n"


@pytest.mark.parametrize("command", ["report", "summary", "results"])
def test_reading_a_store_that_does_not_exist_is_one_line_and_creates_nothing(tmp_path, capsys, monkeypatch, command):
    params = {"study": "a", "studies": {"a": {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": [0.1],
                                              "updates": 1}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main([command, "--params", str(tmp_path / "params.yaml")]) == 2
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert capsys.readouterr().err == (f"glorot: error: study 'a' has no sweep in {uri} (MLFLOW_TRACKING_URI) yet: "
                                       f"run `MLFLOW_TRACKING_URI={uri} glorot sweep --study a` first\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # no store, lock, report or page


@pytest.mark.parametrize("command", ["report", "summary", "results"])
def test_a_store_without_the_studys_sweep_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, command):
    from glorot.pipeline.tracking import Tracker

    params = {"study": "a", "studies": {"a": {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": [0.1],
                                              "updates": 1}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    Tracker(uri, "other", tmp_path)  # a store that exists, with another study's experiment only
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main([command, "--params", str(tmp_path / "params.yaml")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"glorot: error: study 'a' has no sweep in {uri} (MLFLOW_TRACKING_URI) yet: run `MLFLOW_TRACKING_URI={uri} "
        f"glorot sweep --study a` first")
    assert not (tmp_path / "reports").exists() and not (tmp_path / "docs").exists()


@pytest.mark.parametrize("command", ["report", "summary", "results"])
def test_the_projects_own_store_is_not_said_to_come_from_mlflow_tracking_uri(tmp_path, capsys, monkeypatch, command):
    """Opening a store sets ``MLFLOW_TRACKING_URI`` in the process (mlflow's ``set_tracking_uri``);
    the message still says where the store came from as the user chose it: params.yaml's default."""
    from glorot.pipeline.tracking import Tracker

    params = {"study": "a", "studies": {"a": {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": [0.1],
                                              "updates": 1}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    Tracker(uri, "other", tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([command, "--params", str(tmp_path / "params.yaml")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (f"glorot: error: study 'a' has no sweep in {uri} yet: run "
                                                        f"`dvc repro` first")
