"""A sweep carried between tracking stores (glorot.pipeline.archive, ``glorot archive``): what the
report reads of the imported sweep is what it read of the exported one, a sweep continues on the
imported runs instead of training them again, and an import is whole per run and can be repeated."""

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from tiny_sweep import run_tiny_sweep_after_a_failure

from glorot.cli import main
from glorot.errors import GlorotError
from glorot.pipeline.archive import endpoints, export_sweep, import_sweep, read_archive
from glorot.pipeline.sweep import Sweep
from glorot.pipeline.tracking import Tracker
from glorot.report.collect import open_study
from glorot.report.summary import summary_text
from glorot.report.table1 import build_table

STUDY = {"datasets": ["shapeset"], "networks": ["Tanh", "Tanh N"], "depths": [2], "widths": [8], "lrs": [0.1],
         "seeds": [0, 1], "updates": 30, "eval_every": 10, "probe_every": 10, "probe_size": 10, "valid_size": 60,
         "test_size": 60, "device": "cpu"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("from")
    sweep = run_tiny_sweep_after_a_failure(tmp, monkeypatch, "t", STUDY)  # the failed attempt: not carried
    moved = export_sweep(sweep.tracker, tmp / "t.tar.xz")
    yield sweep, tmp, moved
    monkeypatch.undo()


def _fresh(tmp_path, monkeypatch) -> Tracker:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return Tracker(uri, "t", tmp_path)


def _without_ids(runs):
    return [(r.network, r.seed, r.lr, r.status, r.valid_error, r.test_error, r.updates) for r in runs]


def test_the_report_reads_the_imported_sweep_as_the_exported_one(exported, tmp_path, monkeypatch):
    sweep, tmp, moved = exported
    assert (moved.parent_id, moved.runs) == (sweep.parent, 4)  # the failed attempt is left behind
    imported = import_sweep(_fresh(tmp_path, monkeypatch), tmp / "t.tar.xz")
    assert (imported.runs, imported.skipped) == (4, 0) and imported.parent_id != sweep.parent
    before, after = open_study(sweep.uri, "t", tmp), open_study(f"sqlite:///{tmp_path / 'mlflow.db'}", "t", tmp_path)
    old = sorted(before.runs, key=lambda r: (r.network, r.seed))
    new = sorted(after.runs, key=lambda r: (r.network, r.seed))
    assert [r for r in _without_ids(old) if r[3] != "failed"] == _without_ids(new)
    old = [r for r in old if r.status != "failed"]
    for a, b in zip(before.diagnostics(old), after.diagnostics(new)):
        assert a.series == b.series and len(a.series) > 10  # every metric history, step by step
        assert np.array_equal(before.correctness(a.run_id), after.correctness(b.run_id))
        ha, hb = before.histograms(a.run_id), after.histograms(b.run_id)
        assert hb.has_update(0) and hb.last_update() == ha.last_update() == 30 and not hb.has_update(10)
        for u in (0, 30):
            assert all(np.array_equal(x, y) for x, y in zip(ha.layer(u, 1, "act"), hb.layer(u, 1, "act")))
    text = [summary_text(build_table(runs, s.correctness), runs) for s, runs in ((before, old), (after, after.runs))]
    assert text[0] == text[1]  # the failed attempt (a configuration key of its own here) aside


def test_a_sweep_continues_on_the_imported_runs_and_a_second_import_adds_nothing(exported, tmp_path, monkeypatch):
    sweep, tmp, _ = exported
    tracker = _fresh(tmp_path, monkeypatch)
    parent = import_sweep(tracker, tmp / "t.tar.xz").parent_id
    assert tracker.find_parent("k") == parent  # the archived sweep key: `glorot sweep` continues this parent
    assert tracker.client.get_run(parent).info.status == "KILLED"  # it was running when exported
    from glorot.pipeline.study import load_params

    study = load_params(sweep.params).get_study("t", check_machine=False)
    continued = Sweep(study, tmp_path, "data", tracker, parent_id=parent)
    assert continued.pending() == [] and continued.finished == 4
    again = import_sweep(tracker, tmp / "t.tar.xz")
    assert (again.parent_id, again.runs, again.skipped) == (parent, 0, 4)
    assert len(tracker.child_runs(parent)) == 4


def test_an_import_that_fails_part_way_leaves_whole_runs_and_is_finished_by_importing_again(
        exported, tmp_path, monkeypatch):
    _, tmp, _ = exported
    tracker = _fresh(tmp_path, monkeypatch)
    real, calls = tracker.client.log_artifacts, []

    def flaky(run_id, folder, *args):
        calls.append(run_id)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(run_id, folder, *args)

    monkeypatch.setattr(tracker.client, "log_artifacts", flaky)
    with pytest.raises(OSError):
        import_sweep(tracker, tmp / "t.tar.xz")
    parent = tracker.find_parent("k")
    live = [r for r in tracker.child_runs(parent)]
    assert len(live) == 1 and live[0].info.status == "FINISHED"  # the half-made second run was deleted
    monkeypatch.setattr(tracker.client, "log_artifacts", real)
    assert import_sweep(tracker, tmp / "t.tar.xz").runs == 3
    assert len(tracker.child_runs(parent)) == 4


def test_a_bad_archive_is_one_line(exported, tmp_path, monkeypatch):
    _, tmp, _ = exported
    tracker = _fresh(tmp_path, monkeypatch)
    with pytest.raises(GlorotError, match="^no archive at "):
        import_sweep(tracker, tmp_path / "missing.tar.xz")
    (tmp_path / "junk.tar.xz").write_bytes(b"not an archive")
    with pytest.raises(GlorotError, match="is not a sweep archive of glorot"):
        read_archive(tmp_path / "junk.tar.xz")
    with pytest.raises(GlorotError, match="holds a sweep of study 't', not 'other'"):
        import_sweep(Tracker(tracker.uri, "other", tmp_path), tmp / "t.tar.xz")
    with tarfile.open(tmp_path / "future.tar.xz", "w:xz") as tar:
        data = b'{"format": 99}'
        info = tarfile.TarInfo("sweep.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(GlorotError, match="format 99, this glorot reads 1"):
        read_archive(tmp_path / "future.tar.xz")


def test_the_command_exports_and_imports(exported, tmp_path, monkeypatch, capsys):
    sweep, tmp, _ = exported
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sweep.uri)
    assert main(["archive", "export", "--params", str(sweep.params), "--out", str(tmp_path / "a.tar.xz")]) == 0
    assert "4 finished run(s)" in capsys.readouterr().out
    (tmp_path / "params.yaml").write_text(sweep.params.read_text())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'new.db'}")
    assert main(["archive", "import", str(tmp_path / "a.tar.xz"), "--params", str(tmp_path / "params.yaml")]) == 0
    assert "imported 4 run(s) of study t" in capsys.readouterr().out
    assert main(["archive", "import", str(tmp_path / "none.tar.xz"), "--params", str(tmp_path / "params.yaml")]) == 2
    assert capsys.readouterr().err.startswith("glorot: error: no archive at ")


def test_an_import_into_a_new_store_says_one_line_and_nothing_of_mlflow_s_set_up(exported, tmp_path):
    sweep, tmp, _ = exported
    archive = tmp / "t.tar.xz"
    (tmp_path / "params.yaml").write_text(sweep.params.read_text())
    proc = subprocess.run([str(Path(sys.executable).parent / "glorot"), "archive", "import", str(archive)],
                          cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'new.db'}"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert len(proc.stdout.splitlines()) == 1 and proc.stdout.startswith("imported 4 run(s) of study t")


def test_endpoints_keep_the_first_and_last_probe():
    out = io.BytesIO()
    np.savez(out, **{f"u{u}/L1/act_counts": np.full(3, u) for u in (0, 10, 20, 30)})
    with np.load(io.BytesIO(endpoints(out.getvalue()))) as kept:
        assert sorted(kept.files) == ["u0/L1/act_counts", "u30/L1/act_counts"]
        assert kept["u30/L1/act_counts"].tolist() == [30, 30, 30]
