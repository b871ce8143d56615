"""Verdicts of the init lab (issue 25): the claims of the papers that followed Glorot & Bengio
(2010), stated as they state them, decided on the diagnostics at initialisation and on short
trainings (study ``initlab``), with the same "not decided at this scale" rule as the paper's:
a claim whose runs are missing or too shallow to show it is not run; one whose evidence the
scale cannot carry (a net that does not learn at all) is not decided, with the reason.

* He et al. 2015, Section 2.2: with rectifiers the normalized initialisation halves the forward
  signal's variance at each layer, theirs keeps it constant (``pre_std`` at update 0);
* Pennington et al. 2017: orthogonal weights with tanh near criticality keep the input-output
  Jacobian's singular values concentrated with depth, i.i.d. Gaussian or uniform weights do not;
  rectifiers cannot (``net/jac_io_sv_*`` at update 0);
* He et al. 2015, Figure 3: their 30-layer rectifier net trains from their initialisation and
  stalls from the normalized one (final validation error, rate chosen by
  :func:`glorot.paper.selection.choose_lr`);
* Mishkin & Matas 2016, Algorithm 1: LSUV's layers start at unit output variance.
"""

from __future__ import annotations

import math

from glorot.config import network_name
from glorot.paper.lsuv import TOLERANCE
from glorot.paper.selection import Trial, choose_lr
from glorot.report.comparable import AT_CHANCE_MARGIN_PCT, chance_pct
from glorot.report.records import Claim, Run, Verdict
from glorot.report.verdicts.select import describe_scale, geo_mean

#: The initialisations that followed the paper and that only the init lab runs.
LAB_INITS = ("orthogonal", "lsuv")
#: He et al. 2015, Section 2.2: per layer, Var(s) is multiplied by 1/2 (normalized, fan-in =
#: fan-out) or by 1 (theirs); decided within this factor of each.
HE_VARIANCE_RATIO = {"normalized": 0.5, "he": 1.0}
HE_TOLERANCE = 1.25
#: How much the Jacobian's spread std/mean may grow from the shallowest to the deepest net and the
#: spectrum still count as staying concentrated with depth (Pennington et al. 2017, Figure 1:
#: orthogonal tanh stays near 1 with depth, Gaussian weights spread over decades).
GROWTH = 1.5
#: Both He et al.'s variance argument and Pennington et al.'s spectra are for wide layers (their sums
#: over n units concentrate as n grows): narrower nets are not decided.
MIN_WIDTH = 64
#: The depth from which a claim about deep nets is decided (He et al.'s Figure 3: 30 layers).
DEEP = 20
#: LSUV on the probe set, which is not LSUV's batch: |Var(s) - 1| within twice its Tol_var.
LSUV_TOLERANCE = 2 * TOLERANCE

HE_SEC22 = Claim(
    "he2015_sec22_forward_signal",
    "With rectifiers, the normalized initialisation halves the variance of the forward signal at each layer; "
    "He et al.'s keeps it constant", "He et al. 2015, Section 2.2",
    f"per-layer ratio Var(s^(i+1)) / Var(s^i) of pre_std^2 at update 0 over the hidden layers, geometric mean "
    f"(Relu N and relu/he, deepest shared depth); reproduced if each is within a factor {HE_TOLERANCE} of "
    f"{HE_VARIANCE_RATIO['normalized']} and {HE_VARIANCE_RATIO['he']}")
PENNINGTON = Claim(
    "pennington2017_isometry",
    "Orthogonal weights with tanh near criticality keep the input-output Jacobian's singular values concentrated "
    "as depth grows; Gaussian or uniform weights do not, and rectifier nets cannot", "Pennington et al. 2017",
    f"spread = std / mean of the singular values of dz^D/dx at update 0 (net/jac_io_sv_*), at the shallowest "
    f"and the deepest depth (>= {DEEP}); reproduced if tanh/orthogonal's spread grows by less than a factor "
    f"{GROWTH} with depth while Tanh N's and relu/orthogonal's grow by more, ending wider than tanh/orthogonal's")
HE_FIG3 = Claim(
    "he2015_fig3_deep_training",
    "A 30-layer rectifier net trains from He et al.'s initialisation and stalls from the normalized one",
    "He et al. 2015, Figure 3",
    f"final validation error of relu/he and Relu N at depth >= {DEEP}, learning rate chosen on validation "
    f"(choose_lr); stalled = within {AT_CHANCE_MARGIN_PCT} points of chance; reproduced if relu/he learns and "
    f"Relu N stalls; not decided if relu/he stalls too (too few updates)")
LSUV_UNIT = Claim(
    "lsuv2016_unit_variance", "After LSUV every layer starts at unit output variance",
    "Mishkin & Matas 2016, Algorithm 1",
    f"pre_std^2 at update 0 of every hidden layer of every lsuv run, measured on the probe set (not LSUV's "
    f"batch); reproduced if each is within {LSUV_TOLERANCE:g} of 1")


def is_initlab(records: list[Run]) -> bool:
    """Whether the study ran an initialisation that followed the paper (:data:`LAB_INITS`)."""
    return any(r.init in LAB_INITS for r in records)


def _at_init(records: list[Run], activation: str, init: str) -> list[Run]:
    name = network_name(activation, init)
    return [r for r in records if r.network == name and r.updates == 0 and r.series]


def _layer_variance_ratio(run: Run) -> float | None:
    stds = [run.layer(i, "pre_std").at(0) for i in run.layers]
    if len(stds) < 3 or any(s is None or not s > 0 for s in stds):
        return None
    return geo_mean([(b / a) ** 2 for a, b in zip(stds[1:], stds[2:])])  # layer 1 sees the input, not z


def he_forward_signal(records: list[Run]) -> Verdict:
    """He et al. 2015, Section 2.2: Var(s) halves per layer under the normalized init with relu."""
    norm, he = _at_init(records, "relu", "normalized"), _at_init(records, "relu", "he")
    depths = {(r.dataset, r.depth) for r in norm} & {(r.dataset, r.depth) for r in he}
    if not depths or max(d for _, d in depths) < 3:
        return HE_SEC22.not_run("needs Relu N and relu/he at initialisation with 3 or more hidden layers")
    key = max(depths, key=lambda k: k[1])
    norm, he = ([r for r in runs if (r.dataset, r.depth) == key] for runs in (norm, he))
    ratios = {init: [_layer_variance_ratio(r) for r in runs] for init, runs in (("normalized", norm), ("he", he))}
    if any(v is None for vs in ratios.values() for v in vs):
        return HE_SEC22.not_run("pre_std at update 0 not recorded", describe_scale(norm))
    means = {init: geo_mean(vs) for init, vs in ratios.items()}
    if norm[0].width < MIN_WIDTH:
        return HE_SEC22.not_decided(f"width {norm[0].width} < {MIN_WIDTH}: the variance argument is for wide layers",
                                    {k: round(v, 4) for k, v in means.items()}, describe_scale(norm))
    ok = all(1 / HE_TOLERANCE <= means[i] / HE_VARIANCE_RATIO[i] <= HE_TOLERANCE for i in means)
    return HE_SEC22.decided(ok, {k: round(v, 4) for k, v in means.items()},
                            f"Var ratio per layer: normalized {means['normalized']:.3f}, he {means['he']:.3f} "
                            f"(paper 0.5 and 1)", describe_scale(norm))


def _spread(runs: list[Run], depth: int) -> float | None:
    values = []
    for r in (r for r in runs if r.depth == depth):
        mean, std = r.metric("net/jac_io_sv_mean").at(0), r.metric("net/jac_io_sv_std").at(0)
        if mean is None or std is None or not mean > 0:
            return None
        values.append(std / mean)
    return sum(values) / len(values) if values else None


def jacobian_isometry(records: list[Run]) -> Verdict:
    """Pennington et al. 2017: orthogonal tanh keeps the Jacobian's spectrum concentrated with depth."""
    nets = {"ortho_tanh": ("tanh", "orthogonal"), "uniform_tanh": ("tanh", "normalized"),
            "ortho_relu": ("relu", "orthogonal")}
    runs = {k: _at_init(records, *v) for k, v in nets.items()}
    depths = sorted(set.intersection(*({r.depth for r in rs} for rs in runs.values())))
    if len(depths) < 2 or depths[-1] < DEEP:
        return PENNINGTON.not_run(f"needs tanh/orthogonal, Tanh N and relu/orthogonal at initialisation at two "
                                  f"depths, the deepest >= {DEEP}")
    spreads = {k: (_spread(rs, depths[0]), _spread(rs, depths[-1])) for k, rs in runs.items()}
    if any(v is None or not v > 0 for pair in spreads.values() for v in pair):
        return PENNINGTON.not_run("net/jac_io_sv_* at update 0 not recorded", describe_scale(runs["ortho_tanh"]))
    numbers = {f"{k}_depth{d}": round(s, 4) for k, pair in spreads.items() for d, s in zip(depths[::len(depths) - 1], pair)}
    growth = {k: deep / shallow for k, (shallow, deep) in spreads.items()}
    ok = (growth["ortho_tanh"] < GROWTH
          and all(growth[k] > GROWTH and spreads[k][1] > spreads["ortho_tanh"][1] for k in ("uniform_tanh", "ortho_relu")))
    said = ", ".join(f"{k} {a:.3g} -> {b:.3g}" for k, (a, b) in spreads.items())
    deepest = [r for r in runs["ortho_tanh"] if r.depth == depths[-1]]
    if deepest[0].width < MIN_WIDTH:
        return PENNINGTON.not_decided(f"width {deepest[0].width} < {MIN_WIDTH}: the spectra are for wide layers; {said}",
                                      numbers, describe_scale(deepest))
    return PENNINGTON.decided(ok, numbers, f"spread at depth {depths[0]} -> {depths[-1]}: {said}", describe_scale(deepest))


def _chosen(records: list[Run], activation: str, init: str) -> list[Run]:
    """The deepest trained runs of the network (depth >= :data:`DEEP`) on its first data set, at
    the learning rate the paper's protocol keeps (:func:`choose_lr`); empty if none."""
    name = network_name(activation, init)
    runs = [r for r in records if r.network == name and r.updates > 0 and r.depth >= DEEP]
    if not runs:
        return []
    key = min((r.dataset, -r.depth) for r in runs)
    runs = [r for r in runs if (r.dataset, -r.depth) == key]
    lr = choose_lr(Trial(r.lr, r.seed, r.valid_error, r.status == "completed") for r in runs)
    return [r for r in runs if r.lr == lr]


def _stalled(runs: list[Run]) -> bool:
    chance = chance_pct(runs[0].dataset)
    error = 100 * sum(r.valid_error for r in runs) / len(runs)
    return chance is not None and error >= chance - AT_CHANCE_MARGIN_PCT


def deep_rectifier_training(records: list[Run]) -> Verdict:
    """He et al. 2015, Figure 3: the deep rectifier net trains from he and stalls from normalized."""
    he, norm = _chosen(records, "relu", "he"), _chosen(records, "relu", "normalized")
    if not he or not norm:
        return HE_FIG3.not_run(f"needs trained relu/he and Relu N runs with >= {DEEP} hidden layers that finished")
    numbers = {"relu/he_valid_pct": round(100 * he[0].valid_error, 2), "relu_N_valid_pct": round(100 * norm[0].valid_error, 2)}
    said = (f"validation error: relu/he {numbers['relu/he_valid_pct']:.2f}% (lr {he[0].lr:g}), Relu N "
            f"{numbers['relu_N_valid_pct']:.2f}% (lr {norm[0].lr:g}); chance {chance_pct(he[0].dataset):.2f}%")
    if _stalled(he):
        return HE_FIG3.not_decided(f"relu/he stalls too at this scale: {said}", numbers, describe_scale(he))
    return HE_FIG3.decided(_stalled(norm), numbers, said, describe_scale(he))


def lsuv_unit_variance(records: list[Run]) -> Verdict:
    """Mishkin & Matas 2016: every layer of an LSUV net starts at unit output variance."""
    runs = [r for r in records if r.init == "lsuv" and r.series and r.layer(1, "pre_std").at(0) is not None]
    if not runs:
        return LSUV_UNIT.not_run("needs lsuv runs with pre_std at update 0")
    variances = [r.layer(i, "pre_std").at(0) ** 2 for r in runs for i in r.layers]
    worst = max(variances, key=lambda v: abs(v - 1) if math.isfinite(v) else math.inf)
    ok = all(math.isfinite(v) and abs(v - 1) <= LSUV_TOLERANCE for v in variances)
    return LSUV_UNIT.decided(ok, {"worst_variance": round(worst, 4), "layers": len(variances)},
                             f"{len(variances)} layers of {len(runs)} runs; farthest from 1: {worst:.3f}",
                             describe_scale(runs))


#: The init lab's verdicts, in the order the report lists them.
INITLAB_VERDICTS = (he_forward_signal, jacobian_isometry, deep_rectifier_training, lsuv_unit_variance)
