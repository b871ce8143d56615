"""The published evidence reruns bit for bit (issues 15 and 26, docs/results.md): every entry of
every study's committed replay record (``docs/results/<study>-evidence.json``, written by
``glorot results``: one per network cell, its chosen learning rate and first seed) is trained again
from the recorded configuration, code hash, data version and thread count, up to its first
evaluation after update 0, and the numbers MLflow recorded there must come back identical.

Slow (a few seconds per entry at 200 units; about a minute per MNIST entry and two per
Shapeset-3x2 entry at 1000 units) and needs the studies' data
(``dvc repro data/dvc.yaml:prepare_mnist``, ``dvc repro shapeset``):
``python -m pytest -m slow tests/integration/test_evidence.py`` (``-k mnist`` for one study).
``GLOROT_EVIDENCE_DIR`` points it at another folder of records (default ``docs/results``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glorot.pipeline.study import load_params
from glorot.pipeline.replay import replay
from glorot.report.evidence import load_evidence

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RECORDS = sorted(Path(os.environ.get("GLOROT_EVIDENCE_DIR", REPO / "docs" / "results")).glob("*-evidence.json"))


def _entries(path: Path) -> list[int | None]:
    """The indices of a record's entries; ``[None]`` for a record that cannot be read (the test
    then fails on it, naming the problem) or that holds none."""
    try:
        return list(range(len(json.loads(path.read_text())["entries"]))) or [None]
    except (OSError, ValueError, KeyError, TypeError):
        return [None]


CASES = [(path, i) for path in RECORDS for i in _entries(path)]


@pytest.mark.parametrize("path,index", CASES or [(None, None)],
                         ids=[f"{p.stem.removesuffix('-evidence')}-{i}" for p, i in CASES] or ["no-record"])
def test_a_slice_of_each_published_run_comes_back_bit_identical(path, index):
    if path is None:
        pytest.skip("no replay record in docs/results: run the studies, then `glorot results`")
    record = load_evidence(path)
    assert index is not None, f"{path.name} holds no entry"
    entry = record["entries"][index]
    data_dir = load_params(REPO / "params.yaml").data_dir
    if not (REPO / data_dir / entry["config"]["dataset"]).is_dir():
        pytest.skip(f"{entry['config']['dataset']} is not prepared here: `dvc pull` or `dvc repro` its stage")
    got = replay(entry, REPO, data_dir)
    assert got == entry["recorded"], f"{entry['label']} at update {entry['step']}: {got} != {entry['recorded']}"
