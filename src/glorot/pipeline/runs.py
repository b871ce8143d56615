"""One configuration's run in the pipeline, and a sweep's summary: the glue between the
trainer, the data versions DVC recorded, and :mod:`glorot.pipeline.tracking`. Prefect's flows
(``flows/``) call these functions; nothing here imports Prefect or DVC.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from glorot.atomic import atomic_write_text
from glorot.engine import group_key
from glorot.engine import train_group
from glorot.engine import Checkpointer
from glorot.config import DATASET_TITLES, TrainConfig
from glorot.data.sources import load_data
from glorot.data.store import file_digest
from glorot.errors import GlorotError
from glorot.paper.table1 import table1_error
from glorot.pipeline.study import StudyConfig
from glorot.pipeline.tracking import MlflowLogger, Tracker
from glorot.engine import resolve_device, train


def git_commit(root: str | Path = ".") -> str:
    """The checked-out commit (``+dirty`` when tracked files changed), or ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty else "")


def dvc_data_version(root: str | Path, data_dir: str, dataset: str) -> str | None:
    """The DVC hash that ``dvc.lock`` records for the output ``<data_dir>/<dataset>``, if any."""
    lock = Path(root) / "dvc.lock"
    if not lock.is_file():
        return None
    target = f"{data_dir.rstrip('/')}/{dataset}"
    for stage in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == target:
                return out.get("md5")
    return None


def verify_dvc_output(root: str | Path, out: str, md5: str) -> None:
    """Fail before training if the files of DVC output ``out`` differ from the version ``md5``
    that ``dvc.lock`` records, comparing each file with DVC's own listing of that version
    (``.dvc/cache/files/md5/xx/yyy.dir``). Without that listing in the cache (data got some
    other way than ``dvc repro`` or ``dvc pull``) there is nothing to compare and nothing is said."""
    if not md5.endswith(".dir"):
        return
    listing = Path(root) / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    if not listing.is_file():
        return
    expected = {e["relpath"]: e["md5"] for e in json.loads(listing.read_text())}
    folder = Path(root) / out
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for rel in sorted(set(expected) | present):
        path = folder / rel
        if rel not in present or rel not in expected or file_digest(path, "md5") != expected[rel]:
            state = "is missing" if rel not in present else "is not in it" if rel not in expected else "differs"
            raise GlorotError(f"{out}/{rel} {state}: the data differ from the version in dvc.lock ({md5}); "
                              f"run `dvc checkout {out}` or `dvc repro`")


def config_key(config: TrainConfig, data_version: str) -> str:
    """What identifies a configuration's result: its settings and the data it trains on."""
    text = json.dumps({"config": config.model_dump(), "data_version": data_version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def sweep_key(study: StudyConfig, data_versions: dict[str, str | None], commit: str) -> str:
    """What identifies a sweep: the study's settings, the data versions and the code version."""
    text = json.dumps({"study": study.model_dump(), "data": data_versions, "commit": commit}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _summary(run_id: str, config: TrainConfig, **fields) -> dict:
    return {"run_id": run_id, "paper_cell": config.paper_cell, **fields}


@dataclass
class _Member:
    """A configuration of a group that is to be trained: its MLflow run and checkpoint folder."""

    index: int
    config: TrainConfig
    run_id: str
    folder: Path
    resumed: bool


def run_configurations(configs: list[TrainConfig], study: str, tracking_uri: str, parent_id: str | None = None,
                       root: str | Path = ".", data_dir: str | None = "data", checkpoint_every: int | None = None,
                       max_attempts: int = 3) -> list[dict]:
    """Train ``configs`` on their prepared data and record each as a child run; returns their summaries.

    The configurations must share a :func:`glorot.engine.stacked.group_key`; those left to train
    are trained together by :func:`glorot.engine.group_loop.train_group` (on a CPU, one left
    is trained alone by :func:`glorot.engine.loop.train`), with the same numbers either way.

    Idempotent, per configuration: one (same settings, same data version) that already
    finished under ``parent_id`` is skipped; one whose process died resumes from its
    checkpoint in ``<root>/checkpoints/<key>/`` and continues the same MLflow run; a failed
    one is retried until it has been tried ``max_attempts`` times, then left out (the others
    still train) and reported in the error raised at the end.
    """
    if not configs:
        return []
    if len({group_key(c) for c in configs}) != 1:
        raise GlorotError("run_configurations needs configurations of one group (see glorot.engine.stacked.group_key)")
    dataset = configs[0].dataset
    dvc_version = dvc_data_version(root, data_dir, dataset) if data_dir else None
    if dvc_version:
        verify_dvc_output(root, f"{data_dir}/{dataset}", dvc_version)
    data = load_data(configs[0], Path(root) / data_dir if data_dir else None)
    version = dvc_version or data.version
    tracker = Tracker(tracking_uri, study, root)
    summaries: list[dict | None] = [None] * len(configs)
    members: list[_Member] = []
    given_up: list[str] = []
    for index, config in enumerate(configs):
        key = config_key(config, version)
        previous = tracker.runs_with_key(parent_id, key)
        finished = [r for r in previous if r.info.status == "FINISHED" and r.data.tags.get("status") != "failed"]
        if finished:
            run = finished[0]
            summaries[index] = _summary(run.info.run_id, config, status=run.data.tags.get("status"), skipped=True)
            continue
        attempts = sum(int(r.data.tags.get("glorot.attempts", 1)) for r in previous)
        if attempts >= max_attempts:
            given_up.append(f"{config.paper_cell} (key {key}) was tried {attempts} times without finishing; "
                            f"not retried (see its runs in MLflow, or start a fresh sweep)")
            continue
        folder = Path(root) / "checkpoints" / key
        run_file = folder / "run.json"
        resumable = json.loads(run_file.read_text())["run_id"] if run_file.is_file() else None
        if resumable in {r.info.run_id for r in previous}:
            tracker.reopen(resumable)
            run_id = resumable
        else:
            run_id = tracker.start_child(parent_id, config, {
                "glorot.config_key": key,
                "data_version": version,
                "data_version_source": "dvc.lock" if dvc_version else "content-hash",
                "data_content_hash": data.version,
                "valid_n": str(len(data.valid.y)),
                "test_n": str(len(data.test.y)),
                "git_commit": git_commit(root),
            })
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(run_file, json.dumps({"run_id": run_id}) + "\n")
        members.append(_Member(index, config, run_id, folder, run_id == resumable))
    pending = list(members)
    try:
        for m in members:  # how this attempt runs: a configuration's numbers depend on the thread count
            tracker.set_tags(m.run_id, {"glorot.group_size": str(len(members)),
                                        "torch_threads": str(torch.get_num_threads())})
        loggers = [MlflowLogger(tracker.client, m.run_id) for m in members]
        checkpointers = [Checkpointer(m.folder, checkpoint_every or m.config.eval_every) for m in members]
        if len(members) == 1 and resolve_device(members[0].config.device).type == "cpu":
            runs = [train(members[0].config, data, loggers[0], False, checkpointers[0])]
        else:
            runs = train_group([m.config for m in members], data, loggers, False, checkpointers)
        for m, (net, result) in zip(members, runs):
            tracker.finish_child(m.run_id, m.config, result, net, data.test.x[:5].numpy())
            pending.remove(m)
            shutil.rmtree(m.folder, ignore_errors=True)  # the checkpoint, run.json and any temp file of a killed write
            summaries[m.index] = _summary(m.run_id, m.config, resumed=m.resumed, **result.summary())
    except BaseException as e:
        for m in pending:
            tracker.fail(m.run_id, f"{type(e).__name__}: {e}")
        raise
    if given_up:
        raise GlorotError("; ".join(given_up))
    return summaries


def run_configuration(config: TrainConfig, study: str, tracking_uri: str, parent_id: str | None = None,
                      root: str | Path = ".", data_dir: str | None = "data", checkpoint_every: int | None = None,
                      max_attempts: int = 3) -> dict:
    """:func:`run_configurations` for one configuration."""
    return run_configurations([config], study, tracking_uri, parent_id, root, data_dir, checkpoint_every,
                              max_attempts)[0]


def sweep_rows(tracker: Tracker, parent_id: str) -> list[dict]:
    """One row per configuration of a sweep (its latest attempt): cell, settings, errors (%) and the paper's error."""
    latest = {run.data.tags.get("glorot.config_key", run.info.run_id): run for run in tracker.child_runs(parent_id)}
    rows = []
    for run in latest.values():
        p, m = run.data.params, run.data.metrics
        network = run.data.tags.get("paper_cell", "?").split(" / ")[0]
        rows.append({
            "run_id": run.info.run_id, "network": network, "dataset": p.get("dataset"),
            "depth": int(p.get("depth", 0)), "lr": float(p.get("lr", "nan")), "seed": int(p.get("seed", 0)),
            "updates": int(p.get("updates", 0)), "status": run.data.tags.get("status", run.info.status.lower()),
            "valid_error_pct": 100 * m["final/valid_error"] if "final/valid_error" in m else None,
            "test_error_pct": 100 * m["final/test_error"] if "final/test_error" in m else None,
            "paper_test_error_pct": table1_error(network, p.get("dataset", "")) if p.get("depth") == "5" else None,
        })
    return rows


def format_rows(rows: list[dict]) -> str:
    """The sweep's rows as a text table, test error beside the paper's Table 1 value."""
    def pct(v):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"
    lines = [f"{'network':<12} {'data set':<15} {'depth':>5} {'lr':>8} {'seed':>4} {'status':<10} "
             f"{'valid %':>8} {'test %':>8} {'paper %':>8}"]
    for r in rows:
        lines.append(f"{r['network']:<12} {DATASET_TITLES.get(r['dataset'], r['dataset']):<15} {r['depth']:>5} "
                     f"{r['lr']:>8g} {r['seed']:>4} {r['status']:<10} {pct(r['valid_error_pct']):>8} "
                     f"{pct(r['test_error_pct']):>8} {pct(r['paper_test_error_pct']):>8}")
    return "\n".join(lines)


def write_summary(path: str | Path, study: str, parent_id: str, rows: list[dict],
                  registered: dict[str, str]) -> Path:
    """The sweep's summary as JSON (DVC metrics): per-network errors and registered models."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"study": study, "parent_run_id": parent_id, "registered_models": registered,
           "runs": {f"{r['network']} / {r['dataset']} / d{r['depth']} / lr{r['lr']:g} / s{r['seed']}":
                    {k: r[k] for k in ("status", "valid_error_pct", "test_error_pct", "updates")} for r in rows}}
    return atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def require_data(root: str | Path, data_dir: str, datasets: list[str]) -> None:
    """Fail before any training if a prepared data set of the study is missing."""
    for dataset in datasets:
        folder = Path(root) / data_dir / dataset
        if not folder.is_dir():
            hint = "dvc repro shapeset" if dataset == "shapeset" else f"dvc repro prepare_{dataset}"
            raise GlorotError(f"missing prepared data {folder}: run `{hint}` (or `dvc pull`)")
