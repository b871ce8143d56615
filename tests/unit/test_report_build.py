"""The whole report from a fake sweep (no MLflow): Table 1 at two depths, the depth figure, Figure 2
for Sigmoid DAE, every verdict in verdicts.json, statistics and theory in the text."""

import json
from dataclasses import replace

import numpy as np
import pytest

from glorot.report.build import build_report
from glorot.report.curves import depth_panels
from glorot.report.records import Run, Series, Sweep
from glorot.report.table1 import build_table

NETWORKS = ("Tanh", "Tanh N", "Sigmoid", "Sigmoid DAE")
STEPS = (0, 25, 100)
PROBES = (0, 4, 8, 25, 100)  # the early probes resolve Figure 2's early phase


def _series(network: str, depth: int, seed: int) -> dict[str, Series]:
    err = {"Tanh": 0.4, "Tanh N": 0.2, "Sigmoid": 0.83 if depth == 5 else 0.5, "Sigmoid DAE": 0.3}[network]
    out = {"test/error": Series(STEPS, (0.85, (0.85 + err) / 2, err + 0.001 * seed)),
           "valid/error": Series(STEPS, (0.85, (0.85 + err) / 2, err))}
    for i in range(1, depth + 1):
        top = network == "Sigmoid" and i == depth
        out[f"L{i}/act_mean"] = Series(PROBES, (0.5,) + (0.02 if top else 0.6,) * 3 + (0.03 if top else 0.6,))
        for k, v in (("act_std", 0.3 / i), ("act_p98", 0.5 + 0.1 * i), ("dCds_std", 0.01 * i), ("dCdW_std", 0.01),
                     ("jac_sv_mean", 0.6)):
            out[f"L{i}/{k}"] = Series(STEPS, (v, v, v))
    return out


class FakeSource:
    """What build_report reads from a StudySource, from memory."""

    def __init__(self):
        self.parent_id = "parent"
        self.parent = Sweep("parent", "sweep-1", "FINISHED", 0, {})
        self.runs = []
        for network in NETWORKS:
            activation, _, kind = network.partition(" ")
            init = {"N": "normalized", "DAE": "dae"}.get(kind, "standard")
            for depth in (4, 5):
                for seed in (0, 1, 2):
                    self.runs.append(Run(
                        run_id=f"{network}-{depth}-{seed}", network=network, activation=activation.lower(), init=init,
                        dataset="shapeset", depth=depth, width=16, lr=0.1, seed=seed, updates=100, status="completed",
                        valid_error=_series(network, depth, seed)["valid/error"].values[-1],
                        test_error=_series(network, depth, seed)["test/error"].values[-1], test_n=1000,
                        pretrain_noise=0.25 if kind == "DAE" else None))
        self.logged = False

    def diagnostics(self, records):
        return [r.with_series(_series(r.network, r.depth, r.seed)) for r in records]

    def histograms(self, run_id):
        return None

    def correctness(self, run_id):
        return None

    def log_report(self, folder):
        self.logged = True


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "report"
    source = FakeSource()
    return build_report(source, "fake", out, "sqlite:///nowhere.db", data_dir=None, log_to_mlflow=False), source


def test_report_files_and_depth_figure(built):
    result, source = built
    names = {p.name for p in (result.out / "figures").glob("*.png")}
    assert {"depth_test_error.png", "fig02_sigmoid_activations.png", "fig02_sigmoid_dae_activations.png",
            "fig11_test_error_shapeset.png"} <= names
    assert not source.logged
    table = json.loads((result.out / "table1.json").read_text())
    tanh = table["depth_5"]["Shapeset-3x2"]["Tanh"]
    assert tanh["test"] == "Welch t-test over seeds" and tanh["differs_from_best"] and tanh["power"] > 0.9


def test_verdicts_json_has_every_claim_with_its_status(built):
    result, _ = built
    verdicts = {v["id"]: v for v in json.loads((result.out / "verdicts.json").read_text())}
    assert len(verdicts) == 23
    assert verdicts["fig2_sigmoid_saturation"]["status"] == "reproduced"
    # Still at 0.03 at the end, but the runs are far shorter than Figure 2's (its net comes back around epoch 100).
    assert verdicts["fig2_sigmoid_recovery_depth4"]["status"] == "not decided"
    assert verdicts["fig2_sigmoid_no_recovery_depth5"]["status"] == "not decided"
    assert verdicts["pretraining_dae_no_saturation"]["status"] == "not decided"  # 3 seeds of 3 against 0 of 3:
    assert "needs 6 seeds of each" in verdicts["pretraining_dae_no_saturation"]["evidence"]  # Fisher's p = 0.1
    assert "DAE pre-training: noise 0.25" in verdicts["pretraining_dae_no_saturation"]["scale"]
    assert verdicts["table1_tanh_n_vs_tanh"]["status"] == "reproduced"
    assert verdicts["depth_sigmoid_5_worse_than_4"]["status"] == "reproduced"
    assert verdicts["fig11_tanh_n_ahead"]["status"] == "reproduced"


def test_markdown_states_the_tests_power_and_second_moment(built):
    result, _ = built
    md = (result.out / "report.md").read_text()
    assert "scipy.stats.binomtest" in md and "scipy.stats.nct" in md and "power at p < 0.005" in md
    assert "E[x²]" in md and "2.5 times" in md
    assert "Shapeset-3x2 83.3%" in md
    assert "## Not run or not decided" in md


def test_depth_panels_need_two_depths():
    runs = [replace(r, series={}) for r in FakeSource().runs]
    panels = depth_panels(build_table(runs))
    assert len(panels) == 1 and {line.network for line in panels[0].lines} == set(NETWORKS)
    sigmoid = next(line for line in panels[0].lines if line.network == "Sigmoid")
    assert sigmoid.depths == (4, 5) and sigmoid.mean_pct == pytest.approx((50.1, 83.1))
    assert depth_panels(build_table([r for r in runs if r.depth == 5])) == []


def _leaves(doc):
    for value in doc.values():
        yield from _leaves(value) if isinstance(value, dict) else [value]


def test_dvc_metrics_are_the_test_errors_only_one_short_column_per_network(built):
    """metrics.json: {network/tag: test error %}, so that `dvc metrics show` reads at a glance
    (issue 23); the validation errors and the paper's values are in table1.json."""
    result, _ = built
    metrics = json.loads((result.out / "metrics.json").read_text())
    assert set(metrics) == {f"{n}/d{d}" for n in NETWORKS for d in (4, 5)}  # one data set: not in the names
    assert all(type(v) is float for v in metrics.values())  # no strings, no nulls, no booleans, not nested
    assert metrics["Tanh/d5"] == pytest.approx(40.1)
    table = json.loads((result.out / "table1.json").read_text())["depth_5"]["Shapeset-3x2"]["Tanh"]
    assert (table["valid_error_pct"], table["paper_pct"]) == (40.0, 27.15)


def test_curves_csv_is_one_long_format_file_with_a_series_per_network_and_depth(built):
    result, _ = built
    assert result.curves == ["curves.csv"] and not (result.out / "curves").exists()
    lines = (result.out / "curves.csv").read_text().splitlines()
    assert lines[0] == "update,series,network,dataset,depth,width,test_error_pct,valid_error_pct"
    rows = [line.split(",") for line in lines[1:]]
    assert {r[1] for r in rows} == {f"{n} / d{d}" for n in NETWORKS for d in (4, 5)}
    tanh5 = [r for r in rows if r[1] == "Tanh / d5"]
    assert [(r[0], r[2], r[4], r[5]) for r in tanh5] == [(str(s), "Tanh", "5", "16") for s in STEPS]
    assert float(tanh5[-1][6]) == pytest.approx(40.1) and float(tanh5[-1][7]) == pytest.approx(40.0)


def test_the_learning_curves_carry_the_band_the_seeds_span():
    """Figures 11-12: each line is the seed mean, with the lowest and highest seed's error at each
    update (test errors 0.4, 0.401, 0.402 at the last one for Tanh's three seeds); one seed, no band."""
    from glorot.report.curves import curve_panels

    source = FakeSource()
    records = source.diagnostics(source.runs)
    panel, = curve_panels(build_table(records), records, ("shapeset",))
    tanh5 = next(c for c in panel.curves if c.label == "Tanh d5")
    assert tanh5.values[-1] == pytest.approx(40.1)
    assert (tanh5.low[-1], tanh5.high[-1]) == (pytest.approx(40.0), pytest.approx(40.2))
    assert "band: their range" in panel.title
    one_seed = [r for r in records if r.seed == 0]
    panel, = curve_panels(build_table(one_seed), one_seed, ("shapeset",))
    assert all(c.low == () == c.high for c in panel.curves)
