"""The SGD loop: learning, determinism, divergence, learning-rate selection, run folders."""

import json

import numpy as np
import pytest
import torch

from glorot.config import build_config
from glorot.data.shapeset import write_split
from glorot.data.sources import load_data
from glorot.errors import GlorotError
from glorot.pipeline.rundir import save_run
from glorot.engine import select_lr, train

SMALL = dict(depth=2, width=64, updates=600, eval_every=200, probe_every=300, probe_size=50,
             valid_size=1000, test_size=500, device="cpu")


@pytest.fixture(scope="module")
def data():
    return load_data(build_config(**SMALL))


class RecordingLogger:
    def __init__(self):
        self.metrics, self.probes = [], []

    def log_metrics(self, metrics, step):
        self.metrics.append((step, metrics))

    def log_probe(self, record):
        self.probes.append(record)

    def flush(self):
        self.flushes = getattr(self, "flushes", 0) + 1


def test_short_run_learns_below_chance(data):
    # Chance on Shapeset-3x2 is an error of 1 - 1/6 = 0.833 (always answering one of the three
    # single-shape classes, the most frequent ones); 0.80 is about 2.5 standard errors below it.
    config = build_config(**dict(SMALL, updates=3000, eval_every=1000, lr=0.1, activation="tanh", init="normalized"))
    _, result = train(config, data, progress=False)
    assert result.status == "completed" and result.updates == 3000
    assert result.valid_error < 0.80
    assert result.curve[0]["update"] == 0 and result.curve[-1]["update"] == 3000
    assert result.curve[-1]["valid/error"] < result.curve[0]["valid/error"]


def test_same_config_and_seed_give_the_same_numbers(data):
    config = build_config(**dict(SMALL, activation="softsign"))
    net_a, a = train(config, data, progress=False)
    net_b, b = train(config, data, progress=False)
    assert a.curve == b.curve and [p.layers for p in a.probes] == [p.layers for p in b.probes]
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        assert torch.equal(p, q)
    _, c = train(config.model_copy(update={"seed": 1}), data, progress=False)
    assert c.curve != a.curve


def test_logger_gets_curves_and_probes_on_schedule(data):
    logger = RecordingLogger()
    train(build_config(**SMALL), data, logger, progress=False)
    assert [step for step, _ in logger.metrics] == [0, 200, 400, 600]
    assert set(logger.metrics[1][1]) == {"train/nll", "valid/error", "test/error"}
    assert "train/nll" not in logger.metrics[0][1]
    assert [r.update for r in logger.probes] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 600]  # log-spaced early


def test_divergence_is_reported_not_raised(data):
    config = build_config(**dict(SMALL, activation="relu", init="he", lr=1e6))
    logger = RecordingLogger()
    _, result = train(config, data, logger, progress=False)
    assert result.status == "diverged"
    assert 1 <= result.diverged_at <= config.updates and result.updates == result.diverged_at - 1
    assert logger.metrics[-1] == (result.diverged_at, {"diverged_at": float(result.diverged_at)})


def test_lr_selection_picks_the_lowest_validation_error_and_never_a_diverged_run(data):
    config = build_config(**dict(SMALL, activation="relu", init="he"))
    selection = select_lr(config, [1e6, 0.1, 1e-6], data)
    assert selection.results[1e6].status == "diverged"
    assert selection.best_lr == 0.1
    assert selection.results[0.1].valid_error < selection.results[1e-6].valid_error
    with pytest.raises(GlorotError, match="lr grid"):
        select_lr(config, [0.1, -1.0], data)


def test_prepared_splits_are_used_and_versioned(tmp_path):
    write_split(tmp_path / "shapeset" / "valid", 200, seed=5)
    write_split(tmp_path / "shapeset" / "test", 300, seed=6)
    config = build_config(**dict(SMALL, updates=20))
    data = load_data(config, tmp_path)
    assert len(data.valid.y) == 200 and len(data.test.y) == 300 and data.n_in == 1024 and data.n_classes == 9
    assert data.version == load_data(config, tmp_path).version != load_data(config).version
    net, result = train(config, data, progress=False)
    out = save_run(tmp_path / "run", config, result, net, data.version)
    assert json.loads((out / "result.json").read_text())["paper_cell"] == "Tanh / Shapeset-3x2"
    assert json.loads((out / "config.json").read_text())["updates"] == 20
    assert len(json.loads((out / "diagnostics.json").read_text())) == len(result.probes) == 7  # 0, 1, 2, 4, 8, 16, 20
    with np.load(out / "diagnostics.npz") as hists:
        assert "u20/L2/dCds_counts" in hists
    state = torch.load(out / "model.pt")
    assert torch.equal(state["layers.0.weight"], net.layers[0].weight)
    assert not list(out.glob(".*.tmp"))


def test_missing_or_corrupt_prepared_data_is_a_one_line_error(tmp_path):
    config = build_config(**SMALL)
    with pytest.raises(GlorotError, match="missing data manifest: .*valid"):
        load_data(config, tmp_path)
    for split in ("valid", "test"):
        write_split(tmp_path / "shapeset" / split, 50, seed=1)
    blob = tmp_path / "shapeset" / "test" / "data.npz"
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.write_bytes(bytes(raw))
    with pytest.raises(GlorotError, match=r"corrupt data file .*test.*data\.npz"):
        load_data(config, tmp_path)


def test_a_run_folder_replaces_an_earlier_run_whole_but_never_other_files(tmp_path, data):
    config = build_config(**dict(SMALL, updates=10, eval_every=10, probe_every=0))
    net, result = train(config, data, progress=False)
    out = save_run(tmp_path / "run", config, result, net, data.version)
    (out / "model.pt").write_bytes(b"an older run's model")
    save_run(out, config, result, net, data.version)
    assert torch.load(out / "model.pt").keys() == net.state_dict().keys()
    (out / "notes.txt").write_text("the user's own file")
    with pytest.raises(GlorotError, match="not a run folder"):
        save_run(out, config, result, net, data.version)
    assert (out / "notes.txt").is_file()
