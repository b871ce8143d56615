"""The replay record of the published evidence (issue 15, docs/results.md).

For each network of a study's Table 1, :func:`evidence_record` keeps the configuration behind
its cell (the learning rate chosen on validation, the first seed), what its run was made with
(the code hash, the data version, the torch thread count) and the numbers MLflow recorded at
its first evaluation after update 0 (:data:`~glorot.report.collect.CURVE_KEYS`). ``glorot results``
commits it beside the page as ``docs/results/<study>-evidence.json``, so a fresh clone, which
has no MLflow store, still holds what to check; :func:`glorot.pipeline.replay.replay` trains
that slice again from the record (the report only reads), and
``tests/integration/test_evidence.py`` (``slow``) requires the same numbers, bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glorot.errors import GlorotError
from glorot.pipeline.provenance import config_key
from glorot.pipeline.study import StudyConfig
from glorot.report.collect import CURVE_KEYS
from glorot.report.records import Run, design_key


def _cell(run: Any) -> tuple:
    return run.dataset, run.activation, run.init, int(run.depth), int(run.width)


def evidence_record(study: StudyConfig, records: Sequence[Run], children: Sequence[Any]) -> dict[str, Any]:
    """The record of ``study``: ``records`` are the runs behind Table 1 with their series
    (:attr:`glorot.report.build.Findings.records`), ``children`` the sweep's MLflow child runs
    (for their tags). One entry per cell, in the study's order; each names its first evaluation
    ``step`` and the ``recorded`` values there."""
    by_key = {design_key(r): r for r in records}
    tags = {c.info.run_id: c.data.tags for c in children}
    entries, seen = [], set()
    for config in study.configs():
        run = by_key.get(design_key(config))
        if run is None or _cell(config) in seen:
            continue
        seen.add(_cell(config))
        steps = [s for s in run.metric("valid/error").steps if s > 0]
        if not steps:
            continue
        step = steps[0]
        recorded = {k: run.metric(k).values[run.metric(k).steps.index(step)] for k in CURVE_KEYS}
        t = tags.get(run.run_id, {})
        entries.append({"network": run.network, "label": config.label, "run_id": run.run_id,
                        "config": config.model_dump(mode="json"), "data_version": run.data_version,
                        "code_hash": t.get("glorot.code_hash"), "torch_threads": int(t.get("torch_threads", 1)),
                        "step": step, "recorded": recorded, **_group(study, t, run.data_version)})
    return {"study": study.name, "entries": entries}


def _group(study: StudyConfig, tags: dict[str, str], data_version: str | None) -> dict[str, Any]:
    """``{"group": [configs]}``: the configurations a run was trained with as one batched model, in
    the order trained (its ``glorot.group`` tag, of config keys), since the last bits of its numbers
    depend on them; empty for a run trained alone or one whose group is not known (a run recorded
    before the tag existed, or a member this study does not hold)."""
    keys = tags.get("glorot.group", "").split(",")
    if len(keys) < 2:
        return {}
    known = {config_key(c, data_version): c for c in study.configs()}  # the study's own (first-stage) configurations
    members = [known.get(k) for k in keys]
    return {} if None in members else {"group": [c.model_dump(mode="json") for c in members]}


def evidence_json(record: dict[str, Any]) -> str:
    """The record as the committed file holds it (floats written to round-trip exactly)."""
    return json.dumps(record, indent=1, sort_keys=True) + "\n"


def load_evidence(path: str | Path) -> dict[str, Any]:
    """A committed record; a missing or corrupt file is a one-line :class:`GlorotError`."""
    try:
        record = json.loads(Path(path).read_text())
        record["entries"]  # noqa: B018 - the field every reader needs
    except FileNotFoundError:
        raise GlorotError(f"missing evidence record: {path}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise GlorotError(f"corrupt evidence record {path}: {e}") from None
    return record
