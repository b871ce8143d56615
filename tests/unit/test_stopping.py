"""A requested stop (Ctrl-C or SIGTERM during a sweep): each run stops right after a checkpoint
and resumes from it to the numbers of a run never stopped; a second signal exits at once."""

import json
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from glorot.config import build_config
from glorot.data.sources import load_data
from glorot.engine import train, train_group
from glorot.engine.checkpoint import Checkpointer
from glorot.pipeline import stopping
from glorot.pipeline.stopping import Stopped, StoppingCheckpointer

CONFIG = dict(depth=2, width=32, updates=120, eval_every=40, probe_every=30, probe_size=20,
              valid_size=200, test_size=200, device="cpu", activation="tanh")


@pytest.fixture(autouse=True)
def no_request_left():
    yield
    stopping._requested.clear()


@pytest.fixture(scope="module")
def data():
    return load_data(build_config(**CONFIG))


def test_a_requested_stop_ends_the_run_at_its_next_checkpoint_and_it_resumes_to_the_same_numbers(tmp_path, data):
    config = build_config(**CONFIG)
    net_ref, ref = train(config, data, progress=False)
    checkpointer = StoppingCheckpointer(tmp_path, every=25)
    stopping.request_stop()
    with pytest.raises(Stopped):
        train(config, data, progress=False, checkpointer=checkpointer)
    assert checkpointer.load(config).update == 25  # the first checkpoint is written, then the run stops
    stopping._requested.clear()
    net, result = train(config, data, progress=False, checkpointer=Checkpointer(tmp_path, every=25))
    assert json.dumps(result.curve) == json.dumps(ref.curve)
    assert (result.valid_error, result.test_error) == (ref.valid_error, ref.test_error)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net_ref.parameters()))


def test_without_a_request_the_checkpointer_only_saves(tmp_path, data):
    config = build_config(**CONFIG)
    _, result = train(config, data, progress=False, checkpointer=StoppingCheckpointer(tmp_path, every=25))
    assert result.updates == config.updates


def test_a_stopped_group_stops_once_every_member_saved_and_resumes_to_the_numbers_of_the_group(tmp_path, data):
    configs = [build_config(**CONFIG, seed=s) for s in (0, 1)]
    refs = train_group(configs, data)
    stopping.request_stop()
    folders = [tmp_path / str(k) for k in range(2)]
    with pytest.raises(Stopped):
        train_group(configs, data, checkpointers=StoppingCheckpointer.group(folders, [25, 25], [{}, {}]))
    assert [Checkpointer(f, every=25).load(c).update for f, c in zip(folders, configs)] == [25, 25]
    stopping._requested.clear()
    runs = train_group(configs, data, checkpointers=[Checkpointer(f, every=25) for f in folders])
    for (net, result), (net_ref, ref) in zip(runs, refs):
        assert json.dumps(result.curve) == json.dumps(ref.curve)
        assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net_ref.parameters()))


def test_a_member_that_no_longer_saves_does_not_hold_the_group(tmp_path, data):
    config = build_config(**CONFIG)
    live, gone = StoppingCheckpointer.group([tmp_path / "live", tmp_path / "gone"], [25, 25], [{}, {}])
    stopping.request_stop()
    with pytest.raises(Stopped):
        train(config, data, progress=False, checkpointer=live)  # its partner diverged: it never saves
    assert Checkpointer(tmp_path / "live", every=25).load(config).update == 25  # not 50: the stop came before it


def test_nothing_is_opened_for_a_group_started_after_the_stop(tmp_path):
    from glorot.pipeline.runs import run_configurations

    stopping.request_stop()
    with pytest.raises(Stopped):
        run_configurations([build_config(**CONFIG)], "tiny", f"sqlite:///{tmp_path / 'mlflow.db'}", root=tmp_path,
                           data_dir=None)
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "checkpoints").exists()


SIGNALLED = textwrap.dedent("""
    import os, signal, sys
    from glorot.pipeline import stopping
    heard = []
    signal.signal(signal.SIGTERM, lambda s, f: heard.append(s))  # the handler the sweep finds (Prefect's)
    with stopping.stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        print(stopping.stop_requested(), heard == [signal.SIGTERM], flush=True)
        if sys.argv[1] == "twice":
            os.kill(os.getpid(), signal.SIGTERM)
            print("still here", flush=True)
    print(stopping.stop_requested(), signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, flush=True)
""")


def _signalled(times: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SIGNALLED, times], capture_output=True, text=True, timeout=120)


def test_the_first_signal_requests_a_stop_then_hands_it_to_the_previous_handler():
    proc = _signalled("once")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "False", "True"]  # leaving the block: request cleared, handler back
    assert proc.stderr.startswith("glorot: SIGTERM: stopping; each run stops after its next checkpoint")


def test_a_second_signal_exits_at_once_with_the_signal_status():
    proc = _signalled("twice")
    assert proc.returncode == 128 + signal.SIGTERM
    assert "still here" not in proc.stdout
    assert proc.stderr.splitlines()[-1] == ("glorot: SIGTERM again: stopped at once; "
                                            "the runs resume from their last checkpoints")


def test_an_ignored_signal_stays_ignored():
    script = textwrap.dedent("""
        import os, signal
        from glorot.pipeline import stopping
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's
        with stopping.stop_on_signals():
            os.kill(os.getpid(), signal.SIGINT)
            print(stopping.stop_requested(), signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"], proc.stderr


def test_a_signal_whose_previous_action_was_the_default_ends_with_its_status():
    script = textwrap.dedent("""
        import os, signal
        from glorot.pipeline import stopping
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with stopping.stop_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM


def test_sigterm_in_a_deployments_flow_run_stops_its_training_at_once_and_says_so():
    """The worker cancelling a flow run sends SIGTERM: within :func:`stop_on_sigterm` it raises
    Stopped where the training is (its runs end stopped, not failed); the handler is put back after."""
    script = textwrap.dedent("""
        import os, signal, time
        from glorot.pipeline import stopping
        before = signal.getsignal(signal.SIGTERM)
        try:
            with stopping.stop_on_sigterm():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
                print("not stopped")
        except stopping.Stopped as e:
            print("stopped:", e)
        print(signal.getsignal(signal.SIGTERM) is before)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first.startswith("stopped: stopped by SIGTERM (its flow run was cancelled)") and second == "True"


def test_a_sweep_of_a_deployment_says_its_flow_runs_are_cancelled():
    script = SIGNALLED.replace("stopping.stop_on_signals()", "stopping.stop_on_signals(effect=stopping.REMOTE_STOP)")
    proc = subprocess.run([sys.executable, "-c", script, "once"], capture_output=True, text=True, timeout=120)
    assert proc.stderr.startswith("glorot: SIGTERM: stopping; the flow runs it submitted are cancelled"), proc.stderr
