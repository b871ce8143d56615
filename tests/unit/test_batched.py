"""The one training loop with K configurations stacked: the same numbers as training them one by one."""

import math

import pytest
import torch
from pooled import pooled_data

from glorot.paper.backprop import sgd_step
from glorot.engine.checkpoint import Checkpointer
from glorot.engine.stacked import BatchedMLP, group_configs, group_key
from glorot.engine import train_group
from glorot.config import build_config
from glorot.paper.costs import nll, quadratic
from glorot.data.sources import load_data
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.engine import train

SMALL = dict(depth=3, width=32, updates=300, eval_every=100, probe_every=150, probe_size=40,
             valid_size=400, test_size=300, device="cpu")
# Mixed activations (interleaved, so that the group has to reorder them), inits, rates and seeds.
MIXED = [("tanh", "standard", 0.1, 0), ("sigmoid", "normalized", 0.5, 1), ("softsign", "normalized", 0.05, 2),
         ("tanh", "normalized", 0.1, 3), ("relu", "he", 0.02, 4), ("sigmoid", "standard", 0.5, 5)]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(params=[False, True], ids=["eager", "sync-free"])
def sync_free(request):
    """Both loops of train_group: the eager one (CPU default) and the sync-free one (CUDA default)."""
    return request.param


@pytest.fixture(scope="module")
def data():
    return pooled_data(SMALL, 1000, seed=77)


class Interrupt(Exception):
    pass


class RecordingLogger:
    """Records what a run logs; raises :class:`Interrupt` (a kill) when metrics for ``stop_at`` arrive."""

    def __init__(self, stop_at=None):
        self.metrics, self.probes, self.flushed, self.stop_at = [], [], 0, stop_at

    def log_metrics(self, metrics, step):
        if step == self.stop_at:
            raise Interrupt
        self.metrics.append((step, metrics))

    def log_probe(self, record):
        self.probes.append(record)

    def flush(self):
        self.flushed += 1


def _configs(rows, **extra):
    return [build_config(**dict(SMALL, activation=a, init=i, lr=lr, seed=s, **extra)) for a, i, lr, s in rows]


def _assert_same_run(got, ref):
    (net, res), (ref_net, ref_res) = got, ref
    assert (res.status, res.updates, res.diverged_at) == (ref_res.status, ref_res.updates, ref_res.diverged_at)
    for p, q in zip(net.parameters(), ref_net.parameters()):
        p, q = p.detach(), q.detach()
        finite = q[torch.isfinite(q)]  # a diverged run may end with infinite weights
        scale = float(finite.abs().max()) if finite.numel() else 1.0
        torch.testing.assert_close(p, q, rtol=0, atol=1e-4 * scale + 1e-7, equal_nan=True)
    assert [c["update"] for c in res.curve] == [c["update"] for c in ref_res.curve]
    for c, r in zip(res.curve, ref_res.curve):
        # The mean cost is reduced per net exactly as for one net alone (glorot.paper.costs).
        assert c["train/nll"] == r["train/nll"] or (math.isnan(c["train/nll"]) and math.isnan(r["train/nll"]))
        # An example exactly on a decision boundary could flip: allow one of the evaluation set.
        assert abs(c["valid/error"] - r["valid/error"]) <= 1 / SMALL["valid_size"] + 1e-12
        assert abs(c["test/error"] - r["test/error"]) <= 1 / SMALL["test_size"] + 1e-12
    assert [p.update for p in res.probes] == [p.update for p in ref_res.probes]
    for p, r in zip(res.probes, ref_res.probes):
        for layer, ref_layer in zip(p.layers, r.layers):
            for key, value in layer.items():
                assert value == pytest.approx(ref_layer[key], rel=1e-3, abs=1e-6, nan_ok=True), key
    assert abs(res.valid_error - ref_res.valid_error) <= 1 / SMALL["valid_size"] + 1e-12


def test_group_equals_one_by_one_training(data, sync_free):
    configs = _configs(MIXED)
    got = train_group(configs, data, sync_free=sync_free)
    assert len(got) == len(configs)
    for config, run in zip(configs, got):
        assert run[0].act.name == config.activation
        _assert_same_run(run, train(config, data, progress=False))


def test_group_with_one_learning_rate_and_the_quadratic_cost(data, sync_free):
    configs = _configs([(a, i, 0.3, s) for a, i, _, s in MIXED[:4]], cost="quadratic", updates=200)
    for config, run in zip(configs, train_group(configs, data, sync_free=sync_free)):
        _assert_same_run(run, train(config, data, progress=False))


def test_initial_weights_are_those_of_mlp_with_the_same_seed(data, sync_free):
    configs = _configs(MIXED, updates=0)
    for config, (net, result) in zip(configs, train_group(configs, data, sync_free=sync_free)):
        ref = MLP(data.n_in, data.n_classes, config.depth, config.width, config.activation, config.init, config.seed)
        assert result.updates == 0 and result.status == "completed"
        for p, q in zip(net.parameters(), ref.parameters()):
            assert torch.equal(p, q)


def test_diverging_slice_stops_and_leaves_the_others_untouched(data, sync_free):
    configs = _configs([MIXED[0], ("relu", "he", 1e6, 7), MIXED[2]])
    loggers = [RecordingLogger() for _ in configs]
    got = train_group(configs, data, loggers, sync_free=sync_free)
    _, bad = got[1]
    assert bad.status == "diverged" and 1 <= bad.diverged_at <= SMALL["updates"]
    assert bad.updates == bad.diverged_at - 1
    assert loggers[1].metrics[-1] == (bad.diverged_at, {"diverged_at": float(bad.diverged_at)})
    assert all(log.flushed == 1 for log in loggers)
    for config, run in zip(configs, got):
        _assert_same_run(run, train(config, data, progress=False))
    assert got[0][1].status == got[2][1].status == "completed"


def test_slices_with_their_own_schedules(data, sync_free):
    configs = [build_config(**dict(SMALL, activation="tanh", seed=1, updates=120, eval_every=40, probe_every=0)),
               build_config(**dict(SMALL, activation="softsign", seed=2, updates=250, eval_every=50, probe_every=100)),
               build_config(**dict(SMALL, activation="tanh", seed=3, updates=60, eval_every=30, probe_every=30))]
    loggers = [RecordingLogger() for _ in configs]
    got = train_group(configs, data, loggers, sync_free=sync_free)
    for config, run, log in zip(configs, got, loggers):
        ref_log = RecordingLogger()
        ref = train(config, data, ref_log, progress=False)
        _assert_same_run(run, ref)
        assert [step for step, _ in log.metrics] == [step for step, _ in ref_log.metrics]
        assert [r.update for r in log.probes] == [r.update for r in ref_log.probes]


@pytest.mark.parametrize("as_tensor", [False, True])
def test_batched_step_equals_the_single_step_in_double_precision(as_tensor):
    acts = ["sigmoid", "tanh", "tanh", "softsign"]
    nets = [MLP(12, 5, depth=2, width=8, activation=a, init="normalized", seed=k).double() for k, a in enumerate(acts)]
    refs = [MLP(12, 5, depth=2, width=8, activation=a, init="normalized", seed=k).double() for k, a in enumerate(acts)]
    model = BatchedMLP(nets)
    lrs = [0.1, 0.2, 0.2, 0.4]
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn(4, 10, 12, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 5, (4, 10), generator=gen)
        with torch.no_grad():
            zs = model.forward_trace(x)
            _, g = nll(zs[-1], y)
            model.sgd_step(zs, g, torch.tensor(lrs, dtype=torch.float64).view(-1, 1, 1) if as_tensor else lrs)
            for k, ref in enumerate(refs):
                rz = ref.forward_trace(x[k])
                sgd_step(ref, rz, nll(rz[-1], y[k])[1], lrs[k])
    for net, ref in zip(nets, refs):
        for p, q in zip(net.parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cost", [nll, quadratic])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_costs_of_stacked_nets_are_bit_for_bit_those_of_each_net(cost, dtype):
    logits, y = torch.randn(3, 10, 9, dtype=dtype), torch.randint(0, 9, (3, 10))
    loss, grad = cost(logits, y)
    assert loss.shape == (3,) and grad.shape == logits.shape
    for k in range(3):
        ref_loss, ref_grad = cost(logits[k], y[k])
        assert torch.equal(loss[k], ref_loss)
        assert torch.equal(grad[k], ref_grad)


def test_grouping_rules():
    base = build_config(**SMALL)
    same = [base.model_copy(update=u) for u in ({"activation": "sigmoid"}, {"init": "normalized"}, {"lr": 0.5},
                                                 {"seed": 9}, {"updates": 7}, {"eval_every": 3},
                                                 {"probe_every": 0}, {"probe_size": 5}, {"jac_examples": 1})]
    assert all(group_key(c) == group_key(base) for c in same)
    other = [base.model_copy(update=u) for u in ({"depth": 2}, {"width": 16}, {"batch_size": 20}, {"cost": "quadratic"},
                                                  {"dataset": "mnist"}, {"device": "auto"}, {"valid_size": 10},
                                                  {"test_size": 10})]
    assert all(group_key(c) != group_key(base) for c in other)
    assert len({group_key(c) for c in other}) == len(other)
    mixed = [same[0], other[0], same[1], other[1], other[0], same[2]]
    groups = group_configs(mixed)
    assert groups == [[same[0], same[1], same[2]], [other[0], other[0]], [other[1]]]
    assert group_configs(mixed, max_group=2) == [[same[0], same[1]], [same[2]], [other[0], other[0]], [other[1]]]
    assert group_configs([]) == []
    with pytest.raises(GlorotError, match="max_group"):
        group_configs(mixed, max_group=0)


def test_train_group_rejects_incompatible_input(data):
    a, b = _configs(MIXED[:2])
    with pytest.raises(GlorotError, match="group_key"):
        train_group([a, b.model_copy(update={"depth": 2})], data)
    with pytest.raises(GlorotError, match="loggers"):
        train_group([a, b], data, loggers=[None])
    with pytest.raises(GlorotError, match="one shape"):
        BatchedMLP([MLP(4, 2, depth=1, width=3), MLP(4, 2, depth=1, width=5)])
    assert train_group([], data) == []


def test_returned_nets_own_their_weights(data, sync_free):
    configs = _configs(MIXED[:2], updates=10)
    for net, _ in train_group(configs, data, sync_free=sync_free):
        for p in net.parameters():  # not views of the group's stacked tensors
            assert p.untyped_storage().nbytes() == p.numel() * p.element_size()


def test_group_on_the_online_shapeset_stream(sync_free):
    bundle = load_data(build_config(**SMALL))
    configs = _configs(MIXED[:2], updates=30, eval_every=10, probe_every=0)
    for config, run in zip(configs, train_group(configs, bundle, sync_free=sync_free)):
        _assert_same_run(run, train(config, bundle, progress=False))


def _checkpointers(root, configs, every=25):
    return [Checkpointer(root / f"c{k}", every) for k in range(len(configs))]


def test_killed_group_resumes_from_its_checkpoints(tmp_path, data, sync_free):
    configs = _configs(MIXED[:3], updates=200, eval_every=40, probe_every=60)
    checkpointers = _checkpointers(tmp_path, configs)
    loggers = [RecordingLogger(), RecordingLogger(stop_at=120), RecordingLogger()]
    with pytest.raises(Interrupt):
        train_group(configs, data, loggers, checkpointers=checkpointers, sync_free=sync_free)
    saved = [c.load(config) for c, config in zip(checkpointers, configs)]
    assert [s.update for s in saved] == [100, 100, 100]
    loggers = [RecordingLogger() for _ in configs]
    got = train_group(configs, data, loggers, checkpointers=checkpointers, sync_free=sync_free)
    for config, run, log in zip(configs, got, loggers):
        assert min(step for step, _ in log.metrics) > 100  # nothing before the checkpoint is logged again
        _assert_same_run(run, train(config, data, progress=False))


def test_a_configuration_moves_between_a_group_and_training_alone(tmp_path, data, sync_free):
    """Checkpoints have one format: a run started alone resumes in a group at its own update,
    beside a fresh one, and a group's checkpoint resumes alone."""
    configs = _configs(MIXED[:2], updates=150, eval_every=50, probe_every=50)
    checkpointers = _checkpointers(tmp_path, configs)
    with pytest.raises(Interrupt):
        train(configs[0], data, RecordingLogger(stop_at=100), progress=False, checkpointer=checkpointers[0])
    assert checkpointers[0].load(configs[0]).update == 75
    with pytest.raises(Interrupt):  # slice 0 at 75 + k, slice 1 at k: killed when slice 1 reaches 50
        train_group(configs, data, [RecordingLogger(), RecordingLogger(stop_at=50)], checkpointers=checkpointers,
                    sync_free=sync_free)
    assert [c.load(config).update for c, config in zip(checkpointers, configs)] == [100, 25]
    for config, checkpointer in zip(configs, checkpointers):
        _assert_same_run(train(config, data, progress=False, checkpointer=checkpointer),
                         train(config, data, progress=False))
