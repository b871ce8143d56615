"""Verdicts on the sigmoid net's top hidden layer (Figure 2) and on pre-training (Section 3.1).

Figure 2 (4 hidden layers): the top hidden layer is driven to 0 early in training, while the
lower layers are not, and it slowly recovers; with 5 hidden layers it does not recover.
Section 3.1: a sigmoid net whose weights come from unsupervised pre-training (here greedy
layer-wise denoising auto-encoders, network ``Sigmoid DAE``) does not show that saturation.
Each is decided per seed on the runs' ``act_mean`` diagnostics; reproduced when more than
half of the seeds show it. Figure 2's claims are decided at their own depth (4, or 5), never
at another one.
"""

from __future__ import annotations

from collections.abc import Callable

from glorot.report.records import Claim, Evidence, Run, Verdict
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

_SATURATES = (f"the top layer saturates when its act_mean < {SIGMOID_TOP_BELOW} at a probe in the first "
              f"{SIGMOID_EARLY_FRACTION:.0%} of updates (after update 0), with every lower layer's act_mean >= "
              f"{SIGMOID_LOWER_ABOVE} at that probe")
FIG2 = Claim(
    "fig2_sigmoid_saturation",
    "The sigmoid net's top hidden layer saturates near 0 early in training, while lower layers do not (4 hidden "
    "layers)", "Figure 2", f"{_SATURATES}; depth 4 only; reproduced if more than half of the seeds saturate")
FIG2_RECOVERY = Claim(
    "fig2_sigmoid_recovery_depth4", "With 4 hidden layers the sigmoid net's saturated top layer slowly recovers",
    "Figure 2", f"{_SATURATES}; it recovers when its act_mean at the last probe is >= {SIGMOID_RECOVERED}; depth 4 "
                f"only; reproduced if more than half of the seeds that saturate recover (not decided if none saturates)")
FIG2_DEPTH5 = Claim(
    "fig2_sigmoid_no_recovery_depth5", "With 5 hidden layers the sigmoid net's top layer saturates and does not "
    "recover", "Figure 2 (text)", f"{_SATURATES}; it has not recovered when its act_mean at the last probe is still "
                                  f"< {SIGMOID_RECOVERED}; depth 5 only; reproduced if more than half of the seeds "
                                  f"saturate and do not recover")
PRETRAINING = Claim(
    "pretraining_dae_no_saturation", "A sigmoid net pre-trained as denoising auto-encoders does not show the "
    "saturation of the top hidden layer that the randomly initialised one shows", "Section 3.1 (Figure 2's text)",
    f"{_SATURATES}; reproduced if more than half of the Sigmoid DAE seeds do not saturate while more than half of "
    f"the Sigmoid seeds (same data set, depth, width) do; not decided when Sigmoid does not saturate either")


def _lower_min(run: Run, step: int) -> float | None:
    """The smallest act_mean of the layers below the top one at ``step``."""
    values = [run.layer(i, "act_mean").at(step) for i in range(1, run.depth)]
    return None if any(v is None for v in values) else min(values)


def sigmoid_seed(run: Run) -> dict | None:
    """One seed of Figure 2: the probe where the top layer saturates early (or its lowest early
    probe), its value at the last probe and whether it recovered; None without an early probe."""
    top = run.layer(run.depth, "act_mean")
    window = [s for s in top.steps if 0 < s <= SIGMOID_EARLY_FRACTION * run.updates]
    if not window:
        return None
    tops = {s: top.at(s) for s in window}
    lower = {s: _lower_min(run, s) for s in window}
    hit_step = next((s for s in window if tops[s] < SIGMOID_TOP_BELOW and lower[s] is not None
                     and lower[s] >= SIGMOID_LOWER_ABOVE), None)
    first = hit_step if hit_step is not None else min(window, key=lambda s: tops[s])
    last = top.values[-1]
    return {"step": first, "top_act_mean": round(tops[first], 4),
            "lower_min_act_mean": None if lower[first] is None else round(lower[first], 4),
            "saturated": hit_step is not None, "last_step": top.steps[-1], "last_top_act_mean": round(last, 4),
            "recovered": hit_step is not None and last >= SIGMOID_RECOVERED}


def seeds_of(runs: list[Run]) -> dict[str, dict]:
    """:func:`sigmoid_seed` of every run with an early probe, by ``seed <n>``."""
    return {f"seed {r.seed}": s for r in runs if (s := sigmoid_seed(r)) is not None}


def _no_early_probe(claim: Claim, runs: list[Run]) -> Verdict:
    return claim.not_run(f"no diagnostics probe within the first {SIGMOID_EARLY_FRACTION:.0%} of training",
                         describe_scale(runs))


def _at_depth(claim: Claim, evidence: Evidence, depth: int,
              decide: Callable[[list[Run], dict[str, dict]], Verdict]) -> Verdict:
    """``decide(runs, seeds)`` on the trained Sigmoid runs of exactly ``depth`` hidden layers and
    their :func:`seeds_of`; not run when there are none, or none with an early probe."""
    runs = [r for r in pick_runs(list(evidence.records), "Sigmoid", only_depth=depth) if r.updates > 0]
    if not runs:
        return claim.not_run(f"no trained Sigmoid run with {depth} hidden layers")
    seeds = seeds_of(runs)
    return decide(runs, seeds) if seeds else _no_early_probe(claim, runs)


def _saturates(runs: list[Run], seeds: dict[str, dict]) -> Verdict:
    hits = sum(s["saturated"] for s in seeds.values())
    return FIG2.decided(majority(hits, len(seeds)), seeds,
                        f"{hits} of {len(seeds)} seed(s) saturate the top layer (layer 4) early", describe_scale(runs))


def _recovers(runs: list[Run], seeds: dict[str, dict]) -> Verdict:
    saturated = [s for s in seeds.values() if s["saturated"]]
    if not saturated:
        return FIG2_RECOVERY.not_decided("the top layer never saturated, so there is nothing to recover from",
                                         seeds, describe_scale(runs))
    back = sum(s["recovered"] for s in saturated)
    return FIG2_RECOVERY.decided(majority(back, len(saturated)), seeds,
                                 f"{back} of {len(saturated)} saturated seed(s) recover (top act_mean >= "
                                 f"{SIGMOID_RECOVERED} at the last probe)", describe_scale(runs))


def _stays_saturated(runs: list[Run], seeds: dict[str, dict]) -> Verdict:
    stuck = sum(s["saturated"] and not s["recovered"] for s in seeds.values())
    return FIG2_DEPTH5.decided(majority(stuck, len(seeds)), seeds,
                               f"{stuck} of {len(seeds)} seed(s) saturate the top layer and are still saturated at "
                               f"the last probe", describe_scale(runs))


def sigmoid_top_layer_saturates(evidence: Evidence) -> Verdict:
    """Figure 2: with 4 hidden layers the top layer is driven to 0 early while lower layers are not."""
    return _at_depth(FIG2, evidence, 4, _saturates)


def sigmoid_top_layer_recovers(evidence: Evidence) -> Verdict:
    """Figure 2: with 4 hidden layers the saturated top layer recovers by the end of training."""
    return _at_depth(FIG2_RECOVERY, evidence, 4, _recovers)


def sigmoid_depth5_does_not_recover(evidence: Evidence) -> Verdict:
    """Figure 2's text: with 5 hidden layers the top layer saturates and stays saturated."""
    return _at_depth(FIG2_DEPTH5, evidence, 5, _stays_saturated)


def pretraining_prevents_saturation(evidence: Evidence) -> Verdict:
    """Section 3.1: the pre-trained sigmoid net's top layer does not saturate; the plain one's does."""
    plain, dae = pick_pair(list(evidence.records), "Sigmoid", "Sigmoid DAE", trained=True)
    if not plain or not dae:
        return PRETRAINING.not_run(needs_pair("Sigmoid", "Sigmoid DAE (init dae)"))
    ps, ds = seeds_of(plain), seeds_of(dae)
    if not ps or not ds:
        return _no_early_probe(PRETRAINING, plain)
    plain_hits = sum(s["saturated"] for s in ps.values())
    dae_hits = sum(s["saturated"] for s in ds.values())
    numbers = {"Sigmoid": ps, "Sigmoid DAE": ds}
    said = (f"top layer saturates early in {plain_hits} of {len(ps)} Sigmoid seed(s) and {dae_hits} of {len(ds)} "
            f"Sigmoid DAE seed(s)")
    scale = describe_scale(dae)
    if not majority(plain_hits, len(ps)):
        return PRETRAINING.not_decided(f"{said}: Sigmoid does not saturate at this scale either", numbers, scale)
    return PRETRAINING.decided(not majority(dae_hits, len(ds)), numbers, said, scale)
