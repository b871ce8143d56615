"""glorot.pipeline.progress's sweep display: on a terminal, an overall bar (k of n configurations,
ETA) and a bar per running group; elsewhere, a line per finished configuration and an overall line
at a bounded rate; group names that say what the group holds; the MLflow UI line; MLflow's database
set-up chatter kept quiet."""

import io
import os
import random

from glorot.config import build_config
from glorot.pipeline.progress import (Progress, SweepDisplay, active_display, group_label, hush_tracking_setup,
                                      ui_line)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def configs(activations=("tanh", "softsign"), lrs=(0.01, 0.1), updates=100):
    return [build_config(activation=a, init="normalized", depth=2, width=4, lr=lr, updates=updates, seed=0,
                         eval_every=50, probe_every=50) for a in activations for lr in lrs]


def evaluations(groups, every=50):
    """Each group's configurations evaluated in turn, as a running sweep reports them."""
    for group in groups:
        for update in range(0, group[0].updates + 1, every):
            for c in group:
                yield Progress(c.label, update, c.updates, 0.5 - update / 1000, None, None)


class Clock:
    """The time that a test sets (``now``)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_group_is_named_for_all_it_holds_in_any_order():
    group = configs()
    shuffled = random.Random(1).sample(group, len(group))
    assert group_label(group) == group_label(shuffled) == \
        "Softsign N, Tanh N / Shapeset-3x2 d2 w4 lr=0.01,0.1 s0 (4 configurations)"
    assert group_label(group[:1]) == group[0].label
    many = [c.model_copy(update={"seed": s}) for c, s in zip(configs(lrs=(0.01,) * 6), range(6))]
    assert group_label(many).endswith("lr=0.01 s0,1,2,3,+2 (6 configurations)")


def test_off_a_terminal_lines_come_per_finished_configuration_and_at_a_bounded_rate():
    groups = [configs(("tanh",)), configs(("softsign",))]
    out, clock = io.StringIO(), Clock()
    with SweepDisplay(groups, n_configs=6, done_before=2, stream=out, every_s=30.0, clock=clock) as display:
        for event in evaluations(groups):
            clock.now += 10.0
            display.progress(event)
        display.groups_ended(4, 1)
    lines = out.getvalue().splitlines()
    finished = [line for line in lines if line.startswith("finished ")]
    assert finished[0] == "finished Tanh N / Shapeset-3x2 d2 w4 lr=0.01 s0: valid error 0.4000" and len(finished) == 4
    overall = [line for line in lines if line.startswith("sweep: ")]
    assert overall[0] == "sweep: 2/6 configurations done, 0% of updates, ETA -"
    assert len(overall) == 5  # 12 evaluations 10 s apart: at 10, 40, 70 and 100 s, and the last one
    assert overall[-1] == "sweep: 6/6 configurations done, 1 failed, 100% of updates, ETA 0:00:00"
    assert "\r" not in out.getvalue()


def test_on_a_terminal_an_overall_bar_and_a_bar_per_running_group():
    groups = [configs(("tanh",)), configs(("softsign",))]
    out = Terminal()
    with SweepDisplay(groups, n_configs=4, stream=out, clock=Clock()) as display:
        events = list(evaluations(groups))
        for event in events[:4]:
            display.progress(event)
        screen = out.getvalue()
        assert "Tanh N / Shapeset-3x2 d2 w4 lr=0.01,0.1 s0 (2 configurations)" in screen
        assert "Softsign" not in screen and "0/4 configurations done" in screen
        for event in events[4:]:
            display.progress(event)
        assert "Softsign N / Shapeset-3x2" in out.getvalue()
    screen = out.getvalue()
    assert "4/4 configurations done" in screen and "400/400" in screen
    assert "finished " not in screen and "sweep: " not in screen  # the plain lines are for logs only


def test_a_resumed_configuration_counts_only_what_is_trained_now():
    group = configs(("tanh",), (0.01,))
    out = io.StringIO()
    clock = Clock()
    display = SweepDisplay([group], n_configs=1, stream=out, every_s=0.0, clock=clock)
    for update in (50, 75):
        clock.now += 10.0
        display.progress(Progress(group[0].label, update, 100, 0.4, None, None))
    assert out.getvalue().splitlines()[-1] == "sweep: 0/1 configurations done, 50% of updates, ETA 0:00:20"
    display.progress(Progress(group[0].label, 100, 100, 0.3, None, None))
    display.close()
    assert out.getvalue().splitlines()[0] == "sweep: 0/1 configurations done, 0% of updates, ETA -"
    assert "sweep: 1/1 configurations done, 100% of updates, ETA 0:00:00" in out.getvalue()


def test_the_display_is_the_processs_own_while_open():
    assert active_display() is None
    with SweepDisplay([configs()], n_configs=4, stream=io.StringIO()) as display:
        assert active_display() is display
    assert active_display() is None


def test_the_ui_line_links_a_servers_runs_or_names_the_command_for_a_local_store():
    served = ui_line("http://mlflow:5000", "3", "p1", "quick")
    assert served.startswith("MLflow: http://mlflow:5000/#/experiments/3/runs?") and "p1" in served
    assert "glorot ui --study quick" in ui_line("sqlite:///x/mlflow.db", "3", "p1", "quick")


def test_mlflows_database_setup_is_not_shown_nor_its_run_addresses(tmp_path, capfd, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "")
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT")  # both undone at the end
    hush_tracking_setup()
    assert os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
    MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").search_experiments()
    assert "database tables" not in capfd.readouterr().err
