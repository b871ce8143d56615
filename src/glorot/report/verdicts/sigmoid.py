"""Verdicts on the sigmoid net's top hidden layer (Figure 2) and on pre-training (Section 3.1).

Figure 2 (4 hidden layers): "very quickly at the beginning, all the sigmoid activation values
of the last hidden layer are pushed to their lower saturation value of 0", while the lower
layers are not, and it slowly recovers; with 5 hidden layers it does not recover (Section 3.1).
Section 3.1: a sigmoid net whose weights come from unsupervised pre-training (here greedy
layer-wise denoising auto-encoders, network ``Sigmoid DAE``) does not show that saturation.

The paper shows Figure 2 at the rate it chose; which rate of our grid validation picks says
nothing about the dynamics, so Figure 2's claims read every learning rate of the grid
(:attr:`~glorot.report.records.Evidence.grid`) and report each one: a rate shows what a
majority of its seeds show, and a seed counts only when its probes resolve the early phase
(:data:`MIN_EARLY_PROBES` probes in the first :data:`SIGMOID_EARLY_FRACTION` of the run; the
engine's log-spaced early probes give every run that). Each claim is decided at its own depth
(4, or 5), with the other depth's rates shown beside it where it was run.
"""

from __future__ import annotations

from collections.abc import Callable

from glorot.report.records import Claim, Evidence, Run, Verdict
from glorot.report.verdicts.judge import share_contrast
from glorot.report.verdicts.select import describe_scale, majority, needs_pair, pick_pair, pick_runs

#: The top sigmoid layer's mean activation must fall below this ...
SIGMOID_TOP_BELOW = 0.1
#: ... within this fraction of the run's updates (at a probe after update 0) ...
SIGMOID_EARLY_FRACTION = 0.25
#: ... while every lower layer's mean stays at or above this (not driven to 0).
SIGMOID_LOWER_ABOVE = 0.4
#: A saturated top layer has recovered when its mean activation at the last probe is back at
#: or above this.
SIGMOID_RECOVERED = SIGMOID_TOP_BELOW
#: When the paper's saturated top layer comes back: Figure 2's caption has it "slowly desaturate
#: around epoch 100", and the paper's figures count epochs of 20,000 mini-batch updates. A run that
#: ends before this cannot show that the top layer does not recover (Figure 2's own net had not yet).
PAPER_RECOVERY_UPDATES = 100 * 20_000
#: The probes in the early window a seed needs before it can show (or fail to show) the early phase.
MIN_EARLY_PROBES = 3
#: The networks whose runs the report reads at every learning rate (Figure 2).
GRID_NETWORKS = ("Sigmoid",)

_SATURATES = (f"the top layer saturates when its act_mean < {SIGMOID_TOP_BELOW} at a probe in the first "
              f"{SIGMOID_EARLY_FRACTION:.0%} of updates (after update 0), with every lower layer's act_mean >= "
              f"{SIGMOID_LOWER_ABOVE} at that probe; a seed counts only with {MIN_EARLY_PROBES}+ probes in that "
              f"window; read at every learning rate of the grid, a rate showing what more than half of its seeds show")
FIG2 = Claim(
    "fig2_sigmoid_saturation",
    "The sigmoid net's top hidden layer saturates near 0 early in training, while lower layers do not (4 hidden "
    "layers)", "Figure 2", f"{_SATURATES}; depth 4 only; reproduced if the top layer saturates at one rate or more; "
                          f"not reproduced if no rate does and at one or more the lower layers are driven down "
                          f"with it; else not decided")
FIG2_RECOVERY = Claim(
    "fig2_sigmoid_recovery_depth4", "With 4 hidden layers the sigmoid net's saturated top layer slowly recovers",
    "Figure 2", f"{_SATURATES}; it recovers when its act_mean at the last probe is >= {SIGMOID_RECOVERED}; depth 4 "
                f"only; reproduced if it recovers at more than half of the rates where it saturates; not decided if "
                f"none saturates, or if it does not recover in runs shorter than the paper's "
                f"{PAPER_RECOVERY_UPDATES:,} updates (Figure 2: around epoch 100)")
FIG2_DEPTH5 = Claim(
    "fig2_sigmoid_no_recovery_depth5", "With 5 hidden layers the sigmoid net's top layer saturates and does not "
    "recover", "Figure 2 (text)", f"{_SATURATES}; it has not recovered when its act_mean at the last probe is still "
                                  f"< {SIGMOID_RECOVERED}; depth 5 only; reproduced if it stays saturated at more than "
                                  f"half of the rates where it saturates through {PAPER_RECOVERY_UPDATES:,} updates "
                                  f"or more (Figure 2: the 4-layer net's comes back around epoch 100); not decided if "
                                  f"none saturates or the runs are shorter")
PRETRAINING = Claim(
    "pretraining_dae_no_saturation", "A sigmoid net pre-trained as denoising auto-encoders does not show the "
    "saturation of the top hidden layer that the randomly initialised one shows", "Section 3.1 (Figure 2's text)",
    f"{_SATURATES}; the share of seeds that saturate, Sigmoid's against Sigmoid DAE's (same data set, depth, "
    f"width), by Fisher's exact test at p < 0.005: reproduced if Sigmoid's is the larger; not reproduced if not, with "
    f"enough seeds that all against none would have been found; not decided when most Sigmoid seeds do not saturate "
    f"either, or with fewer seeds")


def _lower_min(run: Run, step: int) -> float | None:
    """The smallest act_mean of the layers below the top one at ``step``."""
    values = [run.layer(i, "act_mean").at(step) for i in range(1, run.depth)]
    return None if any(v is None for v in values) else min(values)


def sigmoid_seed(run: Run) -> dict | None:
    """One seed of Figure 2: the probe where the top layer saturates early (or its lowest early
    probe), its value at the last probe, whether it recovered, and whether the lower layers
    were driven down with it; None without :data:`MIN_EARLY_PROBES` early probes."""
    top = run.layer(run.depth, "act_mean")
    window = [s for s in top.steps if 0 < s <= SIGMOID_EARLY_FRACTION * run.updates]
    if len(window) < MIN_EARLY_PROBES:
        return None
    tops = {s: top.at(s) for s in window}
    lower = {s: _lower_min(run, s) for s in window}
    low = [s for s in window if tops[s] < SIGMOID_TOP_BELOW]
    hit_step = next((s for s in low if lower[s] is not None and lower[s] >= SIGMOID_LOWER_ABOVE), None)
    first = hit_step if hit_step is not None else min(window, key=lambda s: tops[s])
    last = top.values[-1]
    return {"step": first, "early_probes": len(window), "top_act_mean": round(tops[first], 4),
            "lower_min_act_mean": None if lower[first] is None else round(lower[first], 4),
            "saturated": hit_step is not None, "lower_driven_down": hit_step is None and bool(low),
            "last_step": top.steps[-1], "last_top_act_mean": round(last, 4),
            "recovered": hit_step is not None and last >= SIGMOID_RECOVERED}


def seeds_of(runs: list[Run]) -> dict[str, dict]:
    """:func:`sigmoid_seed` of every run whose probes resolve the early phase, by ``seed <n>``."""
    return {f"seed {r.seed}": s for r in runs if (s := sigmoid_seed(r)) is not None}


def _unresolved(claim: Claim, runs: list[Run]) -> Verdict:
    return claim.not_decided(f"no run has {MIN_EARLY_PROBES} or more diagnostics probes within the first "
                             f"{SIGMOID_EARLY_FRACTION:.0%} of training, so the early phase is not resolved (the "
                             f"engine's log-spaced early probes resolve it: train again on this code)", {},
                             describe_scale(runs))


def _rate(runs: list[Run]) -> dict:
    """One learning rate: its seeds, and what more than half of them show."""
    seeds = seeds_of(runs)
    n = len(seeds)
    saturated = [s for s in seeds.values() if s["saturated"]]
    return {"seeds": seeds, "resolved": n, "saturates": majority(len(saturated), n),
            "lower_driven_down": majority(sum(s["lower_driven_down"] for s in seeds.values()), n),
            "recovers": majority(sum(s["recovered"] for s in saturated), len(saturated))}


def grid_rates(evidence: Evidence, depth: int) -> dict[str, dict]:
    """:func:`_rate` of every learning rate of the grid's trained Sigmoid runs at ``depth``, by ``lr <x>``."""
    runs = [r for r in pick_runs(list(evidence.grid), "Sigmoid", only_depth=depth) if r.updates > 0]
    return {f"lr {lr:g}": _rate([r for r in runs if r.lr == lr]) for lr in sorted({r.lr for r in runs})}


def _names(rates: dict[str, dict], key: str) -> list[str]:
    return [lr for lr, r in rates.items() if r[key]]


def _at_depth(claim: Claim, evidence: Evidence, depth: int,
              decide: Callable[[dict[str, dict], dict, str], Verdict]) -> Verdict:
    """``decide(rates, numbers, scale)`` on the grid's trained Sigmoid runs of exactly ``depth``
    hidden layers, rate by rate, with the other depth (4 or 5) beside it in ``numbers`` where run;
    not run without such runs, not decided when no run resolves the early phase."""
    runs = [r for r in pick_runs(list(evidence.grid), "Sigmoid", only_depth=depth) if r.updates > 0]
    if not runs:
        return claim.not_run(f"no trained Sigmoid run with {depth} hidden layers")
    rates = {lr: r for lr, r in grid_rates(evidence, depth).items() if r["resolved"]}
    if not rates:
        return _unresolved(claim, runs)
    other = 9 - depth  # 4 <-> 5, side by side
    numbers = {f"depth {depth}": rates, f"depth {other}": grid_rates(evidence, other)}
    scale = describe_scale(runs).rsplit(", lr", 1)[0] + f", lr {', '.join(x[3:] for x in rates)} (every rate)"
    return decide(rates, numbers, scale)


def _saturates(rates: dict[str, dict], numbers: dict, scale: str) -> Verdict:
    hit, down = _names(rates, "saturates"), _names(rates, "lower_driven_down")
    said = f"the top layer saturates early at {len(hit)} of {len(rates)} rate(s) ({', '.join(hit) or 'none'})"
    if hit:
        return FIG2.decided(True, numbers, said, scale)
    if down:
        return FIG2.decided(False, numbers, f"{said}; the lower layers are driven down with it at {', '.join(down)}",
                            scale)
    return FIG2.not_decided(f"{said}: at this scale no rate shows the early phase", numbers, scale)


def _recovery(claim: Claim, rates: dict[str, dict], numbers: dict, scale: str, recover: bool) -> Verdict:
    hit = _names(rates, "saturates")
    if not hit:
        return claim.not_decided("the top layer saturates at no rate of the grid, so there is nothing to recover "
                                 "from", numbers, scale)
    back = [lr for lr in hit if rates[lr]["recovers"]]
    shown = back if recover else [lr for lr in hit if lr not in back]
    word = "recovers" if recover else "stays saturated"
    said = (f"of the {len(hit)} rate(s) where the top layer saturates ({', '.join(hit)}), it {word} at {len(shown)} "
            f"(act_mean at the last probe vs {SIGMOID_RECOVERED})")
    end = max(seed["last_step"] for lr in hit for seed in rates[lr]["seeds"].values())
    if not majority(len(back), len(hit)) and end < PAPER_RECOVERY_UPDATES:
        return claim.not_decided(f"{said}; not decided at this scale: the runs end at {end:,} updates and the paper's "
                                 f"top layer only comes back around epoch 100 of Figure 2 ({PAPER_RECOVERY_UPDATES:,} "
                                 f"updates), so not having recovered yet shows nothing: runs of that length would "
                                 f"decide it", numbers, scale)
    return claim.decided(majority(len(shown), len(hit)), numbers, said, scale)


def sigmoid_top_layer_saturates(evidence: Evidence) -> Verdict:
    """Figure 2: with 4 hidden layers the top layer is driven to 0 early while lower layers are not."""
    return _at_depth(FIG2, evidence, 4, _saturates)


def sigmoid_top_layer_recovers(evidence: Evidence) -> Verdict:
    """Figure 2: with 4 hidden layers the saturated top layer recovers by the end of training."""
    return _at_depth(FIG2_RECOVERY, evidence, 4, lambda r, n, s: _recovery(FIG2_RECOVERY, r, n, s, True))


def sigmoid_depth5_does_not_recover(evidence: Evidence) -> Verdict:
    """Figure 2's text: with 5 hidden layers the top layer saturates and stays saturated."""
    return _at_depth(FIG2_DEPTH5, evidence, 5, lambda r, n, s: _recovery(FIG2_DEPTH5, r, n, s, False))


def pretraining_prevents_saturation(evidence: Evidence) -> Verdict:
    """Section 3.1: the pre-trained sigmoid net's top layer does not saturate; the plain one's does."""
    plain, dae = pick_pair(list(evidence.records), "Sigmoid", "Sigmoid DAE", trained=True)
    if not plain or not dae:
        return PRETRAINING.not_run(needs_pair("Sigmoid", "Sigmoid DAE (init dae)"))
    ps, ds = seeds_of(plain), seeds_of(dae)
    if not ps or not ds:
        return _unresolved(PRETRAINING, plain)
    plain_hits = sum(s["saturated"] for s in ps.values())
    dae_hits = sum(s["saturated"] for s in ds.values())
    numbers = {"Sigmoid": ps, "Sigmoid DAE": ds}
    said = (f"top layer saturates early in {plain_hits} of {len(ps)} Sigmoid seed(s) and {dae_hits} of {len(ds)} "
            f"Sigmoid DAE seed(s)")
    scale = describe_scale(dae)
    if not majority(plain_hits, len(ps)):
        return PRETRAINING.not_decided(f"{said}: Sigmoid does not saturate at this scale either", numbers, scale)
    return share_contrast(PRETRAINING, (plain_hits, len(ps)), (dae_hits, len(ds)), said, numbers, scale,
                          ("Sigmoid seed saturating", "Sigmoid DAE seed"))
