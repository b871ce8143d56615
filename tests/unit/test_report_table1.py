"""Table 1 from run records: learning rate chosen on validation error, not-run cells left empty."""

import json
from dataclasses import replace

import numpy as np
import pytest

from glorot.report.records import Run
from glorot.report.table1 import (DIVERGED, FAILED, NOT_RUN, OK, RUNNING, build_cell, build_table, cell_text,
                                  metrics_json, select_lr)


def run(network="Tanh N", dataset="shapeset", depth=5, lr=0.01, seed=0, valid=0.2, test=0.2,
        status="completed", test_n=10_000):
    return Run(run_id=f"{network}-{dataset}-{depth}-{lr}-{seed}", network=network, dataset=dataset,
               depth=depth, lr=lr, seed=seed, updates=1000, status=status,
               valid_error=valid, test_error=test, test_n=test_n)


def test_lr_chosen_by_mean_validation_error_not_test_error():
    runs = [run(lr=0.01, seed=s, valid=0.30, test=0.10) for s in (0, 1)]  # best test, worse valid
    runs += [run(lr=0.1, seed=s, valid=v, test=0.25) for s, v in ((0, 0.20), (1, 0.22))]
    lr, summary = select_lr(runs)
    assert lr == 0.1
    assert summary[0.1].mean_valid_error_pct == pytest.approx(21.0)
    cell = build_cell("Tanh N", "shapeset", 5, runs)
    assert cell.state == OK and cell.lr == 0.1
    assert cell.mean_pct == pytest.approx(25.0) and cell.std_pct == pytest.approx(0.0)
    assert cell.paper_pct == 15.60 and cell.diff_pct == pytest.approx(25.0 - 15.60)


def test_diverged_runs_are_ignored_when_choosing():
    runs = [run(lr=0.1, valid=0.05, test=0.05, status="diverged"), run(lr=0.1, seed=1, valid=0.9, test=0.9,
                                                                       status="diverged"),
            run(lr=0.01, valid=0.3, test=0.31)]
    cell = build_cell("Tanh", "shapeset", 5, runs)
    assert cell.lr == 0.01 and cell.mean_pct == pytest.approx(31.0)
    assert cell.lrs["0.1"].diverged == 2 and cell.lrs["0.1"].mean_valid_error_pct is None


def test_all_diverged_cell_is_marked_not_filled():
    cell = build_cell("Sigmoid", "shapeset", 5, [run("Sigmoid", status="diverged")])
    assert cell.state == DIVERGED and cell.mean_pct is None
    assert cell_text(cell) == "diverged"


def test_a_cell_still_training_is_running_not_failed():
    """A sweep read mid-training (``glorot summary`` beside a long study): no rate is chosen yet."""
    cell = build_cell("Tanh", "mnist", 5, [run("Tanh", "mnist", status="running"),
                                            run("Tanh", "mnist", lr=0.1, status="failed")])
    assert cell.state == RUNNING and cell_text(cell) == "running"
    assert cell.lrs["0.01"].failed == 0 and cell.lrs["0.1"].failed == 1
    assert build_cell("Tanh", "mnist", 5, [run("Tanh", "mnist", status="failed")]).state == FAILED


def test_table_marks_cells_not_run_and_keeps_paper_rows():
    runs = [run("Tanh", test=0.27, valid=0.27), run("Tanh N", test=0.16, valid=0.16)]
    table = build_table(runs)
    assert table.networks[:5] == ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")
    assert table.datasets == ("shapeset", "mnist", "cifar10", "small_imagenet")
    (t,) = table.tables
    assert t.depth == 5
    ran = {k for k, c in t.cells.items() if c.state == OK}
    assert ran == {("Tanh", "shapeset"), ("Tanh N", "shapeset")}
    for key, cell in t.cells.items():
        if key not in ran:
            assert cell.state == NOT_RUN and cell_text(cell) == "not run" and cell.mean_pct is None
    sig = t.significance["shapeset"]
    assert sig.best == "Tanh N" and sig.comparisons["Tanh"].method is None  # one seed, no per-example correctness
    assert "test_correct.npy" in sig.comparisons["Tanh"].reason
    assert t.significance["mnist"].best is None


def test_one_seed_cells_are_compared_by_mcnemar_on_the_test_set():
    rng = np.random.default_rng(0)
    truth = rng.random(10_000) < 0.73
    arrays = {"Tanh-shapeset-5-0.01-0": truth.astype(np.uint8),
              "Tanh N-shapeset-5-0.01-0": (truth | (rng.random(10_000) < 0.4)).astype(np.uint8)}
    table = build_table([run("Tanh", test=0.27, valid=0.27), run("Tanh N", test=0.16, valid=0.16)], arrays.get)
    comp = table.tables[0].significance["shapeset"].comparisons["Tanh"]
    assert comp.method == "McNemar exact test on the test set" and comp.significant and comp.power > 0.99
    doc = metrics_json(table, "quick")["depth_5"]["Shapeset-3x2"]["Tanh"]
    assert doc["test"] == comp.method and doc["differs_from_best"] and doc["power"] > 0.99
    assert doc["not_decided"] is None


def test_cells_record_the_design_they_ran():
    runs = [run(lr=lr, seed=s) for lr in (0.01, 0.1) for s in (0, 1)] + [run(lr=0.1, seed=2, status="diverged")]
    cell = build_cell("Tanh N", "shapeset", 5, runs)
    assert cell.lr_grid == (0.01, 0.1) and cell.seeds_run == (0, 1, 2) and cell.updates_run == (1000,)
    assert cell.widths == (0,)  # the records' default width
    assert build_cell("Tanh", "shapeset", 5, [run("Tanh", status="diverged")]).seeds_run == (0,)


def test_one_table_per_depth_and_extra_networks_listed():
    runs = [run("Sigmoid", depth=4), run("Sigmoid", depth=5), run("Relu/he", depth=5)]
    table = build_table(runs)
    assert table.depths == (4, 5) and table.networks[-1] == "Relu/he"
    assert table.tables[0].cells[("Sigmoid", "shapeset")].like_for_like is False


def test_metrics_json_is_valid_json_with_not_run_cells():
    table = build_table([run("Tanh N", seed=s, test=0.15 + 0.01 * s) for s in range(3)])
    doc = json.loads(json.dumps(metrics_json(table, "quick")))
    cell = doc["depth_5"]["Shapeset-3x2"]["Tanh N"]
    assert cell["status"] == "ok" and cell["seeds"] == 3 and cell["best"] is True
    assert cell["test_error_pct"] == pytest.approx(16.0) and cell["std_pct"] == pytest.approx(1.0)
    assert doc["depth_5"]["MNIST"]["Tanh"] == {"status": "not run", "paper_pct": 1.76}
    assert doc["depth_5"]["Shapeset-3x2"]["Tanh N"]["power"] is None  # the best has no test


def test_several_widths_get_their_own_tables():
    runs = [replace(run("Tanh", test=0.3, valid=0.3), width=100),
            replace(run("Tanh", test=0.2, valid=0.2), width=1000, run_id="wide")]
    table = build_table(runs)
    assert [(t.depth, t.width) for t in table.tables] == [(5, 100), (5, 1000)]
    assert table.tables[1].cells[("Tanh", "shapeset")].run_ids == ("wide",)
    assert set(metrics_json(table, "s")) >= {"depth_5_width_100", "depth_5_width_1000"}


def test_retried_configurations_count_once():
    from glorot.report.run_records import latest_attempts

    failed = replace(run("Tanh"), status="failed", config_key="k1", run_id="a")
    done = replace(run("Tanh"), config_key="k1", run_id="b")
    other = replace(run("Tanh N"), status="running", config_key="k2", run_id="c")
    retry = replace(run("Tanh N"), status="failed", config_key="k2", run_id="d")
    assert [r.run_id for r in latest_attempts([failed, done, other, retry])] == ["b", "d"]
