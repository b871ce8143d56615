"""``glorot summary`` as the paper's Table 1 (glorot.report.summary, issue 23)."""

import re

import pytest
import yaml

from glorot.cli import main
from glorot.report.records import Run
from glorot.report.summary import runs_text, summary_text, table_text
from glorot.report.table1 import build_table

SEEDS = (0, 1, 2)


def run(network, lr=0.1, seed=0, valid=0.2, test=0.2, dataset="shapeset", depth=5, width=8, status="completed"):
    return Run(run_id=f"{network}-{dataset}-{depth}-{lr}-{seed}", network=network, dataset=dataset, depth=depth,
               width=width, lr=lr, seed=seed, updates=40, status=status, valid_error=valid, test_error=test)


def _rows(text):
    """The table's rows by (network, data set): their columns split on two or more spaces."""
    out = {}
    for line in text.splitlines()[1:]:
        m = re.match(r"(\S+(?: N)?)\s+(Shapeset-3x2|MNIST)\s+(.*)", line)
        if m:
            out[m[1], m[2]] = m[3].split()
    return out


@pytest.fixture
def runs():
    # Written in an order that is not the paper's; Tanh N is the best, Sigmoid far behind it; every
    # network ran the same grid, where 0.01 is the worse rate on validation.
    out = []
    for lr in (0.01, 0.1):
        worse = 0.1 if lr == 0.01 else 0.0
        out += [run("Sigmoid", lr, s, valid=0.8 + worse, test=0.80 + s / 100) for s in SEEDS]
        out += [run("Tanh N", lr, s, valid=0.16 + worse, test=0.15 + s / 100) for s in SEEDS]
        out += [run("Tanh", lr, s, valid=0.2 + worse, test=0.16 + s / 100) for s in SEEDS]
        out += [run("Tanh", lr, s, valid=0.02 + worse, test=0.03, dataset="mnist") for s in SEEDS]
    return out


def test_one_row_per_network_in_the_papers_order_with_chosen_rate_paper_and_test(runs):
    text = table_text(build_table(runs))
    names = [line.split("  ")[0].strip() for line in text.splitlines()[1:] if not line.startswith("not decided")]
    assert names == ["Tanh", "Tanh N", "Sigmoid", "Tanh"]  # Shapeset-3x2 in the paper's order, then MNIST
    rows = _rows(text)
    tanh_n = rows["Tanh N", "Shapeset-3x2"]
    assert tanh_n[:7] == ["5", "8", "0.1", "16.00", "±", "1.00", "3"]  # depth, width, lr, mean ± sd, seeds
    assert tanh_n[7:] == ["15.60", "+0.40", "best"]  # the paper's value, the difference, the test
    assert rows["Sigmoid", "Shapeset-3x2"][7:9] == ["82.61", "-1.61"]
    assert rows["Sigmoid", "Shapeset-3x2"][9] == "differs" and "Welch" in " ".join(rows["Sigmoid", "Shapeset-3x2"])
    assert rows["Tanh", "MNIST"][-1] == "best"


def test_the_paper_value_is_only_beside_its_own_depth():
    text = table_text(build_table([run("Tanh", depth=2, seed=s) for s in SEEDS]))
    assert _rows(text)["Tanh", "Shapeset-3x2"][7:] == ["-", "-", "best"]


def test_a_diverged_cell_and_an_undecided_comparison_say_so():
    runs = [run("Tanh", status="diverged", valid=None, test=None), run("Tanh N", valid=0.2), run("Softsign", valid=0.3, test=0.3)]
    text = table_text(build_table(runs))
    assert _rows(text)["Tanh", "Shapeset-3x2"][2:4] == ["-", "diverged"]
    assert _rows(text)["Softsign", "Shapeset-3x2"][-2:] == ["not", "decided"]
    assert "\nnot decided: fewer than 3 seeds" in text


def test_the_scale_line_and_every_configuration_with_the_chosen_rate_marked(runs):
    table = build_table(runs)
    text = summary_text(table, runs, every_run=True)
    assert "scale: 5 hidden layers of 8 units, 40 updates (the paper: 5 hidden layers of 1000 units, millions" in text
    listed = runs_text(table, runs).splitlines()[1:-1]
    assert len(listed) == len(runs)
    marked = [line.split()[1:5] for line in listed if line.startswith("*")]
    assert ["Tanh", "N", "Shapeset-3x2", "5"] in marked and len(marked) == len(runs) // 2  # lr 0.01: not chosen
    assert all(line.startswith(" ") for line in listed if " 0.01 " in line)
    # Sorted as the table (Shapeset-3x2's Tanh first), then by rate and seed.
    assert [line.split()[:2] for line in listed[:6]] == [["Tanh", "Shapeset-3x2"]] * 3 + [["*", "Tanh"]] * 3
    assert "every configuration" not in summary_text(table, runs)


def test_glorot_summary_prints_the_rules_rate_from_mlflow(tmp_path, capsys, monkeypatch):
    """A sweep in a real (SQLite) store where the old rules disagreed (test_one_lr_rule's
    SWEEP): the summary's chosen rate is the rule's."""
    from mlflow.entities import Metric, RunTag

    from glorot.config import build_config
    from glorot.pipeline.tracking import Tracker
    from test_one_lr_rule import SWEEP

    study = {"datasets": ["shapeset"], "networks": ["Tanh"], "lrs": list(SWEEP), "seeds": list(SEEDS), "updates": 1}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"study": "s", "studies": {"s": study}}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracker = Tracker(uri, "s", tmp_path)
    parent = tracker.start_parent({"glorot.sweep_key": "k"})
    for lr, by_seed in SWEEP.items():
        for seed, errors in by_seed.items():
            run_id = tracker.start_child(parent, build_config(lr=lr, seed=seed, width=8, updates=40), {})
            metrics = [] if errors is None else [Metric(f"final/{k}", e, 0, 40)
                                                 for k, e in zip(("valid_error", "test_error"), errors)]
            tracker.client.log_batch(run_id, metrics=metrics,
                                     tags=[RunTag("status", "diverged" if errors is None else "completed")])
    assert main(["summary", "--params", str(tmp_path / "params.yaml"), "--all"]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["Tanh", "Shapeset-3x2"][2] == "0.01"
    marked = {line.split()[5] for line in out.splitlines() if line.startswith("* ")}
    assert marked == {"0.01"}
