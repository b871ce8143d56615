"""``init: dae`` through the engine and tracking: pre-training before update 0 with the numbers of
the paper maths run by hand, its progress logged exactly once, a run killed while pre-training
or after resumed to the same numbers; per-example test correctness."""

import json

import numpy as np
import pytest
import torch

from glorot.config import build_config
from glorot.data.sources import load_data
from glorot.engine import Checkpointer, build_net, loop, train
from glorot.engine.pretraining import PRETRAIN_STREAM_SEED
from glorot.errors import GlorotError
from glorot.paper.pretraining import INPUT_RANGE, Reconstruction, corrupt, dae_gradients, encode
from glorot.pipeline.metrics_logger import MlflowLogger
from glorot.pipeline.tracking import Tracker

SMALL = dict(depth=2, width=24, updates=60, eval_every=30, probe_every=30, probe_size=20, valid_size=200,
             test_size=150, device="cpu", activation="sigmoid", init="dae", pretrain_updates=40,
             pretrain_lr=0.05, pretrain_noise=0.25)


class Recording:
    """Records what is logged; raises (kills the run) when metrics for ``stop_at``, or a
    pre-training report for ``stop_pretraining_at``, arrive."""

    def __init__(self, stop_at=None, stop_pretraining_at=None):
        self.metrics, self.pretraining, self.stop_at, self.stop_pretraining_at = [], [], stop_at, stop_pretraining_at

    def log_metrics(self, metrics, step):
        if step == self.stop_at:
            raise KeyboardInterrupt
        self.metrics.append((step, metrics))

    def log_probe(self, record):
        self.log_metrics(record.metrics(), record.update)

    def log_pretraining(self, metrics, step):
        if step == self.stop_pretraining_at:
            raise KeyboardInterrupt
        self.pretraining.append((step, metrics))

    def flush(self):
        pass


@pytest.fixture(scope="module")
def data():
    return load_data(build_config(**SMALL))


def test_a_dae_network_is_pre_trained_before_update_0_and_named_apart(data):
    config = build_config(**SMALL)
    assert config.paper_name == "Sigmoid DAE"
    standard = build_net(config, data)
    log = Recording()
    net, result = train(config.model_copy(update={"updates": 0}), data, log, progress=False)
    for layer, ref in zip(net.hidden, standard.hidden):
        assert not torch.equal(layer.weight, ref.weight)  # pre-trained from the standard init
    assert torch.equal(net.layers[-1].weight, standard.layers[-1].weight)  # the softmax layer is not
    steps = [step for step, _ in log.pretraining]
    assert steps == sorted(steps) and steps[-1] == config.depth * config.pretrain_updates
    assert {k for _, m in log.pretraining for k in m} == {"pretrain/L1/reconstruction", "pretrain/L2/reconstruction"}
    no_pretraining = train(config.model_copy(update={"updates": 0, "pretrain_updates": 0}), data, progress=False)[0]
    for p, q in zip(no_pretraining.parameters(), standard.parameters()):
        assert torch.equal(p, q)


@torch.no_grad()
def _pretrained_by_hand(config, data):
    """``config``'s net pre-trained with the paper's maths written out here, and what it reports:
    layer after layer on the clean codes below, one mask generator seeded by the seed, the
    pre-training stream, the mean cost of every 1/20 of a layer's updates."""
    net, updates = build_net(config, data), config.pretrain_updates
    gen, every, reports = torch.Generator().manual_seed(config.seed), max(1, updates // 20), []
    stream = data.train_stream(config.seed + PRETRAIN_STREAM_SEED, config.batch_size)
    for k, layer in enumerate(net.hidden, 1):
        recon = Reconstruction(*(INPUT_RANGE if k == 1 else net.act.output_range))
        c, costs = torch.zeros(layer.weight.shape[1]), []
        for u in range(1, updates + 1):
            z = encode(net, k - 1, torch.from_numpy(next(stream)[0]))
            g = dae_gradients(layer.weight, layer.bias, c, net.act, recon, z, corrupt(z, config.pretrain_noise, gen))
            for p, d in ((layer.weight, g.weight), (layer.bias, g.bias), (c, g.decoder_bias)):
                p.sub_(d, alpha=config.pretrain_lr)
            costs.append(g.cost)
            if u % every == 0:
                reports.append(((k - 1) * updates + u, {f"pretrain/L{k}/reconstruction":
                                                         float(torch.stack(costs[-every:]).mean())}))
    return net, reports


def test_a_dae_run_has_the_numbers_of_the_maths_run_by_hand(data, monkeypatch):
    config = build_config(**dict(SMALL, pretrain_updates=45))  # 45: the last 1/20 stretch is never reported
    log = Recording()
    net, result = train(config, data, log, progress=False)
    by_hand, reports = _pretrained_by_hand(config, data)
    assert log.pretraining == reports
    monkeypatch.setattr(loop, "build_net", lambda c, d: by_hand)  # the same supervised training from it
    ref_net, ref = train(config.model_copy(update={"init": "standard"}), data, progress=False)
    for (name, p), q in zip(net.state_dict().items(), ref_net.state_dict().values()):
        assert torch.equal(p, q), name
    assert json.dumps(result.curve) == json.dumps(ref.curve)
    assert [(p.update, p.layers) for p in result.probes] == [(p.update, p.layers) for p in ref.probes]
    assert (result.valid_error, result.test_error, result.updates) == (ref.valid_error, ref.test_error, ref.updates)


@pytest.mark.parametrize("stop_at", [36, 64])  # in layer 1 or 2: last checkpoints at 30 and 55
def test_a_run_killed_while_pre_training_resumes_to_the_same_numbers(tmp_path, data, stop_at):
    config = build_config(**SMALL)
    ref_log = Recording()
    ref_net, ref = train(config, data, ref_log, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, data, Recording(stop_pretraining_at=stop_at), progress=False,
              checkpointer=Checkpointer(tmp_path, 15))
    saved = Checkpointer(tmp_path, 15).load(config)
    assert saved.pretrain["done"] == {36: 30, 64: 55}[stop_at] and saved.update == 0
    log = Recording()
    net, result = train(config, data, log, progress=False, checkpointer=Checkpointer(tmp_path, 15))
    assert log.pretraining == [(s, m) for s, m in ref_log.pretraining if s > saved.pretrain["done"]]
    assert log.metrics == ref_log.metrics and json.dumps(result.curve) == json.dumps(ref.curve)
    for p, q in zip(net.parameters(), ref_net.parameters()):
        assert torch.equal(p, q)


def test_pre_training_shows_on_the_progress_bar(data, capsys):
    config = build_config(**dict(SMALL, updates=10, eval_every=10))
    train(config, data, progress=True)
    assert "90/90" in capsys.readouterr().err  # 2 x 40 pre-training updates + 10


def test_a_resumed_dae_run_is_not_pre_trained_again_and_equals_an_uninterrupted_one(tmp_path, data):
    config = build_config(**SMALL)
    ref_net, ref = train(config, data, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, data, Recording(stop_at=60), progress=False, checkpointer=Checkpointer(tmp_path, 30))
    log = Recording()
    net, result = train(config, data, log, progress=False, checkpointer=Checkpointer(tmp_path, 30))
    assert log.pretraining == []
    assert json.dumps(result.curve) == json.dumps(ref.curve)
    for p, q in zip(net.parameters(), ref_net.parameters()):
        assert torch.equal(p, q)


def test_a_diverging_pre_training_is_a_one_line_error(data):
    config = build_config(**dict(SMALL, activation="relu", pretrain_lr=1e6, updates=0))
    with pytest.raises(GlorotError, match="lower pretrain_lr"):
        train(config, data, progress=False)


def test_test_correctness_per_example_agrees_with_the_test_error(data):
    config = build_config(**dict(SMALL, init="normalized"))
    _, result = train(config, data, progress=False)
    assert result.test_correct.dtype == np.uint8 and len(result.test_correct) == SMALL["test_size"]
    assert result.test_error == 1 - result.test_correct.sum() / SMALL["test_size"]


def test_pre_training_progress_reaches_mlflow_once(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "unit", tmp_path)
    run_id = tracker.start_child(None, build_config(**SMALL), {})
    first = MlflowLogger(tracker.client, run_id)
    for step in (10, 20):
        first.log_pretraining({"pretrain/L1/reconstruction": 1.0 / step}, step)
    again = MlflowLogger(tracker.client, run_id)  # a restart before the first checkpoint pre-trains again
    for step in (10, 20, 30):
        again.log_pretraining({"pretrain/L1/reconstruction": 1.0 / step}, step)
    history = tracker.client.get_metric_history(run_id, "pretrain/L1/reconstruction")
    assert sorted(m.step for m in history) == [10, 20, 30]


def test_a_finished_run_logs_its_per_example_test_correctness(tmp_path, data):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "unit", tmp_path)
    config = build_config(**dict(SMALL, init="normalized", updates=10, eval_every=10))
    net, result = train(config, data, progress=False)
    run_id = tracker.start_child(None, config, {})
    tracker.finish_child(run_id, config, result, net, data.test.x[:2].numpy())
    path = tracker.client.download_artifacts(run_id, "test_correct.npy", str(tmp_path))
    assert np.array_equal(np.load(path), result.test_correct)
