"""``glorot results``: the published evidence (``docs/results.md``), generated from the studies'
latest sweeps in MLflow and never edited by hand.

One source of truth: each study's latest sweep is read from MLflow (:func:`glorot.report.collect.open_study`)
and decided by the report's own code (:func:`glorot.report.build.find`: Table 1 with its learning rates and
significance tests, the learning curves and the verdicts), so the page and ``glorot report``'s folder
cannot disagree, and no report folder can be stale. What the report does not hold, this module reads
from the sweep's child runs: the commits, the code hash, the machine and the wall time
(:class:`Provenance`). A sweep with a configuration of the study that has not finished is refused in
one line (:func:`check_finished`); the page is written by :mod:`glorot.report.results_doc`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glorot.atomic import atomic_write
from glorot.data.sources import prepare_command
from glorot.data.store import load_manifest
from glorot.errors import GlorotError
from glorot.pipeline.study import StudyConfig, chosen_rates
from glorot.report import figures, figures_initlab
from glorot.report.build import Findings, find
from glorot.report.collect import StudySource
from glorot.report.curves import curve_panels
from glorot.report.evidence import evidence_record
from glorot.report.figure_set import FIG12_DATASETS, representatives
from glorot.report.records import Run, design_key
from glorot.report.table1 import trial

#: A child run's result is final in these states (:func:`glorot.pipeline.runs.is_finished`).
FINISHED = ("completed", "diverged")
#: A committed figure larger than this (bytes) is scaled down (:func:`shrink_png`).
MAX_FIGURE_BYTES = 150_000
#: Figures 11 and 12 of a study: id, the data sets it draws, caption.
CURVE_FIGURES = (
    ("fig11_test_error_shapeset", ("shapeset",), "Figure 11: Shapeset-3x2 test error against the number of updates"),
    ("fig12_test_error_image_sets", FIG12_DATASETS, "Figure 12: test error against the number of updates on the "
                                                    "image sets"),
)


#: Figure 2 of a study with a trained Sigmoid net: the top layer's saturation, shown beside Table 1.
FIG2 = ("fig02_sigmoid_activations", "Figure 2: the Sigmoid net's activations during training, each hidden layer's mean "
                                     "(points) and standard deviation (bars) on the probe set, at the learning rate "
                                     "Table 1 chose, first seed (depth 4, and 5 when run): the top layer's saturation")


def sigmoid_runs(records: Sequence[Run]) -> list[Run]:
    """The Sigmoid runs Figure 2 draws (:func:`glorot.report.figure_set.representatives`), if trained
    with per-layer activations recorded."""
    runs = representatives(list(records), "Sigmoid", (4, 5))
    return runs if runs and runs[0].updates > 0 and len(runs[0].layer(1, "act_mean")) else []


@dataclass(frozen=True)
class Provenance:
    """Where a sweep's published numbers come from: its child runs behind Table 1 (the latest
    attempt of each configuration) and their MLflow tags; times in ms since the epoch."""

    parent_id: str
    experiment: str
    runs: int
    commits: tuple[tuple[str, int], ...]  # mlflow.source.git.commit -> runs
    dirty: int  # runs whose tag git_commit ends in +dirty (uncommitted changes)
    code_hashes: tuple[str, ...]  # glorot.code_hash
    machines: tuple[tuple[str, int], ...]  # glorot.machine, torch_version, torch_threads -> runs
    data_versions: tuple[str, ...]  # "<data set>: <version>"
    busy_ms: int  # the sum of the runs' durations
    first_start_ms: int
    last_end_ms: int
    resumed: int  # runs with glorot.attempts > 1
    other_attempts: int  # child runs of the sweep not behind the table (failed or interrupted attempts)


@dataclass(frozen=True)
class StudyResults:
    """One study as the page shows it."""

    study: StudyConfig
    found: Findings
    runs: list[Run]
    provenance: Provenance
    train_sizes: dict[str, int | None]  # training images per image set, as recorded or prepared (None: unknown)
    # (file stem, caption, drawing) of Figures 11-12, and of the init lab's figures for a study that ran it
    figures: tuple[tuple[str, str, Callable[[Path], Path]], ...]
    commands: tuple[str, ...]
    evidence: dict[str, Any]  # the replay record of each cell's run (glorot.report.evidence)


def check_finished(study: StudyConfig, source: StudySource, sweep_command: str) -> None:
    """Refuse (one line) a sweep where some configuration of ``study`` has no finished run (with
    ``lr_choice_seeds``: its other seeds at the rates its runs on those seeds chose, too)."""
    runs = {design_key(r): r for r in source.runs}
    configs = study.configs()
    if study.follower_seeds:  # the other seeds, at the rates chosen on the choice seeds
        configs += study.follower_configs(chosen_rates(study, (((r.dataset, r.network, r.depth, r.width), trial(r))
                                                               for r in source.runs)))
    missing = []
    for c in configs:
        run = runs.get(design_key(c))
        if run is None or run.status not in FINISHED:
            missing.append(f"{c.paper_cell} lr {c.lr:g} seed {c.seed}: {'not run' if run is None else run.status}")
    if missing:
        shown = "; ".join(missing[:3]) + ("; ..." if len(missing) > 3 else "")
        raise GlorotError(f"study {study.name!r}: {len(missing)} of {study.n_configs} configurations of its "
                          f"latest sweep ({source.parent_id}) have not finished ({shown}): run `{sweep_command}` "
                          f"to finish it")


def _ms(value: Any) -> int:
    return int(value or 0)


def read_provenance(source: StudySource, children: Sequence[Any]) -> Provenance:
    """The :class:`Provenance` of ``source``'s published runs, from the sweep's MLflow child runs
    ``children`` (objects with ``info.run_id``, ``info.start_time``, ``info.end_time``, ``data.tags``)."""
    published = {r.run_id for r in source.runs}
    mine = [c for c in children if c.info.run_id in published]
    tags = [c.data.tags for c in mine]
    machines = Counter(f"{t.get('glorot.machine', 'unknown machine')}, torch {t.get('torch_version', '?')}, "
                       f"{t.get('torch_threads', '?')} torch thread(s)" for t in tags)
    return Provenance(
        parent_id=source.parent_id, experiment=f"glorot-{source.tracker.study}", runs=len(mine),
        commits=tuple(sorted(Counter(t.get("mlflow.source.git.commit", "unknown") for t in tags).items())),
        dirty=sum(t.get("git_commit", "").endswith("+dirty") for t in tags),
        code_hashes=tuple(sorted({t.get("glorot.code_hash", "unknown") for t in tags})),
        machines=tuple(sorted(machines.items())),
        data_versions=tuple(sorted({f"{r.dataset}: {r.data_version}" for r in source.runs if r.data_version})),
        busy_ms=sum(_ms(c.info.end_time) - _ms(c.info.start_time) for c in mine),
        first_start_ms=min((_ms(c.info.start_time) for c in mine), default=0),
        last_end_ms=max((_ms(c.info.end_time) for c in mine), default=0),
        resumed=sum(int(t.get("glorot.attempts", 1)) > 1 for t in tags),
        other_attempts=len(children) - len(mine))


def train_sizes(datasets: Sequence[str], runs: Sequence[Run], data_dir: str | Path) -> dict[str, int | None]:
    """Images in each image set's training split: as the runs recorded it (tag ``train_n``), else
    from the prepared set's manifest (runs made before the tag), None when neither has it;
    Shapeset-3x2 has none (an online stream: every mini-batch is new)."""
    sizes: dict[str, int | None] = {}
    for dataset in datasets:
        if dataset == "shapeset":
            continue
        if recorded := {x.train_n for x in runs if x.dataset == dataset and x.train_n}:
            sizes[dataset] = max(recorded)
            continue
        try:
            sizes[dataset] = int(load_manifest(Path(data_dir) / dataset / "train")["n"])
        except (GlorotError, KeyError, TypeError, ValueError):
            sizes[dataset] = None
    return sizes


def _params_flag(params_file: Path) -> str:
    return "" if params_file.name == "params.yaml" else f" --params {params_file}"


def sweep_command(study: str, params_file: Path) -> str:
    """The command that runs (or continues, finishing what is left) a sweep of ``study``."""
    return f"python flows/sweep.py --study {study}{_params_flag(params_file)}"


def study_commands(study: str, datasets: Sequence[str], params_file: Path) -> tuple[str, ...]:
    """The commands that make a study's results: its data, its sweep, its full report."""
    return (*(prepare_command(d) for d in datasets), sweep_command(study, params_file),
            f"glorot report --study {study}{_params_flag(params_file)}")


def gather(source: StudySource, study: StudyConfig, data_dir: str | Path, params_file: Path,
           progress: Callable[[str], None] = lambda s: None) -> StudyResults:
    """Everything the page shows of one study's latest sweep (``source``), after checking that
    every configuration of ``study`` finished."""
    check_finished(study, source, sweep_command(study.name, params_file))
    progress(f"study {study.name}: {len(source.runs)} runs in sweep {source.parent_id}")
    found = find(source, data_dir, progress)
    drawn = tuple((f"{study.name}-{stem}", caption, lambda p, panels=panels: figures.test_error_curves(panels, p))
                  for stem, datasets, caption in CURVE_FIGURES
                  if (panels := curve_panels(found.table, found.records, datasets)))
    if sigmoid := sigmoid_runs(found.records):
        drawn += ((f"{study.name}-{FIG2[0]}", FIG2[1], lambda p, runs=sigmoid: figures.activation_mean_std(runs, p)),)
    if figures_initlab.is_initlab(found.records):
        drawn += tuple((f"{study.name}-{stem}", caption, draw) for stem, caption, draw, _ in
                       figures_initlab.drawings(found.records, source.histograms) if draw)
    children = source.tracker.child_runs(source.parent_id)
    return StudyResults(study, found, list(source.runs), read_provenance(source, children),
                        train_sizes(study.datasets, found.records, data_dir), drawn,
                        study_commands(study.name, study.datasets, params_file),
                        evidence_record(study, found.records, children))


def shrink_png(path: Path, limit: int = MAX_FIGURE_BYTES) -> None:
    """Scale the PNG at ``path`` down (in steps of 0.8) until it is at most ``limit`` bytes."""
    from PIL import Image

    while path.stat().st_size > limit:
        with Image.open(path) as image:
            image.load()
        if min(image.size) < 100:
            return
        smaller = image.resize((int(image.width * 0.8), int(image.height * 0.8)), Image.Resampling.LANCZOS)
        atomic_write(path, lambda f, png=smaller: png.save(f, format="PNG", optimize=True))
