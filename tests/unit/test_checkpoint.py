"""Checkpoints: a run interrupted at any update resumes to the same numbers."""

import json

import pytest
import torch

from glorot.engine.checkpoint import Checkpointer
from glorot.config import build_config
from glorot.data.sources import load_data
from glorot.errors import GlorotError
from glorot.engine import train

CONFIG = dict(depth=2, width=32, updates=120, eval_every=40, probe_every=30, probe_size=20,
              valid_size=200, test_size=200, device="cpu", activation="softsign")


class Interrupt(Exception):
    pass


class StopAt:
    """A logger that kills the run (by raising) when metrics for ``update`` arrive."""

    def __init__(self, update):
        self.update, self.steps, self.flushes = update, [], 0

    def log_metrics(self, metrics, step):
        if step == self.update:
            raise Interrupt
        self.steps.append(step)

    def log_probe(self, record):
        self.log_metrics(record.metrics(), record.update)

    def flush(self):
        self.flushes += 1


@pytest.fixture(scope="module")
def data():
    return load_data(build_config(**CONFIG))


@pytest.mark.parametrize("kill_at", [40, 90, 120])
def test_resumed_run_equals_uninterrupted_run(tmp_path, data, kill_at):
    config = build_config(**CONFIG)
    net_ref, ref = train(config, data, progress=False)
    checkpointer = Checkpointer(tmp_path, every=25)
    with pytest.raises(Interrupt):
        train(config, data, StopAt(kill_at), progress=False, checkpointer=checkpointer)
    saved = checkpointer.load(config)
    assert saved is not None and saved.update == 25 * ((kill_at - 1) // 25)
    logger = StopAt(None)
    net, result = train(config, data, logger, progress=False, checkpointer=checkpointer)
    assert min(logger.steps) > saved.update  # nothing before the checkpoint is logged again
    assert json.dumps(result.curve) == json.dumps(ref.curve) and result.updates == ref.updates  # NaN-aware
    assert [(p.update, p.layers) for p in result.probes] == [(p.update, p.layers) for p in ref.probes]
    assert (result.valid_error, result.test_error) == (ref.valid_error, ref.test_error)
    for a, b in zip(net.parameters(), net_ref.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_of_another_configuration_is_refused(tmp_path, data):
    config = build_config(**CONFIG)
    with pytest.raises(Interrupt):
        train(config, data, StopAt(60), progress=False, checkpointer=Checkpointer(tmp_path, every=25))
    other = config.model_copy(update={"lr": 0.5})
    with pytest.raises(GlorotError, match="belongs to another configuration"):
        Checkpointer(tmp_path, every=25).load(other)


def test_corrupt_checkpoint_is_a_one_line_error(tmp_path, data):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GlorotError, match="corrupt checkpoint"):
        Checkpointer(tmp_path, every=10).load(build_config(**CONFIG))


def test_unwritable_checkpoint_folder_is_a_one_line_error(tmp_path, data):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(GlorotError, match="cannot write checkpoint"):
        train(build_config(**CONFIG), data, progress=False, checkpointer=Checkpointer(blocker / "ck", every=25))
