"""flows/sweep.py's progress callback: a log line per evaluation, one Prefect progress artifact per
configuration (created once, then updated) with a valid key, and a link to each MLflow run."""

import re

import flows.sweep as flow
from glorot.pipeline.progress import Progress


def test_each_configuration_gets_one_progress_artifact_and_a_link_to_its_run(monkeypatch):
    calls, lines = [], []
    monkeypatch.setattr(flow, "get_run_logger", lambda: type("Log", (), {"info": staticmethod(lines.append)}))
    monkeypatch.setattr(flow, "create_progress_artifact",
                        lambda progress, key, description: calls.append(("create", key, progress)) or key)
    monkeypatch.setattr(flow, "update_progress_artifact",
                        lambda artifact, progress, description: calls.append(("update", artifact, progress)))
    monkeypatch.setattr(flow, "create_link_artifact", lambda link, text, key: calls.append(("link", key, link)))
    monkeypatch.setattr(flow, "create_markdown_artifact", lambda text, key: calls.append(("markdown", key, text)))
    report = flow.prefect_progress("quick_2")
    served = "Tanh N / Shapeset-3x2 d5 w250 lr=0.01 s0"
    local = "Tanh / Shapeset-3x2 d5 w250 lr=0.1 s0"
    for update in (0, 50, 100):
        report(Progress(served, update, 100, 0.5, None, None, "r1", "http://mlflow:5000/#/experiments/1/runs/r1"))
        report(Progress(local, update, 100, 0.5, None, None, "r2"))
    key = "glorot-quick-2-tanh-n-shapeset-3x2-d5-w250-lr-0-01-s0-progress"
    assert calls[:2] == [("create", key, 0.0), ("link", key.replace("-progress", "-run"),
                                                  "http://mlflow:5000/#/experiments/1/runs/r1")]
    assert calls[3][0] == "markdown" and "`r2`" in calls[3][2]
    assert [c for c in calls if c[1] == key] == [("create", key, 0.0), ("update", key, 50.0), ("update", key, 100.0)]
    assert all(re.fullmatch(r"[a-z0-9-]+", c[1]) for c in calls if c[0] != "update")
    assert len(lines) == 6 and lines[0].startswith(f"{served}: update 0/100")


def test_with_a_sweep_display_open_the_evaluations_go_to_it_not_to_the_log(monkeypatch):
    import io

    from glorot.config import build_config
    from glorot.pipeline.progress import SweepDisplay

    lines = []
    monkeypatch.setattr(flow, "get_run_logger", lambda: type("Log", (), {"info": staticmethod(lines.append)}))
    for name in ("create_progress_artifact", "update_progress_artifact", "create_link_artifact",
                 "create_markdown_artifact"):
        monkeypatch.setattr(flow, name, lambda *a, **k: None)
    config = build_config(depth=1, width=4, updates=100)
    out = io.StringIO()
    with SweepDisplay([[config]], n_configs=1, stream=out):
        flow.prefect_progress("quick")(Progress(config.label, 100, 100, 0.5, None, None, "r1"))
    assert lines == [] and f"finished {config.label}: valid error 0.5000" in out.getvalue()
