"""The published evidence reruns bit for bit (issue 15, docs/results.md): for each study of the
project's own MLflow store, the chosen configuration of Tanh and Tanh N is trained again, from
the same code (``glorot.code_hash``), data version and thread count as its recorded run, up to its
first evaluation after update 0, and the numbers recorded there must come back identical.

Slow (about 2 minutes for ``mnist``, 4 for ``shapeset1000``, seconds for ``quick``) and run only
where the studies were run: ``python -m pytest -m slow tests/integration/test_evidence.py``. A
study without a finished sweep in the store is skipped, saying which command runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from glorot.config import build_config, network_name
from glorot.engine import NullLogger, train
from glorot.pipeline.provenance import code_hash, config_key, versioned_data
from glorot.pipeline.study import load_params
from glorot.pipeline.tracking import Tracker, resolve_uri

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NETWORKS = ("Tanh", "Tanh N")
KEYS = ("train/nll", "valid/error", "test/error")


class Recorder(NullLogger):
    """Keeps what a run logs at each step."""

    def __init__(self) -> None:
        self.steps: dict[int, dict[str, float]] = {}

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.steps.setdefault(step, {}).update(metrics)


def chosen_runs(study: str):
    """The study's spec, its store and, per network of :data:`NETWORKS`, the (configuration, run)
    with the lowest final validation error among the finished runs of the latest sweep."""
    params = load_params(REPO / "params.yaml")
    spec = params.get_study(study, check_machine=False)
    tracker = Tracker(resolve_uri(params.tracking_uri, REPO), spec.name, REPO)
    parent = tracker.latest_parent()
    if parent is None:
        pytest.skip(f"no sweep of {study} in this project's MLflow store: run `python flows/sweep.py --study {study}`")
    runs = {r.data.tags.get("glorot.config_key"): r for r in tracker.child_runs(parent) if r.info.status == "FINISHED"}
    chosen = {}
    for config in spec.configs():
        name = network_name(config.activation, config.init)
        if name not in NETWORKS:
            continue
        run = next((r for r in runs.values() if r.data.tags.get("glorot.config_key") ==
                    config_key(config, r.data.tags.get("data_version", ""))), None)
        if run is None:
            pytest.skip(f"the latest sweep of {study} has not finished {config.label}: "
                        f"run `python flows/sweep.py --study {study}`")
        best = chosen.get(name)
        if best is None or run.data.metrics["final/valid_error"] < best[1].data.metrics["final/valid_error"]:
            chosen[name] = (config, run)
    return params, tracker, list(chosen.values())


@pytest.mark.parametrize("study", ["quick", "mnist", "shapeset1000"])
def test_a_slice_of_the_recorded_study_comes_back_bit_identical(study):
    params, tracker, chosen = chosen_runs(study)
    threads = torch.get_num_threads()
    try:
        for config, run in chosen:
            tags = run.data.tags
            assert tags["glorot.code_hash"] == code_hash(), (
                f"{config.label} was recorded by other code ({tags['glorot.code_hash'][:12]}, commit "
                f"{tags.get('git_commit')}); this is {code_hash()[:12]}: rerun the study to publish from this code")
            data, now = versioned_data(config, REPO, params.data_dir)
            assert now["data_version"] == tags["data_version"], f"{config.label}: the data changed since its run"
            torch.set_num_threads(int(tags["torch_threads"]))
            step = config.eval_every
            recorder = Recorder()
            train(build_config(**dict(config.model_dump(), updates=step)), data, recorder, progress=False)
            for key in KEYS:
                (recorded,) = [m.value for m in tracker.client.get_metric_history(run.info.run_id, key)
                               if m.step == step]
                assert recorder.steps[step][key] == recorded, f"{config.label} {key} at update {step}"
    finally:
        torch.set_num_threads(threads)
