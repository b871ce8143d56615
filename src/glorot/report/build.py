"""Assemble the report of one sweep: Table 1, figures, theory, verdicts; write and log it.

``build_report`` reads everything through a :class:`~glorot.report.collect.StudySource`
(MLflow), writes ``report.md``, a self-contained ``report.html``, ``figures/*.png``,
``table1.json`` (DVC metrics), ``verdicts.json``, ``theory.json`` and ``curves/*.csv``
(seed-mean test error against updates, for DVC plots) into a temporary folder beside the
output, swaps it into place, and attaches it to the sweep's parent run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from glorot.atomic import atomic_write_text
from glorot.config import DATASET_TITLES
from glorot.report import costsurface, figures, render, theory, verdicts
from glorot.report.collect import StudySource
from glorot.report.significance import ALPHA, MIN_SEEDS_FOR_T, WELCH, Z_TEST
from glorot.report.table1 import OK, build_table, cell_text, metrics_json

FIG12_DATASETS = ("mnist", "cifar10", "small_imagenet")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fmt(v: float | None, spec: str = ".2f", signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, ("+" if signed else "") + spec)


def _representatives(records: list[dict], network: str, depths: tuple[int, ...] | None = None) -> list[dict]:
    """Lowest-seed run of ``network`` on the preferred data set, one per depth (``depths`` or the deepest)."""
    runs = verdicts.pick_runs(records, network)
    if not runs:
        return []
    dataset = runs[0]["dataset"]
    mine = [r for r in records if r["network"] == network and r["dataset"] == dataset and r.get("series")]
    available = sorted({r["depth"] for r in mine})
    wanted = [d for d in (depths or ()) if d in available] or [available[-1]]
    return [min((r for r in mine if r["depth"] == d), key=lambda r: (-r["width"], r["seed"])) for d in wanted]


def _table_tag(t: dict) -> str:
    return f"d{t['depth']}" + (f"_w{t['width']}" if t.get("width") is not None else "")


def _table_label(t: dict) -> str:
    text = f"{t['depth']} hidden layer{'s' if t['depth'] != 1 else ''}"
    return text + (f" of {t['width']} units" if t.get("width") is not None else "")


def mean_curve(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    """Seed-mean of a metric at the steps every seed recorded."""
    per_seed = [dict((int(s), v) for s, v in r["series"].get(key, ())) for r in records]
    if not per_seed or not all(per_seed):
        return [], []
    steps = sorted(set.intersection(*(set(p) for p in per_seed)))
    return steps, [sum(p[s] for p in per_seed) / len(per_seed) for s in steps]


class Report:
    """Collects blocks, figures and "not run" notes while the report is built in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "figures").mkdir(parents=True)
        self.figures: list[tuple[str, str, str]] = []  # (id, relative path, caption)
        self.skipped: list[tuple[str, str]] = []  # (figure id, reason)

    def figure(self, fig_id: str, caption: str, draw: Callable[[Path], Path] | None, reason: str = "") -> None:
        if draw is None:
            self.skipped.append((fig_id, reason))
            return
        rel = f"figures/{fig_id}.png"
        draw(self.folder / rel)
        self.figures.append((fig_id, rel, caption))


def _draw_figures(rep: Report, source: StudySource, records: list[dict], table: dict, surface: dict,
                  theory_rows: list[dict]) -> None:
    # Figure 2: sigmoid, depth 4 (the paper's) and 5 when run.
    sig = _representatives(records, "Sigmoid", (4, 5))
    rep.figure("fig02_sigmoid_activations",
               "Figure 2: Sigmoid net, mean (points) and standard deviation (error bars) of each hidden layer's "
               "activations during training, on the probe set.",
               (lambda p: figures.activation_mean_std(sig, p)) if sig and sig[0]["updates"] > 0 else None,
               "no trained Sigmoid run")

    def saturation_panels(networks: tuple[str, ...]) -> list[tuple[str, dict]]:
        return [(n, r[0]) for n in networks if (r := _representatives(records, n)) and r[0]["updates"] > 0]

    fig3 = saturation_panels(("Tanh", "Softsign"))
    rep.figure("fig03_saturation_tanh_softsign",
               "Figure 3: 98th percentile (markers) and standard deviation (lines) of each layer's activations "
               "during training: tanh (top), softsign (bottom).",
               (lambda p: figures.saturation(fig3, p)) if fig3 else None, "no trained Tanh or Softsign run")
    fig10 = saturation_panels(("Tanh N",))
    rep.figure("fig10_saturation_tanh_n",
               "Figure 10: as Figure 3, for tanh with the normalized initialisation.",
               (lambda p: figures.saturation(fig10, p)) if fig10 else None, "no trained Tanh N run")

    # Figure 4: activation histograms at the end of training (last probe).
    fig4 = []
    for network in ("Tanh", "Softsign"):
        reps = _representatives(records, network)
        if not reps or reps[0]["updates"] == 0:
            continue
        hists = source.histograms(reps[0]["run_id"])
        if hists:
            last = max(int(k.split("/")[0][1:]) for k in hists)
            fig4.append((f"{network}: activations at update {last} (end of training), "
                         f"{verdicts.describe_scale(reps)}", hists, last, reps[0]["depth"]))
    rep.figure("fig04_final_activation_histograms",
               "Figure 4: histograms of each layer's activations at the end of training (probe set): tanh and "
               "softsign.", (lambda p: figures.layer_histograms(fig4, "act", "activation value", p)) if fig4 else None,
               "no trained Tanh or Softsign run with histograms")

    # Figures 6-8: at initialisation, standard vs normalized (tanh).
    init_panels = []
    for network, label in (("Tanh", "standard init"), ("Tanh N", "normalized init")):
        reps = _representatives(records, network)
        hists = source.histograms(reps[0]["run_id"]) if reps else None
        if hists and any(k.startswith("u0/") for k in hists):
            init_panels.append((f"{network} ({label}) at initialisation, {verdicts.describe_scale(reps)}", hists, 0,
                                reps[0]["depth"]))
    for fig_id, quantity, xlabel, what in (
            ("fig06_init_activations", "act", "activation value", "activation values"),
            ("fig07_init_backprop_gradients", "dCds", "dC/ds", "back-propagated gradients dC/ds"),
            ("fig08_init_weight_gradients", "dCdW", "dC/dW", "weight gradients dC/dW")):
        rep.figure(fig_id, f"Figure {int(fig_id[3:5])}: histograms of the {what} per layer at initialisation, "
                   "tanh with the standard (top) and normalized (bottom) initialisation.",
                   (lambda p, q=quantity, x=xlabel: figures.layer_histograms(init_panels, q, x, p, log=q != "act"))
                   if init_panels else None, "no Tanh or Tanh N run with histograms at update 0")

    # Figure 9: weight-gradient std during training.
    fig9 = saturation_panels(("Tanh", "Tanh N"))
    rep.figure("fig09_weight_gradient_std",
               "Figure 9: standard deviation of the weight gradients of each layer during training, tanh with the "
               "standard (top) and normalized (bottom) initialisation.",
               (lambda p: figures.weight_gradient_std(fig9, p)) if fig9 else None, "no trained Tanh or Tanh N run")

    # Figures 11-12: test error against updates, per network (seed mean at the chosen lr).
    def curve_panels(datasets: tuple[str, ...]) -> list:
        panels = []
        for dataset in datasets:
            curves = []
            for t in table["tables"]:
                for network in table["networks"]:
                    cell = t["cells"][(network, dataset)]
                    if cell["state"] != OK:
                        continue
                    runs = [r for r in records if r["run_id"] in cell["run_ids"]]
                    steps, errors = mean_curve(runs, "test/error")
                    if len(steps) >= 2:
                        label = f"{network} {_table_tag(t)}" if len(table["tables"]) > 1 else network
                        curves.append((label, steps, [100 * e for e in errors]))
            if curves:
                panels.append((f"{DATASET_TITLES.get(dataset, dataset)}: test error (%, mean over seeds, "
                               f"learning rate chosen on validation error)", curves))
        return panels
    fig11 = curve_panels(("shapeset",))
    rep.figure("fig11_test_error_shapeset", "Figure 11: Shapeset-3x2 test error against the number of updates.",
               (lambda p: figures.test_error_curves(fig11, p)) if fig11 else None,
               "no trained Shapeset-3x2 run with a learning curve")
    fig12 = curve_panels(FIG12_DATASETS)
    rep.figure("fig12_test_error_image_sets",
               "Figure 12: test error against updates on the image sets the study ran (paper: MNIST and CIFAR-10).",
               (lambda p: figures.test_error_curves(fig12, p)) if fig12 else None,
               "no trained MNIST, CIFAR-10 or Small-ImageNet run")

    rep.figure("fig05_cost_surfaces",
               f"Figure 5: cost as a function of one weight of each layer of a two-layer net: cross-entropy (left) "
               f"vs quadratic (right). {surface['scale']}; W1 = {surface['weights']['w1']}, "
               f"W2 = {surface['weights']['w2']}.", lambda p: figures.cost_surfaces(surface, p))
    rep.figure("theory_variances",
               "Theory vs measurement at initialisation: predicted (dashed) and measured (points) variance of the "
               "activations and of the back-propagated gradients per layer, one colour per run.",
               (lambda p: figures.theory_vs_measurement(theory_rows, p)) if theory_rows else None,
               "no tanh or softsign run with diagnostics at update 0")


def _write_curves(folder: Path, table: dict, records: list[dict]) -> list[str]:
    """``curves/<dataset>_d<depth>_<network>.csv`` (update, test_error_pct, valid_error_pct): seed means."""
    out_dir = folder / "curves"
    out_dir.mkdir()
    written = []
    for t in table["tables"]:
        for (network, dataset), cell in t["cells"].items():
            if cell["state"] != OK:
                continue
            runs = [r for r in records if r["run_id"] in cell["run_ids"]]
            steps, test = mean_curve(runs, "test/error")
            vsteps, valid = mean_curve(runs, "valid/error")
            vmap = dict(zip(vsteps, valid))
            if not steps:
                continue
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["update", "test_error_pct", "valid_error_pct"])
            for s, e in zip(steps, test):
                w.writerow([s, round(100 * e, 4), "" if s not in vmap else round(100 * vmap[s], 4)])
            name = f"{dataset}_{_table_tag(t)}_{slug(network)}.csv"
            atomic_write_text(out_dir / name, buf.getvalue())
            written.append(f"curves/{name}")
    return written


def _table_blocks(table: dict) -> list[tuple]:
    blocks: list[tuple] = []
    datasets = [d for d in table["datasets"]]
    for t in table["tables"]:
        title = f"Table 1: test error (%), {_table_label(t)}"
        blocks.append(("h", 3, title))
        if t["depth"] != 5:
            blocks.append(("p", "The paper's values are for 5 hidden layers: at this depth the difference is "
                                "not like-for-like."))
        trained = [c for c in t["cells"].values() if c["state"] == OK]
        if trained and all(c["updates"] == 0 for c in trained):
            blocks.append(("p", "This study only measures networks at initialisation (0 updates): the errors "
                                "are those of untrained networks, not a reproduction of Table 1."))
        header = ["network"]
        for d in datasets:
            header += [f"{DATASET_TITLES.get(d, d)} (ours)", "paper", "Δ"]
        rows = []
        for network in table["networks"]:
            row = [network]
            for d in datasets:
                cell, sig = t["cells"][(network, d)], t["significance"][d]
                text = cell_text(cell)
                if cell["state"] == OK:
                    comp = sig["comparisons"].get(network)
                    if sig["best"] == network:
                        text = f"**{text}**"
                    elif comp and comp["significant"]:
                        text += " †"
                row += [text, _fmt(cell["paper_pct"]), _fmt(cell.get("diff_pct"), signed=True)]
            rows.append(row)
        blocks.append(("table", header, rows))
        blocks.append(("p", f"Mean ± standard deviation over seeds of the test error at the learning rate with "
                            f"the lowest mean validation error. **Bold**: the best network of the column; †: "
                            f"differs from the best at p < {ALPHA}; no mark: not distinguishable from the best "
                            f"at that level. Δ = ours − paper."))
        # Learning rates, seeds and significance per cell that ran.
        detail = []
        for d in datasets:
            sig = t["significance"][d]
            for network in table["networks"]:
                cell = t["cells"][(network, d)]
                if cell["state"] == "not run":
                    continue
                comp = sig["comparisons"].get(network)
                if cell["state"] != OK:
                    detail.append([DATASET_TITLES.get(d, d), network, cell["state"], "-", "-", "-", "-", "-"])
                    continue
                lrs = ", ".join(f"{lr}: {_fmt(v['mean_valid_error_pct'])}" +
                                (f" ({v['diverged']} diverged)" if v["diverged"] else "")
                                for lr, v in cell["lrs"].items())
                if sig["best"] == network:
                    test, stat, p = "best", "-", "-"
                elif comp and comp["method"]:
                    test = comp["method"]
                    stat = (f"t = {comp['statistic']:.3g}, df = {comp['df']:.3g}" if comp["method"] == WELCH
                            else f"z = {comp['statistic']:.3g}")
                    p = f"{comp['p']:.3g}" + (" (differs)" if comp["significant"] else "")
                else:
                    test, stat, p = "no test (test_n unknown)", "-", "-"
                detail.append([DATASET_TITLES.get(d, d), network, f"{cell['lr']:g}", lrs,
                               ", ".join(str(s) for s in cell["seeds"]), test, stat, p])
        if detail:
            blocks.append(("table", ["data set", "network", "chosen lr", "mean valid error (%) per lr", "seeds",
                                     "test vs best", "statistic", "p"], detail))
    return blocks


def _theory_blocks(rows: list[dict], var_x_notes: dict[str, str]) -> list[tuple]:
    blocks: list[tuple] = [
        ("h", 2, "Theory against measurement (Section 4.2.1)"),
        ("p", "Linear regime (f'(0) = 1, tanh and softsign), zero-mean independent weights: predicted "
              "Var(z^i) = Var(x) · Π_{k≤i} n_{k-1} Var(W^k) and Var(dC/ds^i) = Var(dC/ds^d) · Π_{k=i+1..d} "
              "n_k Var(W^k), with Var(W) = 1/(3 n_in) (standard) or 2/(n_in + n_out) (normalized). Measured: "
              "act_std² and dCds_std² at update 0 on the probe set. Var(x) is measured on the run's probe set "
              "(the first probe_size test examples); Var(dC/ds^d) is the top layer's measured value, so the top "
              "layer agrees by construction and the comparison is about the change across layers."),
    ]
    if var_x_notes:
        blocks.append(("list", [f"Var(x) of {DATASET_TITLES.get(d, d)}: {note}" for d, note in var_x_notes.items()]))
    if not rows:
        blocks.append(("p", "Not run: the study has no tanh or softsign run with diagnostics at update 0."))
        return blocks
    table = [[r["network"], DATASET_TITLES.get(r["dataset"], r["dataset"]), r["seed"], r["layer"],
              f"{r['var_z_predicted']:.4g}", f"{r['var_z_measured']:.4g}",
              f"{r['var_z_measured'] / r['var_z_predicted']:.3f}" if r["var_z_predicted"] else "-",
              f"{r['var_dCds_predicted']:.4g}", f"{r['var_dCds_measured']:.4g}",
              f"{r['var_dCds_measured'] / r['var_dCds_predicted']:.3f}" if r["var_dCds_predicted"] else "-"]
             for r in rows]
    blocks.append(("table", ["network", "data set", "seed", "layer", "Var(z) predicted", "Var(z) measured",
                             "measured/predicted", "Var(dC/ds) predicted", "Var(dC/ds) measured",
                             "measured/predicted"], table))
    return blocks


def _verdict_numbers(v: dict) -> str:
    if not v["numbers"]:
        return v["evidence"] or "-"
    return v["evidence"] or json.dumps(v["numbers"])


def build_blocks(study: str, source: StudySource, table: dict, verdict_list: list[dict], rep: Report,
                 theory_rows: list[dict], var_x_notes: dict[str, str], surface: dict, uri: str) -> list[tuple]:
    runs = source.runs
    by_status: dict[str, int] = defaultdict(int)
    for r in runs:
        by_status[r["status"]] += 1
    commits = sorted({r["git_commit"] for r in runs if r.get("git_commit")})
    versions = sorted({f"{r['dataset']}: {r['data_version']}" for r in runs if r.get("data_version")})
    blocks: list[tuple] = [
        ("h", 1, f"Glorot & Bengio (2010), reproduced: study `{study}`"),
        ("p", "Understanding the difficulty of training deep feedforward neural networks (AISTATS 2010). "
              "Every number below was read back from MLflow: the latest sweep's parent run and its child runs."),
        ("list", [
            f"MLflow: `{uri}`, parent run `{source.parent_id}` ({source.parent['name']}), "
            f"{len(runs)} child runs: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())),
            "scale: " + ", ".join(f"{k} {v}" for k, v in (
                ("data sets", sorted({DATASET_TITLES.get(r['dataset'], r['dataset']) for r in runs})),
                ("depths", sorted({r["depth"] for r in runs})), ("widths", sorted({r["width"] for r in runs})),
                ("updates", sorted({r["updates"] for r in runs})), ("learning rates", sorted({r["lr"] for r in runs})),
                ("seeds", sorted({r["seed"] for r in runs})))),
            "paper scale: 1000 units, 5 hidden layers, millions of updates (Table 1); a reduced study is "
            "expected to differ in the numbers, not necessarily in the ordering",
            "git commit(s): " + (", ".join(f"`{c}`" for c in commits) or "unknown"),
            "data version(s): " + (", ".join(versions) or "unknown"),
        ]),
        ("h", 2, "Verdicts"),
        ("p", "Each claim is decided from this study's numbers by the rule given; **not run** means the study "
              "lacks the runs to decide it."),
        ("table", ["claim", "paper", "verdict", "deciding numbers", "scale"],
         [[v["claim"], v["source"], f"**{v['status']}**", _verdict_numbers(v), v["scale"] or "-"]
          for v in verdict_list]),
        ("h", 2, "Table 1"),
        ("p", f"Learning rate chosen per cell (network × data set × depth) by the lowest mean final validation "
              f"error over seeds, diverged runs ignored; cells the study did not run are 'not run'. Significance "
              f"per column against the best network at p < {ALPHA}: {WELCH} when both cells have at least "
              f"{MIN_SEEDS_FOR_T} seeds, otherwise a {Z_TEST} (n = the test-set size recorded with each run)."),
    ]
    blocks += _table_blocks(table)
    blocks.append(("h", 2, "Figures"))
    for _, rel, caption in sorted(rep.figures):
        if not rel.startswith("figures/theory"):
            blocks.append(("img", rel, caption))
    blocks += _theory_blocks(theory_rows, var_x_notes)
    for _, rel, caption in rep.figures:
        if rel.startswith("figures/theory"):
            blocks.append(("img", rel, caption))
    blocks.append(("h", 2, "Not run"))
    missing = [f"{fig_id}: {reason}" for fig_id, reason in rep.skipped]
    for t in table["tables"]:
        empty = [f"{n} / {DATASET_TITLES.get(d, d)}" for (n, d), c in t["cells"].items() if c["state"] == "not run"]
        if empty:
            missing.append(f"Table 1 cells ({_table_label(t)}) not run: " + ", ".join(empty))
    missing += [f"verdict '{v['claim']}': {v['evidence']}" for v in verdict_list if v["status"] == verdicts.NOT_RUN]
    blocks.append(("list", missing or ["nothing: every figure and verdict had data"]))
    blocks.append(("h", 2, "Rules and thresholds"))
    blocks.append(("list", [f"{v['claim']}: {v['rule']}" for v in verdict_list]))
    return blocks


def _readable(folder: Path) -> None:
    """Temp files are private (mode 600): make the finished report readable like any output."""
    os.chmod(folder, 0o755)
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def build_report(source: StudySource, study: str, out: str | Path, uri: str, data_dir: str | Path | None = None,
                 log_to_mlflow: bool = True, progress: Callable[[str], None] = lambda s: None) -> dict:
    """Build the report of ``source``'s sweep into ``out`` (replaced as a whole); returns a summary."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress(f"{len(source.runs)} runs in sweep {source.parent_id}")
    table = build_table(source.runs)
    cells = [c for t in table["tables"] for c in t["cells"].values()]
    chosen_ids = {rid for c in cells if c["state"] == OK for rid in c["run_ids"]}
    records = source.diagnostics([r for r in source.runs if r["run_id"] in chosen_ids])
    progress(f"read the metric histories of {len(records)} runs (chosen learning rates)")
    var_x, var_x_notes = {}, {}
    for dataset in sorted({r["dataset"] for r in records if r["dataset"] in theory.DATASET_SHAPES}):
        probe = max((r.get("probe_size") or 300) for r in records if r["dataset"] == dataset)
        var_x[dataset], var_x_notes[dataset] = theory.input_variance(data_dir, dataset, probe)
        if var_x[dataset] is not None:
            var_x_notes[dataset] = f"{var_x[dataset]:.4f} from {var_x_notes[dataset]}"
    theory_rows = theory.theory_rows(records, var_x)
    surface = costsurface.cost_surfaces()
    verdict_list = verdicts.all_verdicts(records, cells, surface)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        rep = Report(tmp)
        _draw_figures(rep, source, records, table, surface, theory_rows)
        progress(f"drew {len(rep.figures)} figures ({len(rep.skipped)} not run)")
        curves = _write_curves(tmp, table, records)
        metrics = metrics_json(table, study, source.parent_id)
        atomic_write_text(tmp / "table1.json", json.dumps(metrics, indent=2) + "\n")
        atomic_write_text(tmp / "verdicts.json", json.dumps(verdict_list, indent=2) + "\n")
        atomic_write_text(tmp / "theory.json", json.dumps({"var_x": var_x, "var_x_source": var_x_notes,
                                                           "rows": theory_rows}, indent=2) + "\n")
        blocks = build_blocks(study, source, table, verdict_list, rep, theory_rows, var_x_notes, surface, uri)
        atomic_write_text(tmp / "report.md", render.to_markdown(blocks))
        atomic_write_text(tmp / "report.html", render.to_html(blocks, tmp, f"glorot report: {study}"))
        _readable(tmp)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if log_to_mlflow:
        source.log_report(out)
        progress(f"logged the report to MLflow run {source.parent_id} (artifacts: report/)")
    return {"out": out, "figures": [rel for _, rel, _ in rep.figures], "skipped": rep.skipped, "curves": curves,
            "verdicts": verdict_list, "table": table}
