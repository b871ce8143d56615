"""The training steps: the eager CPU step, the synchronisation-free step (any device) and its
CUDA-graph capture (skipped without CUDA), each against training alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pooled import pooled_data

from glorot.engine.stacked import BatchedMLP
from glorot.config import build_config
from glorot.engine.steps import DeviceStep, EagerStep, GraphedStep, make_step, prefetch, run
from glorot.errors import GlorotError
from glorot.engine import train_group
from glorot.paper.nets import MLP
from glorot.engine import build_net, train

SMALL = dict(depth=2, width=32, updates=150, eval_every=150, probe_every=0, probe_size=10,
             valid_size=100, test_size=100, device="cpu")
ROWS = [("tanh", "normalized", 0.1, 0), ("relu", "he", 1e6, 1), ("sigmoid", "standard", 0.5, 2),
        ("softsign", "normalized", 0.1, 3)]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    return pooled_data(SMALL, 500, seed=78)


def _group(data, device, kind=DeviceStep):
    configs = [build_config(**dict(SMALL, activation=a, init=i, lr=lr, seed=s)) for a, i, lr, s in ROWS]
    model = BatchedMLP([build_net(c, data).to(device) for c in configs])
    lrs = [c.lr for c in configs]
    step = EagerStep(model, lrs, "nll") if kind is EagerStep else kind(model, lrs, "nll", 10, data.n_in)
    streams = [data.train_stream(c.seed, c.batch_size) for c in configs]
    return configs, model, step, streams


def _check_against_train(configs, model, bookkeeping, data, atol_scale, device_differs=False):
    for k, config in enumerate(configs):
        ref_net, ref = train(config, data, progress=False)
        alive = bookkeeping.alive[k]
        assert alive == (ref.status == "completed")
        assert bookkeeping.diverged_at[k] == (ref.diverged_at or 0)
        assert bookkeeping.nll_n[k] == ref.updates
        if not alive and device_differs:
            continue  # a diverged slice's frozen weights may hold inf/huge values that devices round apart
        for p, q in zip(model.nets[k].parameters(), ref_net.parameters()):
            p, q = p.detach().cpu(), q.detach()
            finite = q[torch.isfinite(q)]
            scale = float(finite.abs().max()) if finite.numel() else 1.0
            torch.testing.assert_close(p, q, rtol=0, atol=atol_scale * scale + 1e-7, equal_nan=True)


@pytest.mark.parametrize("kind", [EagerStep, DeviceStep])
def test_step_equals_train_and_freezes_a_diverged_slice_on_cpu(data, kind):
    configs, model, step, streams = _group(data, torch.device("cpu"), kind)
    x, y = prefetch(streams, SMALL["updates"], torch.device("cpu"))
    assert x.shape == (SMALL["updates"], len(configs), 10, data.n_in)
    assert y.shape == (SMALL["updates"], len(configs), 10)
    run(step, x, y)
    book = step.read()
    assert book.updates == SMALL["updates"] and book.alive == [True, False, True, True]
    _check_against_train(configs, model, book, data, 0)


def test_the_step_of_a_device():
    model = BatchedMLP([MLP(4, 2, depth=1, width=3)])
    assert isinstance(make_step(model, [0.1], "nll", 10, 4), EagerStep)
    assert isinstance(make_step(model, [0.1], "nll", 10, 4, sync_free=True), DeviceStep)


def test_device_step_validates_its_input(data):
    model = BatchedMLP([MLP(4, 2, depth=1, width=3)])
    with pytest.raises(GlorotError, match="learning rates"):
        DeviceStep(model, [0.1, 0.2], "nll", 10, 4)
    with pytest.raises(GlorotError, match="learning rates"):
        EagerStep(model, [0.1, 0.2], "nll")
    with pytest.raises(ValueError, match="unknown cost"):
        DeviceStep(model, [0.1], "hinge", 10, 4)
    if not torch.cuda.is_available():
        with pytest.raises(GlorotError, match="CUDA"):
            GraphedStep(DeviceStep(model, [0.1], "nll", 10, 4))


@cuda
def test_graphed_step_equals_eager_and_train(data):
    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device("cuda")
    configs, model, step, streams = _group(data, device)
    x, y = prefetch(streams, SMALL["updates"], device)
    graphed = GraphedStep(step)
    assert step.read().updates == 0  # the warm-up steps were undone
    run(graphed, x, y)
    book = graphed.read()
    assert book.updates == SMALL["updates"] and book.alive == [True, False, True, True]
    _check_against_train(configs, model, book, data, 1e-4, device_differs=True)


@cuda
def test_train_group_on_cuda_takes_the_graphed_sync_free_path_and_equals_train(data):
    torch.backends.cuda.matmul.allow_tf32 = False
    configs = [build_config(**dict(SMALL, activation=a, init=i, lr=lr, seed=s, eval_every=50, probe_every=75))
               for a, i, lr, s in ROWS]
    for config, (net, res) in zip(configs, train_group([c.model_copy(update={"device": "cuda"}) for c in configs],
                                                       data)):
        ref_net, ref = train(config, data, progress=False)
        assert (res.status, res.diverged_at) == (ref.status, ref.diverged_at)
        assert [c["update"] for c in res.curve] == [c["update"] for c in ref.curve]
        assert [p.update for p in res.probes] == [p.update for p in ref.probes]
        if ref.status == "completed":
            for p, q in zip(net.parameters(), ref_net.parameters()):
                torch.testing.assert_close(p.detach().cpu(), q.detach(), rtol=0, atol=1e-4 * float(q.abs().max()))


def test_the_gpu_check_script_runs_its_plumbing_on_the_cpu():
    """benchmarks/gpu_check.py is the speed script a GPU session runs (its correctness checks are
    tests/unit/test_gpu.py): keep it working."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
    proc = subprocess.run([sys.executable, str(script), "--cpu-dry-run", "--updates", "10", "--ks", "3",
                           "--trainer-k", "2", "--trainer-updates", "30"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["trainer_speed"]["pool_cfg_updates_per_s"] > 0 and out["speed"]["batched_K3_eager"]["cfg_updates_per_s"] > 0
