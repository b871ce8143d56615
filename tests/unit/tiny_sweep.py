"""A study of a test's own, trained into a real (SQLite) MLflow store in a temporary folder, for
the tests that publish or report what MLflow holds (no Prefect: the configurations run in-process)."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from glorot.pipeline.study import load_params


@dataclass
class TinySweep:
    """The parameters file, store and parent run of a study named in it."""

    params: Path
    uri: str
    tracker: object
    parent: str
    configs: list


def start_tiny_sweep(tmp_path: Path, monkeypatch, name: str, study: dict) -> TinySweep:
    """Write ``params.yaml`` holding the one study ``name``, point ``MLFLOW_TRACKING_URI`` at a new
    store in ``tmp_path``, open a sweep's parent run there and expand the study's configurations."""
    from glorot.pipeline.tracking import Tracker

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"study": name, "studies": {name: study}}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracker = Tracker(uri, name, tmp_path)
    parent = tracker.start_parent({"glorot.sweep_key": "k"})
    return TinySweep(params, uri, tracker, parent, load_params(params).get_study(name, check_machine=False).configs())


def run_tiny_sweep(sweep: TinySweep, name: str, root: Path) -> None:
    """Train every configuration of ``sweep`` as a child run of its parent."""
    from glorot.pipeline.runs import run_configuration

    for config in sweep.configs:
        run_configuration(config, name, sweep.uri, sweep.parent, root, None)


def run_tiny_sweep_after_a_failure(tmp_path: Path, monkeypatch, name: str, study: dict) -> TinySweep:
    """:func:`start_tiny_sweep`, one attempt at the first configuration that failed (``OSError: disk
    away``, a child run that did not finish), then :func:`run_tiny_sweep`: a sweep as a retry leaves it."""
    sweep = start_tiny_sweep(tmp_path, monkeypatch, name, study)
    failed = sweep.tracker.start_child(sweep.parent, sweep.configs[0], {"glorot.config_key": "an attempt"})
    sweep.tracker.fail(failed, "OSError: disk away")
    run_tiny_sweep(sweep, name, tmp_path)
    return sweep
