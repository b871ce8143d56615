"""Grouping a sweep's configurations: sizes chosen by measurement, and the pipeline's groups
recording the same numbers as configurations trained alone."""

import math

import pytest
from mlflow.tracking import MlflowClient

from glorot.engine.stacked import group_key
from glorot.config import build_config
from glorot.engine import grouping
from glorot.engine.grouping import balanced, choose_group_size, measure, pick, plan_groups
from glorot.pipeline.runs import run_configuration, run_configurations

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(depth=2, width=16, updates=60, eval_every=20, probe_every=30, probe_size=20, valid_size=200,
            test_size=200, device="cpu", lr=0.1)


def test_pick_prefers_the_smaller_size_unless_a_larger_one_is_clearly_faster():
    assert pick({1: 100.0}) == 1
    assert pick({1: 100.0, 2: 124.0, 4: 90.0}) == 1
    assert pick({1: 100.0, 2: 120.0, 4: 160.0}) == 4
    assert pick({1: 100.0, 2: 130.0, 4: 160.0}) == 2


def test_measurement_stops_at_the_first_slower_size_and_at_the_limit():
    tried = []

    def rate(k):
        tried.append(k)
        return {1: 100.0, 2: 180.0, 4: 300.0, 8: 250.0, 16: 900.0}[k]

    config = build_config(**TINY)
    assert choose_group_size(config, 1024, 9, limit=50, rate=rate) == (4, {1: 100.0, 2: 180.0, 4: 300.0, 8: 250.0})
    assert tried == [1, 2, 4, 8] + [1, 2, 4, 8] * 2  # then two more rounds of the sizes tried
    assert choose_group_size(config, 1024, 9, limit=3, rate=rate, rounds=1)[1] == {1: 100.0, 2: 180.0}
    assert choose_group_size(config, 1024, 9, limit=1, rate=rate) == (1, {1: 100.0})


def test_later_rounds_keep_each_size_at_its_best():
    timings = {1: iter([100.0, 300.0, 120.0]), 2: iter([150.0, 160.0, 170.0])}  # size 1 was slowed in round 1
    size, rates = choose_group_size(build_config(**TINY), 1024, 9, limit=2, rate=lambda k: next(timings[k]))
    assert rates == {1: 300.0, 2: 170.0} and size == 1


@pytest.mark.parametrize("k, parallel", [(1, 1), (3, 2)])
def test_measure_times_real_steps(k, parallel):
    rate = measure(build_config(**TINY), 1024, 9, k, parallel, updates=2, repeats=1)
    assert math.isfinite(rate) and rate > 0


def test_the_trial_times_the_engines_own_loop(monkeypatch):
    fed, engine_feed = [], grouping.feed

    def feed(step, streams, n, device):
        fed.append((len(streams), n))
        engine_feed(step, streams, n, device)
    monkeypatch.setattr(grouping, "feed", feed)
    measure(build_config(**TINY), 1024, 9, 3, 2, updates=5, repeats=1)
    assert fed == [(3, 1)] * 2 + [(3, 5)] * 2  # warm-up, then the timing, of each of the 2 groups


def test_plan_groups_partitions_the_configurations_into_compatible_groups():
    configs = [build_config(**dict(TINY, activation=a, seed=s, width=w))
               for a in ("tanh", "softsign") for s in (0, 1, 2) for w in (16, 24)]
    fixed = plan_groups(configs, 2, shape=lambda c: pytest.fail("a fixed size needs no measurement"))
    assert [len(g) for g in fixed] == [2, 2, 2, 2, 2, 2]
    lines = []
    auto = plan_groups(configs, "auto", shape=lambda c: (1024, 9), report=lines.append)
    assert sorted(c.model_dump_json() for g in auto for c in g) == sorted(c.model_dump_json() for c in configs)
    assert all(len({group_key(c) for c in g}) == 1 for g in auto)
    assert len(lines) == 2 and all("measured configuration-updates/s: K=1:" in line for line in lines)
    alone = plan_groups(configs, 1, shape=lambda c: (1024, 9))
    assert all(len(g) == 1 for g in alone) and sorted(g[0].seed for g in alone) == sorted(c.seed for c in configs)


def test_groups_are_balanced_and_leave_no_worker_idle(monkeypatch):
    configs = [build_config(**dict(TINY, seed=s)) for s in range(10)]
    assert [len(g) for g in balanced(configs, 4)] == [4, 3, 3]
    assert [len(g) for g in balanced(configs, 10)] == [10] and [len(g) for g in balanced(configs, 1)] == [1] * 10
    assert [c.seed for g in balanced(configs, 4) for c in g] == list(range(10))
    tried = []

    class Trial:  # batching always pays here
        def __init__(self, config, n_in, n_classes, k, parallel):
            tried.append(k)
            self.k = k

        def timed(self, updates):
            return 100.0 * self.k

    monkeypatch.setattr(grouping, "Trial", Trial)
    # 5 configurations on 2 workers: a group of 4 would leave one worker with 1 while the 4 train.
    plan = plan_groups(configs[:5], "auto", shape=lambda c: (1024, 9), parallel=2)
    assert tried == [1, 2] and [len(g) for g in plan] == [2, 2, 1]
    # One worker: sizes up to 8 are tried (powers of two <= 10); 8 is fastest, so 10 -> 5 + 5.
    assert [len(g) for g in plan_groups(configs, "auto", shape=lambda c: (1024, 9), parallel=1)] == [5, 5]


def test_a_group_records_the_same_numbers_as_its_configurations_trained_alone(tmp_path):
    configs = [build_config(**dict(TINY, activation=a, init=i, seed=s))
               for a, i, s in (("tanh", "standard", 0), ("softsign", "normalized", 1))]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    grouped = run_configurations(configs, "grouped", uri, root=tmp_path, data_dir=None)
    alone = [run_configuration(c, "alone", uri, root=tmp_path, data_dir=None) for c in configs]
    client = MlflowClient(uri)
    for g, a in zip(grouped, alone):
        run_g, run_a = client.get_run(g["run_id"]), client.get_run(a["run_id"])
        assert (run_g.data.tags["glorot.group_size"], run_a.data.tags["glorot.group_size"]) == ("2", "1")
        assert run_g.data.tags["torch_threads"] == "1"
        for name in ("final/valid_error", "final/test_error"):
            assert run_g.data.metrics[name] == run_a.data.metrics[name]
        for name in ("valid/error", "train/nll", "L2/act_std"):
            hist_g = [(m.step, m.value) for m in client.get_metric_history(g["run_id"], name)]
            hist_a = [(m.step, m.value) for m in client.get_metric_history(a["run_id"], name)]
            assert [s for s, _ in hist_g] == [s for s, _ in hist_a]
            assert [v for _, v in hist_g] == pytest.approx([v for _, v in hist_a], rel=1e-4, abs=1e-7)
    assert not list((tmp_path / "checkpoints").glob("*/checkpoint.pt"))
    again = run_configurations(configs, "grouped", uri, root=tmp_path, data_dir=None)
    assert [r["run_id"] for r in again] == [r["run_id"] for r in grouped] and all(r["skipped"] for r in again)


def test_a_member_out_of_attempts_is_left_out_and_named_while_the_others_train(tmp_path):
    from glorot.data.sources import load_data
    from glorot.errors import GlorotError
    from glorot.pipeline.provenance import config_key
    from glorot.pipeline.tracking import Tracker

    configs = [build_config(**dict(TINY, seed=s)) for s in (0, 1)]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "attempts", tmp_path)
    key = config_key(configs[0], load_data(configs[0]).version)
    tracker.fail(tracker.start_child(None, configs[0], {"glorot.config_key": key, "glorot.attempts": "3"}), "boom")
    with pytest.raises(GlorotError, match=rf"Tanh / Shapeset-3x2 \(key {key}\) was tried 3 times"):
        run_configurations(configs, "attempts", uri, root=tmp_path, data_dir=None)
    runs = tracker.client.search_runs([tracker.experiment_id], "tags.status = 'completed'")
    assert [r.data.params["seed"] for r in runs] == ["1"]


def test_data_shape_reads_the_manifest_of_a_prepared_data_set(tmp_path):
    from glorot.data.shapeset import write_split
    from glorot.data.sources import data_shape, load_data

    write_split(tmp_path / "shapeset" / "valid", 20, seed=1)
    write_split(tmp_path / "shapeset" / "test", 20, seed=2)
    bundle = load_data(build_config(**TINY), tmp_path)
    assert data_shape("shapeset", tmp_path) == (bundle.n_in, bundle.n_classes) == (1024, 9)
