"""glorot.pipeline.progress: one line per evaluation with rate and ETA, and the inner logger flushed
once every metric of an evaluated update is logged (so MLflow shows each point at once)."""

import pytest

from glorot.config import build_config
from glorot.paper.probes import ProbeRecord
from glorot.pipeline.progress import Progress, ProgressLogger, format_eta
from glorot.pipeline.runs import run_configuration
from glorot.pipeline.tracking import Tracker


@pytest.mark.parametrize("seconds,text", [(None, "-"), (0, "0:00:00"), (59.6, "0:01:00"), (3725, "1:02:05"),
                                          (90061, "25:01:01")])
def test_eta_is_hours_minutes_seconds(seconds, text):
    assert format_eta(seconds) == text


def test_the_line_names_configuration_update_error_speed_and_eta():
    event = Progress("Tanh N / Shapeset-3x2 d5 w250 lr=0.01 s0", 4500, 9000, 0.41234, 85.26, 52.8)
    assert event.line() == ("Tanh N / Shapeset-3x2 d5 w250 lr=0.01 s0: update 4500/9000 (50%), valid error 0.4123, "
                            "85.3 upd/s, ETA 0:00:53")
    assert Progress("x", 0, 10, 0.5, None, None).line() == "x: update 0/10 (0%), valid error 0.5000, - upd/s, ETA -"


class Recorder:
    """An inner logger that records what reaches it, flushes included."""

    def __init__(self):
        self.calls = []

    def log_metrics(self, metrics, step):
        self.calls.append(("metrics", step))

    def log_probe(self, record):
        self.calls.append(("probe", record.update))

    def log_pretraining(self, metrics, step):
        self.calls.append(("pretrain", step))

    def flush(self):
        self.calls.append(("flush",))


def test_the_wrapper_reports_each_evaluation_and_flushes_after_the_updates_last_metric():
    config = build_config(depth=1, width=4, updates=40, eval_every=20, probe_every=10)
    times = iter([100.0, 104.0, 108.0])
    inner, events = Recorder(), []
    logger = ProgressLogger(inner, config, events.append, "run1", "http://x/run1", clock=lambda: next(times))
    probe = lambda u: ProbeRecord(update=u, layers=[], histograms={})  # noqa: E731
    for update in (0, 20, 40):
        logger.log_metrics({"valid/error": 0.5 - update / 100, "test/error": 0.5}, update)
        logger.log_probe(probe(update))
        if update == 0:
            logger.log_probe(probe(10))  # a diagnostics-only update: nothing is flushed
    assert [e.update for e in events] == [0, 20, 40] and {(e.run_id, e.run_url) for e in events} == {("run1", "http://x/run1")}
    assert [e.updates_per_s for e in events] == [None, 5.0, 5.0] and [e.eta_s for e in events] == [None, 4.0, 0.0]
    assert inner.calls == [("metrics", 0), ("probe", 0), ("flush",), ("probe", 10),
                           ("metrics", 20), ("probe", 20), ("flush",), ("metrics", 40), ("probe", 40), ("flush",)]


def test_an_evaluation_without_diagnostics_is_flushed_at_once():
    config = build_config(depth=1, width=4, updates=40, eval_every=10, probe_every=20)
    inner = Recorder()
    logger = ProgressLogger(inner, config, lambda e: None)
    logger.log_metrics({"valid/error": 0.3}, 10)
    logger.log_metrics({"diverged_at": 13.0}, 13)
    assert inner.calls == [("metrics", 10), ("flush",), ("metrics", 13)]


def test_mlflow_shows_each_evaluation_before_the_next_one_without_checkpoints(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "progress", tmp_path)
    config = build_config(depth=1, width=8, updates=30, eval_every=10, probe_every=10, probe_size=10,
                          valid_size=60, test_size=60, device="cpu")
    seen = {}

    def on_progress(event):
        history = tracker.client.get_metric_history(event.run_id, "valid/error") if event.update else []
        seen[event.update] = sorted(m.step for m in history)

    summary = run_configuration(config, "progress", tracker.uri, None, tmp_path, None, checkpoint_every=10_000,
                                on_progress=on_progress, tags={"prefect.flow_run_id": "flow-1"})
    assert seen == {0: [], 10: [0], 20: [0, 10], 30: [0, 10, 20]}
    run = tracker.client.get_run(summary["run_id"])
    assert sorted(m.step for m in tracker.client.get_metric_history(run.info.run_id, "valid/error")) == [0, 10, 20, 30]
    assert run.data.tags["prefect.flow_run_id"] == "flow-1"
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "shapeset" and dataset.dataset.digest == run.data.tags["data_version"]
    assert {t.key: t.value for t in dataset.tags} == {"mlflow.data.context": "training"}


def test_the_default_prints_a_line_per_evaluation(tmp_path, capsys):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "progress", tmp_path)
    config = build_config(depth=1, width=8, updates=20, eval_every=10, probe_every=10, probe_size=10,
                          valid_size=60, test_size=60, device="cpu")
    run_configuration(config, "progress", tracker.uri, None, tmp_path, None)
    lines = [line for line in capsys.readouterr().out.splitlines() if ": update " in line]
    assert [line.split(": update ")[1].split(" ")[0] for line in lines] == ["0/20", "10/20", "20/20"]
    assert all(line.startswith(f"{config.label}: ") for line in lines)
