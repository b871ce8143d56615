"""The report's records where they carry logic: look-ups, labels and verdict statuses."""

import numpy as np

from glorot.config import network_name
from glorot.report.run_records import checked_correctness
from glorot.report.records import (NOT_DECIDED, NOT_REPRODUCED, NOT_RUN, REPRODUCED, Cell, Claim, DepthTable,
                                   Histograms, Run, Series)


def test_series_looks_up_by_step():
    s = Series.of([[0, 1], [10, 0.5], [10, 0.25]])
    assert s.steps == (0, 10, 10) and isinstance(s.values[0], float)
    assert s.at(10) == 0.5 and s.at(5) is None  # the first value recorded at a step
    assert list(s.points()) == [(0, 1.0), (10, 0.5), (10, 0.25)] and len(s) == 3
    assert not Series()


def test_run_layers_and_missing_metrics():
    run = Run(run_id="r", network="Tanh", depth=3, series={"L2/act_std": Series((0,), (0.3,))})
    assert list(run.layers) == [1, 2, 3]
    assert run.layer(2, "act_std").at(0) == 0.3
    assert run.layer(1, "act_std") == Series() and run.metric("test/error").at(0) is None
    assert run.with_series({}).series == {} and run.series  # a copy; the original keeps its series


def test_histograms_by_update_and_layer():
    h = Histograms({"u0/L1/act_counts": np.ones(2), "u0/L1/act_edges": np.arange(3.0),
                    "u40/L1/act_counts": np.ones(2), "u40/L1/act_edges": np.arange(3.0),
                    "u40/L2/act_counts": np.ones(2)})
    assert h.has_update(0) and h.has_update(40) and not h.has_update(4)
    assert h.last_update() == 40
    counts, edges = h.layer(40, 1, "act")
    assert counts.tolist() == [1.0, 1.0] and edges.tolist() == [0.0, 1.0, 2.0]
    assert h.layer(40, 2, "act") is None and h.layer(0, 1, "dCds") is None  # edges or counts missing


def test_cells_and_tables_name_their_depth():
    assert Cell("Tanh", "shapeset", 5).like_for_like and not Cell("Tanh", "shapeset", 4).like_for_like
    assert not Cell("Tanh", "shapeset", 5).ok and Cell("Tanh", "shapeset", 5, "ok").ok
    one = DepthTable(1, None, {}, {})
    assert (one.key, one.tag, one.label) == ("depth_1", "d1", "1 hidden layer")
    wide = DepthTable(5, 1000, {}, {})
    assert (wide.key, wide.tag, wide.label) == ("depth_5_width_1000", "d5_w1000", "5 hidden layers of 1000 units")


def test_claim_gives_each_status():
    claim = Claim("id", "a claim", "Figure 0", "the rule")
    assert claim.decided(True, {"x": 1}, "why", "scale").status == REPRODUCED
    no = claim.decided(False, {"x": 1}, "why", "scale")
    assert (no.id, no.claim, no.source, no.status, no.rule, no.numbers, no.evidence, no.scale) == (
        "id", "a claim", "Figure 0", NOT_REPRODUCED, "the rule", {"x": 1}, "why", "scale")
    missing = claim.not_run("no runs")
    assert missing.status == NOT_RUN and missing.numbers == {} and missing.evidence == "no runs"
    unknown = claim.not_decided("a network at chance", {"x": 1}, "scale")
    assert unknown.status == NOT_DECIDED and unknown.evidence == "not decided at this scale: a network at chance"


def test_network_names_and_test_correctness():
    assert network_name("tanh", "normalized") == "Tanh N" and network_name("sigmoid", "dae") == "Sigmoid DAE"
    assert network_name("relu", "he") == "relu/he"
    ok = np.array([1, 0, 1], dtype=np.int64)
    assert checked_correctness(ok, 3).dtype == np.uint8 and checked_correctness(ok, None).tolist() == [1, 0, 1]
    assert checked_correctness(ok, 4) is None  # not the run's test set
    assert checked_correctness(np.array([1, 2, 0]), 3) is None and checked_correctness(np.ones((2, 2)), 4) is None
    assert checked_correctness(None, 3) is None
