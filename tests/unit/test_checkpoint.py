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


def _killed_run(folder, data, owner=None):
    """A checkpoint at update 50 of CONFIG, as a killed run leaves it."""
    config = build_config(**CONFIG)
    with pytest.raises(Interrupt):
        train(config, data, StopAt(60), progress=False, checkpointer=Checkpointer(folder, every=25, owner=owner))
    return config


def _loader(folder, owner=None):
    said = []
    return Checkpointer(folder, every=25, owner=owner, report=said.append), said


def test_checkpoint_of_another_configuration_is_set_aside(tmp_path, data):
    config = _killed_run(tmp_path, data)
    checkpointer, said = _loader(tmp_path)
    assert checkpointer.load(config.model_copy(update={"lr": 0.5})) is None
    assert len(said) == 1 and "another configuration" in said[0] and "\n" not in said[0]
    assert not checkpointer.path.exists() and (tmp_path / "checkpoint.pt.set-aside-1").is_file()


@pytest.mark.parametrize("owner, why", [({"run_id": "b", "code": "c1", "data": "d1"}, "run_id 'a'"),
                                        ({"run_id": "a", "code": "c2", "data": "d1"}, "code 'c1'"),
                                        ({"run_id": "a", "code": "c1", "data": "d2"}, "data 'd1'"),
                                        (None, "code 'c1'")])
def test_a_checkpoint_is_resumed_only_by_its_own_run_code_and_data(tmp_path, data, owner, why):
    mine = {"run_id": "a", "code": "c1", "data": "d1"}
    config = _killed_run(tmp_path, data, mine)
    assert _loader(tmp_path, mine)[0].load(config).update == 50
    checkpointer, said = _loader(tmp_path, owner)
    assert checkpointer.load(config) is None
    assert len(said) == 1 and why in said[0]


def _flip_last_byte(raw):
    return raw[:-1] + bytes([raw[-1] ^ 1])


@pytest.mark.parametrize("damage, why", [(lambda raw: b"", "empty"), (lambda raw: raw[:len(raw) // 2], "checksum"),
                                         (_flip_last_byte, "checksum"), (lambda raw: b"not a checkpoint", "not a glorot")])
def test_empty_truncated_or_altered_checkpoints_are_set_aside_and_the_run_starts_afresh(tmp_path, data, damage, why):
    config = _killed_run(tmp_path, data)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(damage(path.read_bytes()))
    checkpointer, said = _loader(tmp_path)
    net, result = train(config, data, progress=False, checkpointer=checkpointer)
    assert len(said) == 1 and why in said[0]
    net_ref, ref = train(config, data, progress=False)
    assert json.dumps(result.curve) == json.dumps(ref.curve)
    for a, b in zip(net.parameters(), net_ref.parameters()):
        assert torch.equal(a, b)


def test_a_second_set_aside_keeps_the_first(tmp_path, data):
    config = _killed_run(tmp_path, data)
    for n in (1, 2):
        (tmp_path / "checkpoint.pt").write_bytes(b"")
        assert _loader(tmp_path)[0].load(config) is None
        assert (tmp_path / f"checkpoint.pt.set-aside-{n}").is_file()


def test_unwritable_checkpoint_folder_is_a_one_line_error(tmp_path, data):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(GlorotError, match="cannot write checkpoint"):
        train(build_config(**CONFIG), data, progress=False, checkpointer=Checkpointer(blocker / "ck", every=25))


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path, data):
    """A kill during a save leaves ``.checkpoint.pt.*.tmp`` (atomic_write's temp file); with
    ``--checkpoint-every 1`` under repeated kills they piled up, each a full checkpoint."""
    for n in range(4):
        (tmp_path / f".checkpoint.pt.killed{n}.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / "notes.tmp").write_text("not ours")
    train(build_config(**CONFIG), data, progress=False, checkpointer=Checkpointer(tmp_path, every=40))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "notes.tmp"]
