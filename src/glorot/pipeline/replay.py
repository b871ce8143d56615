"""Training a published cell again from its replay record (issue 15, docs/results.md).

``glorot results`` commits a record per study (:mod:`glorot.report.evidence`: each Table 1
cell's configuration, code hash, data version, thread count and the numbers MLflow recorded at
its first evaluation after update 0); :func:`replay` trains that slice again, and
``tests/integration/test_evidence.py`` (``slow``) requires the same numbers, bit for bit. The
report only reads records; the training lives here, beside the pipeline's other runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from glorot.config import build_config
from glorot.engine import NullLogger, train, train_group
from glorot.errors import GlorotError
from glorot.pipeline.provenance import code_hash, versioned_data


class _Recorder(NullLogger):
    """Keeps the metrics logged at one update."""

    def __init__(self, step: int) -> None:
        self.step, self.at_step = step, {}

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if step == self.step:
            self.at_step.update(metrics)


def replay(entry: dict[str, Any], root: str | Path, data_dir: str | None) -> dict[str, float]:
    """Train the entry's configuration again up to its ``step``, with its thread count (and in its
    ``group``, when it was trained in one), after checking that this code and data are the ones it
    was recorded with; returns the values logged at ``step`` of the metrics the entry ``recorded``."""
    config = build_config(**{**entry["config"], "updates": entry["step"]})
    if entry["code_hash"] != code_hash():
        raise GlorotError(f"{entry['label']} was recorded by other code ({str(entry['code_hash'])[:12]}; this is "
                          f"{code_hash()[:12]}): rerun the study and `glorot results` to publish from this code")
    data, now = versioned_data(config, root, data_dir)
    if now["data_version"] != entry["data_version"]:
        raise GlorotError(f"{entry['label']}: data version {now['data_version']} is not the recorded "
                          f"{entry['data_version']}")
    group = [build_config(**{**c, "updates": entry["step"]}) for c in entry.get("group", [])]
    recorders, threads = [_Recorder(entry["step"]) for _ in group or [config]], torch.get_num_threads()
    torch.set_num_threads(entry["torch_threads"])
    try:
        if group:  # trained as one batched model: its numbers, to the last bit, are those of that group
            train_group(group, data, recorders)
        else:
            train(config, data, recorders[0], progress=False)
    finally:
        torch.set_num_threads(threads)
    recorder = recorders[group.index(config)] if group else recorders[0]
    return {k: recorder.at_step[k] for k in entry["recorded"]}
