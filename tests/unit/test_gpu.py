"""On a GPU, the engine gets the CPU's numbers (up to the GPU's rounding): its steps on fixed
batches, and train_group as a sweep runs it there. Skipped without CUDA; the speed on a GPU
is benchmarks/gpu_check.py's.

The Table 1 networks and one relu net with lr 1e6 that must diverge, on a 1024-256x5-9 net,
300 updates on their own Shapeset batches, TF32 off: every GPU step (eager per net, one
batched model eager, the same captured in a CUDA graph) against the CPU's eager step per net,
each weight within 1e-3 of the CPU's relative to that tensor's largest weight (the nets that
completed), and every net diverging (or not) at the CPU's update."""

import pytest
import torch

from glorot.config import build_config
from glorot.data import shapeset
from glorot.data.sources import load_data
from glorot.engine.loop import train, train_group
from glorot.engine.stacked import BatchedMLP
from glorot.engine.steps import DeviceStep, GraphedStep, make_step, run
from glorot.paper.nets import MLP

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CHECK = [("softsign", "standard", 0.01), ("softsign", "normalized", 0.01), ("tanh", "standard", 0.01),
         ("tanh", "normalized", 0.01), ("sigmoid", "standard", 0.1), ("relu", "he", 1e6)]
BATCH, WIDTH, UPDATES = 10, 256, 300


@pytest.fixture(autouse=True)
def _no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = saved


def _nets(device) -> list[MLP]:
    return [MLP(1024, 9, 5, WIDTH, act, init, seed=k).to(device) for k, (act, init, _) in enumerate(CHECK)]


def _max_rel_diff(nets, refs, completed) -> float:
    """The largest difference of a weight from the reference's, relative to that tensor's largest weight."""
    pairs = [(p.detach().cpu(), q.detach()) for net, ref, ok in zip(nets, refs, completed) if ok
             for p, q in zip(net.parameters(), ref.parameters())]
    return max(float((p - q).abs().max()) / max(float(q.abs().max()), 1e-12) for p, q in pairs)


def _one_by_one(nets, x, y, device) -> list[int]:
    """Each net trained alone by the eager step on ``device``; the updates at which they diverged (0: not)."""
    diverged = []
    for k, (net, (_, _, lr)) in enumerate(zip(nets, CHECK)):
        step = make_step(BatchedMLP([net]), [lr], "nll", BATCH, 1024, sync_free=False)
        with torch.no_grad():
            run(step, x[:, k:k + 1].to(device), y[:, k:k + 1].to(device))
        diverged += step.read().diverged_at
    return diverged


@pytest.fixture(scope="module")
def reference():
    """The batches ``(updates, K, B, D)``, ``(updates, K, B)``, the CPU's nets and their divergence."""
    data = [shapeset.generate(UPDATES * BATCH, seed=500 + k) for k in range(len(CHECK))]
    x = torch.stack([torch.from_numpy(d[0]).view(UPDATES, BATCH, -1) for d in data], 1)
    y = torch.stack([torch.from_numpy(d[1]).view(UPDATES, BATCH) for d in data], 1)
    nets = _nets(torch.device("cpu"))
    return x, y, nets, _one_by_one(nets, x, y, torch.device("cpu"))


@pytest.mark.parametrize("mode", ["single", "batched_eager", "batched_graph"])
def test_gpu_steps_get_the_cpu_numbers(reference, mode):
    x, y, refs, ref_diverged = reference
    assert ref_diverged[-1] > 0 and not any(ref_diverged[:-1])  # only the relu net at lr 1e6 diverges
    gpu, nets = torch.device("cuda"), _nets(torch.device("cuda"))
    if mode == "single":
        diverged = _one_by_one(nets, x, y, gpu)
    else:
        step = DeviceStep(BatchedMLP(nets), [lr for *_, lr in CHECK], "nll", BATCH, 1024)
        step = GraphedStep(step) if mode == "batched_graph" else step
        with torch.no_grad():
            run(step, x.to(gpu), y.to(gpu))
        diverged = step.read().diverged_at
    assert diverged == ref_diverged
    assert _max_rel_diff(nets, refs, [d == 0 for d in ref_diverged]) <= 1e-3


def test_train_group_on_a_gpu_gets_the_cpu_numbers():
    settings = dict(depth=5, width=WIDTH, updates=UPDATES, eval_every=UPDATES // 3, probe_every=UPDATES // 2,
                    probe_size=100, valid_size=1000, test_size=1000, device="cpu")
    configs = [build_config(**dict(settings, activation=a, init=i, lr=lr, seed=k))
               for k, (a, i, lr) in enumerate(CHECK)]
    data = load_data(configs[0])
    on_gpu = train_group([c.model_copy(update={"device": "cuda"}) for c in configs], data, sync_free=True)
    for config, (net, res) in zip(configs, on_gpu):
        ref_net, ref = train(config, data, progress=False)
        assert (res.status, res.diverged_at) == (ref.status, ref.diverged_at), config.label
        assert [c["update"] for c in res.curve] == [c["update"] for c in ref.curve]
        assert all(abs(a["valid/error"] - b["valid/error"]) <= 1 / 1000 + 1e-12 for a, b in zip(res.curve, ref.curve))
        if ref.status == "completed":
            assert _max_rel_diff([net], [ref_net], [True]) <= 1e-3, config.label
