"""The text of ``docs/results.md`` (:mod:`glorot.report.publish`), one section per published study,
each kept in ``docs/results/<study>.md`` so that a study is published on its own: per study its scale and the claims
it decides, Table 1 beside the paper's with the significance test against the column's best, the
normalized-vs-standard twins along the learning curves, Figures 11-12, the verdicts, where a
target is missed (by how much, and what scale would decide it) and the provenance.

Only what the runs hold is printed, in a fixed order, with no time of generation: the same
sweeps give the same page, byte for byte.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from glorot.atomic import atomic_folder, atomic_write_text
from glorot.config import DATASET_TITLES
from glorot.report import figures_initlab
from glorot.report.curves import mean_curve
from glorot.errors import GlorotError
from glorot.report.evidence import evidence_json, load_evidence
from glorot.report.provenance_text import provenance_items
from glorot.report.publish import CURVE_FIGURES, StudyResults, shrink_png
from glorot.report.records import (NOT_DECIDED, NOT_REPRODUCED, NOT_RUN, PAPER_DEPTH, REPRODUCED, Cell,
                                   ColumnSignificance, DepthTable, Verdict)
from glorot.report.render import Block, Bullets, DataTable, Heading, Image, Paragraph, to_markdown
from glorot.report.significance import ALPHA, MCNEMAR, MIN_SEEDS_FOR_T
from glorot.report.table1 import cell_text
from glorot.report.verdicts.cost import FIXED_EXPERIMENTS
from glorot.report.verdicts.learning import FIG11_AHEAD, FIG11_ROBUST, FIG12_AHEAD, FIG12_ROBUST
from glorot.report.verdicts.select import column

#: The paper's training length: it chose learning rates after 5 million updates (PAPER.md, Section 2.3).
PAPER_UPDATES = 5_000_000
#: Issue 15's target: our test error within this many points of the paper's, per data set.
TARGET_POINTS = {"mnist": 0.5}
SCALE_TO_DECIDE = ("the `table1` study of params.yaml runs that scale (1000 units, 5 million updates, 3 seeds), "
                   "on GPU workers (docs/scale.md)")


def _title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def _values(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                     for v in sorted(set(values)))


def _p(p: float) -> str:
    """A p-value: 3 decimals, else 2 significant digits; one too small for a float is below its smallest."""
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}" if p > 0 else "< 1e-300"


def _epochs(r: StudyResults) -> str:
    """``(10 epochs of the 50,000 training images)`` per image set; Shapeset-3x2 is an online stream."""
    parts = []
    for dataset in r.study.datasets:
        if dataset == "shapeset":
            parts.append("Shapeset-3x2 online: every mini-batch newly generated")
        elif (size := r.train_sizes.get(dataset)) is None:
            parts.append(f"{_title(dataset)}: epochs unknown, its training set is not prepared here")
        else:
            epochs = _values(x.updates * (x.batch_size or 10) / size for x in r.runs if x.dataset == dataset)
            parts.append(f"{epochs} epochs of the {size:,} {_title(dataset)} training images")
    return "; ".join(parts)


def _lr_text(r: StudyResults) -> str:
    """The learning-rate grid the runs tried (one for all networks, or each network's own), and
    on which seeds the rate was chosen when the study chose it on some (``lr_choice_seeds``)."""
    grids: dict[str, set[float]] = {}
    for x in r.runs:
        grids.setdefault(x.network, set()).add(x.lr)
    if len({frozenset(g) for g in grids.values()}) == 1:
        text = f"learning rate chosen on the validation error from {_values(next(iter(grids.values())))}"
    else:
        text = ("each network's own learning-rate grid, the rate chosen on the validation error where it holds "
                "several: " + ", ".join(f"{n} {_values(g)}" for n, g in grids.items()))
    if r.study.follower_seeds:
        text += (f", on seed(s) {_values(r.study.lr_choice_seeds)} only; seed(s) {_values(r.study.follower_seeds)} "
                 f"then ran at the chosen rate only")
    return text


def scale_text(r: StudyResults) -> str:
    """What the study ran, from its runs."""
    runs = r.runs
    seeds = sorted({x.seed for x in runs})
    return (f"{', '.join(_title(d) for d in r.study.datasets)}; {_values(x.depth for x in runs)} hidden layers of "
            f"{_values(x.width for x in runs)} units; {_values(x.updates for x in runs)} updates of mini-batches of "
            f"{_values(x.batch_size or 10 for x in runs)} ({_epochs(r)}); {_lr_text(r)}; {len(seeds)} seed(s) "
            f"({_values(seeds)}); {len(runs)} runs")


def _own(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts a study's own runs decide: not those of a fixed experiment (Figure 5), judged once."""
    return [v for v in verdicts if v.id not in FIXED_EXPERIMENTS]


def _fixed(verdicts: Sequence[Verdict]) -> list[dict]:
    return [{"claim": v.claim, "source": v.source, "status": v.status, "evidence": v.evidence, "scale": v.scale}
            for v in verdicts if v.id in FIXED_EXPERIMENTS]


def _decides(verdicts: Sequence[Verdict], it: str = "it") -> str:
    decided = [v for v in verdicts if v.status in (REPRODUCED, NOT_REPRODUCED)]
    open_ = [v for v in verdicts if v.status == NOT_DECIDED]
    text = (f"{it} decides {len(decided)} claim(s): "
            + ("; ".join(f"{v.claim} ({v.source}): **{v.status}**" for v in decided) or "none"))
    text += f". It does not decide {len(open_)}: " + ("; ".join(f"{v.claim} ({v.source})" for v in open_) or "none")
    return text + f". The other {sum(v.status == NOT_RUN for v in verdicts)} claims need other studies (not run)."


def _counts(verdicts: Sequence[Verdict]) -> str:
    """How many of the paper's claims a study decides, and how."""
    n = {s: sum(v.status == s for v in verdicts) for s in (REPRODUCED, NOT_REPRODUCED, NOT_DECIDED, NOT_RUN)}
    return (f"it decides {n[REPRODUCED] + n[NOT_REPRODUCED]} of the paper's claims ({n[REPRODUCED]} reproduced, "
            f"{n[NOT_REPRODUCED]} not reproduced), leaves {n[NOT_DECIDED]} not decided at this scale, and does not "
            f"run the other {n[NOT_RUN]} (below: which)")


def _versus_best(cell: Cell, sig: ColumnSignificance) -> tuple[str, str]:
    """(p against the column's best, with the test; differs at p < ALPHA)."""
    if sig.best == cell.network:
        return "best of the column", "-"
    comp = sig.comparisons.get(cell.network)
    if comp is None or comp.method is None:
        return "not tested: " + (comp.reason if comp else "no test"), "-"
    return f"{_p(comp.p)} ({comp.method})", "yes" if comp.significant else "no"


def _layers(depth: int) -> str:
    return f"{depth} hidden layer{'' if depth == 1 else 's'}"


def _table_row(cell: Cell, sig: ColumnSignificance, target: float | None) -> list[str]:
    """A row of the table; the paper's value and the difference only where the paper's Table 1 is
    for the cell's depth (5 hidden layers)."""
    paper = "-" if cell.paper_pct is None or not cell.like_for_like else f"{cell.paper_pct:.2f}"
    diff_pct = cell.diff_pct if cell.like_for_like else None
    if not cell.ok:
        return [cell.network, cell.state, "-", paper, "-", *(["-"] if target is not None else []), "-", "-"]
    diff = "-" if diff_pct is None else f"{diff_pct:+.2f}"
    within = [] if target is None else ["-" if diff_pct is None else "yes" if abs(diff_pct) <= target else "no"]
    return [cell.network, cell_text(cell), f"{cell.lr:g}", paper, diff, *within, *_versus_best(cell, sig)]


def _table_blocks(t: DepthTable, dataset: str, networks: Sequence[str]) -> list[Block]:
    target = TARGET_POINTS.get(dataset)
    header = ["network", "ours: test error (%)", "chosen lr", "paper (%)", "difference (points)",
              *([f"within {target:g} points"] if target is not None else []), f"p against the column's best",
              f"differs at p < {ALPHA}"]
    rows = [_table_row(t.cell(n, dataset), t.significance[dataset], target) for n in networks
            if t.cell(n, dataset).trained]
    if not rows:
        return []
    width = _values(w for n in networks for w in t.cell(n, dataset).widths)
    unlike = [] if t.depth == PAPER_DEPTH else [Paragraph(
        f"The paper's Table 1 is for 5 hidden layers: at {_layers(t.depth)} it gives no value to compare with.")]
    return [Heading(3, f"Table 1: {_title(dataset)}, {_layers(t.depth)} of {width} units"),
            DataTable(header, rows), *unlike,
            Paragraph(f"Ours: the test error at the learning rate with the lowest validation error (mean ± standard "
                      f"deviation when several seeds). Difference: ours − the paper's. p: two-sided, against the "
                      f"column's best network: {MCNEMAR} (one trained network each, paired on the same test "
                      f"examples) when a cell has fewer than {MIN_SEEDS_FOR_T} seeds, else Welch's t-test over "
                      f"seeds; the paper's threshold is p < {ALPHA}.")]


def _twin_blocks(r: StudyResults, dataset: str) -> list[Block]:
    """Each normalized/standard pair's seed-mean test error at every evaluation, and the verdicts
    that test them (Tanh N ahead of Tanh; softsign less sensitive to the init than tanh)."""
    claims = (FIG11_AHEAD, FIG11_ROBUST) if dataset == "shapeset" else (FIG12_AHEAD, FIG12_ROBUST)
    cells = column(r.found.table.all_cells(), dataset)
    blocks: list[Block] = []
    for norm, std in (("Tanh N", "Tanh"), ("Softsign N", "Softsign")):
        if not (norm in cells and std in cells and cells[norm].ok and cells[std].ok):
            continue
        cn, cs = (mean_curve([x for x in r.found.records if x.run_id in cells[n].run_ids], "test/error")
                  for n in (norm, std))
        rows = [[f"{s:,}", f"{100 * cn.at(s):.2f}", f"{100 * cs.at(s):.2f}", f"{100 * (cn.at(s) - cs.at(s)):+.2f}"]
                for s in sorted(set(cn.steps) & set(cs.steps))]
        if rows:
            depths = "" if len(r.found.table.tables) == 1 else f" ({_layers(cells[norm].depth)})"
            blocks += [Heading(4, f"{_title(dataset)}{depths}: {norm} vs {std}"),
                       DataTable(["update", f"{norm} (%)", f"{std} (%)", "gap (points)"], rows)]
    title = _title(dataset)
    for claim in claims:
        verdict = next((v for v in r.found.verdicts if v.id == claim.id), None)
        judged = (verdict.numbers or {}).get(title) if verdict else None
        if judged is not None:
            blocks.append(Paragraph(f"{claim.claim}: **{verdict.status}** on {title}: {judged['why']}."))
    return ([Heading(3, f"Normalized vs standard init along the learning curve ({claims[0].source})")] + blocks
            if blocks else [])


def _verdict_blocks(verdicts: Sequence[Verdict]) -> list[Block]:
    shown = [v for v in verdicts if v.status != NOT_RUN]
    return [Heading(3, "Verdicts"),
            DataTable(["claim", "paper", "verdict", "why"], [[v.claim, v.source, f"**{v.status}**", v.evidence or "-"]
                                                             for v in shown]),
            Paragraph("Not run by this study (other studies decide them): "
                      + (", ".join(f"`{v.id}`" for v in verdicts if v.status == NOT_RUN) or "none") + ".")]


def _longer(cell: Cell) -> str:
    factor = PAPER_UPDATES / cell.updates if cell.updates else float("inf")
    return (f"This study trained {cell.updates:,} updates; the paper chose its learning rates after "
            f"{PAPER_UPDATES:,}, {factor:,.0f} times as many: runs up to that length would decide whether the gap "
            f"closes ({SCALE_TO_DECIDE}).")


def _missed_targets(r: StudyResults) -> list[str]:
    """Every target not met: the error target, the significance test, the learning-curve claims; by how much,
    and the scale to decide."""
    out = []
    for t in r.found.table.tables:
        for dataset in r.found.table.datasets:
            sig, target = t.significance[dataset], TARGET_POINTS.get(dataset)
            where = _title(dataset) + ("" if len(r.found.table.tables) == 1 else f", {_layers(t.depth)}")
            for cell in (t.cell(n, dataset) for n in r.found.table.networks):
                if not (cell.ok and cell.trained):
                    continue
                if target is not None and cell.like_for_like and cell.diff_pct is not None \
                        and abs(cell.diff_pct) > target:
                    out.append(f"{cell.network} on {where}: {cell.mean_pct:.2f}% against the paper's "
                               f"{cell.paper_pct:.2f}%, {abs(cell.diff_pct):.2f} points "
                               f"{'above' if cell.diff_pct > 0 else 'below'} it: the {target:g}-point target is "
                               f"missed by {abs(cell.diff_pct) - target:.2f} points. " + _longer(cell))
                comp = sig.comparisons.get(cell.network)
                if comp is not None and comp.method is not None and not comp.significant:
                    seeds = (f"{MIN_SEEDS_FOR_T} or more seeds per network (Welch's t-test over seeds) would test "
                             f"it beyond one training run" if comp.method == MCNEMAR else
                             f"more than {len(cell.seeds)} seeds per network would raise the test's power")
                    out.append(f"{cell.network} against the best, {sig.best}, on {where}: p = {_p(comp.p)}, "
                               f"not below {ALPHA}, so Table 1's significance test does not order them (its power to "
                               f"detect the {abs(comp.diff_pct or 0):.2f}-point difference observed: "
                               f"{comp.power or 0:.0%}); "
                               f"{seeds}.")
    out += _missed_twins(r)
    return out


def _missed_twins(r: StudyResults) -> list[str]:
    """The learning-curve claims (Tanh N ahead, softsign robust) not reproduced, per data set, and why."""
    out = []
    for claim in (FIG11_AHEAD, FIG11_ROBUST, FIG12_AHEAD, FIG12_ROBUST):
        verdict = next((v for v in r.found.verdicts if v.id == claim.id), None)
        for title, judged in sorted(((verdict.numbers if verdict else None) or {}).items()):
            if judged["holds"] is not True:
                state = "not decided" if judged["holds"] is None else "not reproduced"
                out.append(f"{claim.claim}: {state} on {title}: {judged['why']}.")
    return out


def _study_blocks(r: StudyResults, command: str, figure_dir: str) -> list[Block]:
    name, found = r.study.name, r.found
    datasets = [d for d in found.table.datasets if any(c.n_runs for c in found.table.all_cells() if c.dataset == d)]
    blocks: list[Block] = [Heading(2, f"Study `{name}`"),
                           *([Paragraph(f"**Design** (params.yaml): {r.study.description}")] if r.study.description
                             else []),
                           Paragraph(f"**Scale**: {scale_text(r)}."), Paragraph(_decides(_own(found.verdicts), "It"))]
    if any(c.n_runs and not c.trained for c in found.table.all_cells()):
        blocks.append(Paragraph("Its networks measured at initialisation only (0 updates) are not in Table 1: an "
                                "untrained network's error is chance, nothing to set beside the paper's; they feed "
                                "the figures and verdicts of the diagnostics at initialisation."))
    for t in found.table.tables:
        for dataset in datasets:
            blocks += _table_blocks(t, dataset, found.table.networks)
    for dataset in datasets:
        blocks += _twin_blocks(r, dataset)
    blocks += [Image(f"{figure_dir}/{stem}.png", f"{caption} (study `{name}`).") for stem, caption, _ in r.figures]
    blocks += _verdict_blocks(_own(found.verdicts))
    missed = _missed_targets(r)
    blocks += [Heading(3, "Where a target is missed or not decided"),
               Bullets(missed) if missed else Paragraph("Every target of this study is met.")]
    commands = "\n".join([*r.commands, command])
    replayed = ", ".join(e["network"] for e in r.evidence["entries"])
    blocks += [Heading(3, "Provenance"), Paragraph(f"Commands, from the project root:\n\n```bash\n{commands}\n```"),
               Bullets([*provenance_items(r.provenance),
                        f"replay record: [`{figure_dir}/{name}-evidence.json`]({figure_dir}/{name}-evidence.json), "
                        f"the configuration, code hash, data version, thread count and first-evaluation numbers of "
                        f"each cell's run ({replayed}); `python -m pytest -m slow tests/integration/test_evidence.py` "
                        f"trains each of them again to that evaluation and requires the same numbers, bit for bit"])]
    return blocks


def _fixed_blocks(fixed: Sequence[dict]) -> list[Block]:
    """Each fixed experiment's verdict, once: it ignores every study's runs, so no study is credited with it."""
    if not fixed:
        return []
    return [Paragraph("Fixed experiments, the same whatever the study and judged once (no study's count includes "
                      "them): " + "; ".join(f"{f['claim']} ({f['source']}): **{f['status']}**, {f['evidence']} "
                                            f"({f['scale']})" for f in fixed) + ".")]


def _intro(summaries: Sequence[tuple[str, str]], fixed: Sequence[dict] = ()) -> list[Block]:
    """The page's head: how it is made, the targets, one line per published study, the fixed experiments."""
    return [
        Paragraph("<!-- Generated by `glorot results --study NAME` from each study's latest sweep in MLflow (each "
                  "section names its command). Do not edit by hand: rerun the command. -->"),
        Heading(1, "Results: Glorot & Bengio (2010), measured"),
        Paragraph("Every number on this page was read from MLflow by `glorot results`: the latest sweep of each "
                  "study, trained by the code at the commits under its Provenance, and decided by the report's own "
                  "code (Table 1, its significance tests and the verdicts, as `glorot report` computes them). Each "
                  "study is published on its own and its section stays until that study is published again. Targets, "
                  "reported against and not tuned for: on MNIST every network within 0.5 points of the paper's "
                  "error; on every data set each pair of networks the paper's Table 1 separates keeps its order under "
                  "Table 1's significance test (a pair with a network at chance where the paper's is not is not "
                  "comparable); Tanh N's learning curve below Tanh's and softsign's less moved by the init than "
                  "tanh's, each by a paired t-test (across seeds, or across the curve's evaluations with fewer "
                  "than 3), with the power to detect the paper's own difference or else not decided."),
        Bullets([f"[`{name}`](#study-{name}): {summary}" for name, summary in summaries]),
        *_fixed_blocks(fixed),
    ]


def figure_folder(out: Path) -> Path:
    """Where the page's figures, replay records and sections go: ``docs/results/`` for ``docs/results.md``."""
    return out.parent / out.stem


def study_files(name: str) -> set[str]:
    """The files of study ``name`` in the figure folder: Figures 11-12 (and the init lab's), its replay
    record and its section."""
    stems = (*(stem for stem, _, _ in CURVE_FIGURES), *figures_initlab.FIGURES)
    return {*(f"{name}-{stem}.png" for stem in stems), f"{name}-evidence.json", f"{name}.md"}


def render_page(folder: Path, shown: Path | None = None) -> str:
    """The whole page from the studies published in ``folder`` (each ``<study>-evidence.json`` with its
    section ``<study>.md``), in the order of their names; a record without its section is a one-line
    :class:`GlorotError` naming the folder as ``shown`` (default: ``folder``)."""
    summaries, sections, fixed = [], [], {}
    for path in sorted(folder.glob("*-evidence.json")):
        record = load_evidence(path)
        section = folder / f"{record['study']}.md"
        if not section.is_file():
            raise GlorotError(f"corrupt results folder {shown or folder}: {path.name} has no section {section.name}: rerun "
                              f"`glorot results --study {record['study']}`")
        summaries.append((record["study"], record.get("summary", "")))
        sections.append(section.read_text())
        fixed.update({f["claim"]: f for f in record.get("fixed_experiments", [])})
    return "\n".join([to_markdown(_intro(summaries, list(fixed.values()))), *sections])


def write_results(results: Sequence[StudyResults], out: Path, command_of: Callable[[str], str]) -> list[Path]:
    """Publish each study of ``results`` into the folder beside ``out`` (``docs/results/``): its Figures
    11-12, its replay record (``<study>-evidence.json``, :mod:`glorot.report.evidence`, with the page's
    line on it) and its section (``<study>.md``, naming ``command_of(study)``). Studies published there
    before are kept; the page is rendered from the new folder (:func:`render_page`), then the folder
    is replaced whole and the page ``out`` written. Returns the files written."""
    folder = figure_folder(out)
    mine = set().union(*(study_files(r.study.name) for r in results))
    names = []
    with atomic_folder(folder) as tmp:
        for kept in sorted(folder.iterdir()) if folder.is_dir() else []:
            if kept.name not in mine and kept.is_file():
                shutil.copy2(kept, tmp / kept.name)
        for r in results:
            name = r.study.name
            for stem, _, draw in r.figures:
                draw(tmp / f"{stem}.png")
                shrink_png(tmp / f"{stem}.png")
                names.append(f"{stem}.png")
            summary = f"{scale_text(r)}; {_counts(_own(r.found.verdicts))}"
            record = {**r.evidence, "summary": summary, "fixed_experiments": _fixed(r.found.verdicts)}
            (tmp / f"{name}-evidence.json").write_text(evidence_json(record))
            (tmp / f"{name}.md").write_text(to_markdown(_study_blocks(r, command_of(name), folder.name)))
            names += [f"{name}-evidence.json", f"{name}.md"]
        page = render_page(tmp, folder)  # before the folder is replaced: a bad folder leaves both as they were
    atomic_write_text(out, page)
    return [*(folder / n for n in names), out]
