"""``glorot summary``'s reader of a local SQLite store without MLflow (glorot.report.sqlite_source):
on a real store it reads the same sweep, runs and test-set correctness as MLflow's client does, so
the summary is the same text; what it cannot read goes through MLflow."""

import sqlite3

import numpy as np
import pytest
from tiny_sweep import run_tiny_sweep_after_a_failure

from glorot.errors import GlorotError
from glorot.report.collect import open_study
from glorot.report.sqlite_source import NotReadableHere, SqliteSweep, read_sweep
from glorot.report.summary import summary_text
from glorot.report.table1 import build_table

STUDY = {"datasets": ["shapeset"], "networks": ["Tanh", "Tanh N"], "depths": [1], "widths": [8], "lrs": [0.1, 0.3],
         "seeds": [0], "updates": 20, "eval_every": 10, "probe_every": 10, "probe_size": 10, "valid_size": 60,
         "test_size": 60, "device": "cpu"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("store")
    sweep = run_tiny_sweep_after_a_failure(tmp, monkeypatch, "t", STUDY)
    yield sweep, tmp
    monkeypatch.undo()


def test_the_summary_reads_the_same_sweep_as_mlflows_client(store):
    sweep, tmp = store
    mine = SqliteSweep(tmp / "mlflow.db", "t")
    theirs = open_study(sweep.uri, "t", tmp)
    assert mine.parent_id == theirs.parent_id == sweep.parent
    assert mine.runs == theirs.runs and len(mine.runs) == 5  # 4 configurations and a failed attempt
    read = [(mine.correctness(r.run_id), theirs.correctness(r.run_id)) for r in mine.runs]
    assert sum(a is not None for a, _ in read) == 4  # the failed attempt has none
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in read)
    assert (summary_text(build_table(mine.runs, mine.correctness), mine.runs, every_run=True)
            == summary_text(build_table(theirs.runs, theirs.correctness), theirs.runs, every_run=True))


def test_what_it_cannot_read_goes_through_mlflow(store, tmp_path):
    sweep, tmp = store
    assert isinstance(read_sweep(sweep.uri, "t", tmp, "glorot sweep --study t"), SqliteSweep)
    with pytest.raises(GlorotError, match="^study 'other' has no sweep in sqlite:///"):
        read_sweep(sweep.uri, "other", tmp, "glorot sweep --study other")
    not_mlflow = tmp_path / "other.db"
    sqlite3.connect(not_mlflow).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(NotReadableHere):
        SqliteSweep(not_mlflow, "t")
    with pytest.raises(GlorotError, match="^study 't' has no sweep in sqlite:///"):  # as MLflow reads it
        read_sweep(f"sqlite:///{not_mlflow}", "t", tmp_path, "glorot sweep --study t")
