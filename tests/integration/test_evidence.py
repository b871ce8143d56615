"""The published evidence reruns bit for bit (issue 15, docs/results.md): for each study's
committed replay record (``docs/results/<study>-evidence.json``, written by ``glorot results``),
the Tanh and Tanh N cells are trained again from the recorded configuration, code hash, data
version and thread count, up to their first evaluation after update 0, and the numbers MLflow
recorded there must come back identical.

Slow (about 2 minutes for ``mnist``, 4 for ``shapeset1000``) and needs the studies' data
(``dvc repro data/dvc.yaml:prepare_mnist``, ``dvc repro shapeset``):
``python -m pytest -m slow tests/integration/test_evidence.py``. ``GLOROT_EVIDENCE_DIR`` points
it at another folder of records (default ``docs/results``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glorot.pipeline.study import load_params
from glorot.pipeline.replay import replay
from glorot.report.evidence import load_evidence

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NETWORKS = ("Tanh", "Tanh N")
RECORDS = sorted(Path(os.environ.get("GLOROT_EVIDENCE_DIR", REPO / "docs" / "results")).glob("*-evidence.json"))


@pytest.mark.parametrize("path", RECORDS or [None], ids=[p.name for p in RECORDS] or ["no-record"])
def test_a_slice_of_the_published_study_comes_back_bit_identical(path):
    if path is None:
        pytest.skip("no replay record in docs/results: run the studies, then `glorot results`")
    record = load_evidence(path)
    entries = [e for e in record["entries"] if e["network"] in NETWORKS]
    assert entries, f"{path.name} holds no {' or '.join(NETWORKS)} cell"
    data_dir = load_params(REPO / "params.yaml").data_dir
    for entry in entries:
        if not (REPO / data_dir / entry["config"]["dataset"]).is_dir():
            pytest.skip(f"{entry['config']['dataset']} is not prepared here: `dvc pull` or `dvc repro` its stage")
        got = replay(entry, REPO, data_dir)
        assert got == entry["recorded"], f"{entry['label']} at update {entry['step']}: {got} != {entry['recorded']}"
