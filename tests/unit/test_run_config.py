"""The one reader of a run's configuration from its MLflow params (glorot.pipeline.run_config)."""

from types import SimpleNamespace

import pytest

from glorot.config import build_config
from glorot.errors import GlorotError
from glorot.pipeline.run_config import config_from_params, run_config

CONFIG = build_config(dataset="mnist", activation="softsign", init="normalized", depth=3, width=7, lr=1e-05,
                      seed=2**40, updates=123, pretrain_noise=0.3, device="cpu")


def _logged(config):
    """The params as Tracker.start_child logs them: every field as ``str``."""
    return {k: str(v) for k, v in config.model_dump().items()}


def test_params_as_logged_read_back_to_the_same_config():
    assert config_from_params("r1", _logged(CONFIG)) == CONFIG
    run = SimpleNamespace(info=SimpleNamespace(run_id="r1"), data=SimpleNamespace(params=_logged(CONFIG)))
    assert run_config(run) == CONFIG


def test_a_real_child_runs_params_read_back(tmp_path):
    from glorot.pipeline.tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "unit", tmp_path)
    run_id = tracker.start_child(None, CONFIG, {})
    assert run_config(tracker.client.get_run(run_id)) == CONFIG


def test_a_missing_param_is_one_line_naming_the_run_and_param():
    params = _logged(CONFIG)
    del params["width"]
    with pytest.raises(GlorotError, match=r"^run r9: missing param 'width'") as e:
        config_from_params("r9", params)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name,text", [("depth", "5.0"), ("lr", "abc"), ("depth", "0"), ("activation", "cosh"),
                                       ("lr", "nan")])
def test_a_malformed_param_is_one_line_naming_the_run_and_param(name, text):
    with pytest.raises(GlorotError, match=rf"^run r9: malformed param.*{name}") as e:
        config_from_params("r9", {**_logged(CONFIG), name: text})
    assert "\n" not in str(e.value)


def test_the_report_refuses_a_run_with_a_missing_param_instead_of_reading_zero():
    from glorot.report.run_records import run_record

    params = _logged(CONFIG)
    del params["lr"]
    run = SimpleNamespace(info=SimpleNamespace(run_id="r3", status="FINISHED"),
                          data=SimpleNamespace(params=params, metrics={}, tags={"status": "completed"}))
    with pytest.raises(GlorotError, match=r"^run r3: missing param 'lr'"):
        run_record(run)
    assert run_record(SimpleNamespace(info=run.info, data=SimpleNamespace(
        params=_logged(CONFIG), metrics={}, tags={}))).lr == 1e-05
