"""The verdict on Figure 5: the quadratic cost has flatter plateaus than the cross-entropy.

Decided on :mod:`glorot.report.costsurface`'s experiment (a two-layer net, one weight of
each layer swept over a grid). The experiment is fixed: it ignores the study's runs, so its
verdict is the same in every study and is judged once, by its own record
(:data:`FIXED_EXPERIMENTS`), never credited to a study.
"""

from __future__ import annotations

from glorot.report.costsurface import PLATEAU_THRESHOLD
from glorot.report.records import Claim, CostSurface, Verdict

#: The ids of the claims decided by a fixed experiment that ignores the study's runs.
FIXED_EXPERIMENTS = frozenset({"fig5_cost_plateaus"})


def _claim(threshold: float) -> Claim:
    return Claim("fig5_cost_plateaus",
                 "The quadratic cost has more plateaus than the cross-entropy (log-likelihood) cost", "Figure 5",
                 f"plateau fraction = share of the grid where |grad C| < {threshold:g} x the surface's largest "
                 f"|grad C|; reproduced if the quadratic cost's fraction is larger")


def quadratic_cost_has_plateaus(surface: CostSurface | None) -> Verdict:
    """Figure 5: the quadratic cost's surface has flatter plateaus than the cross-entropy's."""
    if surface is None:
        return _claim(PLATEAU_THRESHOLD).not_run("experiment not run")
    fq, fn = surface.plateau_fraction["quadratic"], surface.plateau_fraction["nll"]
    return _claim(surface.plateau_threshold).decided(
        fq > fn, {"plateau_quadratic": round(fq, 4), "plateau_nll": round(fn, 4)},
        f"plateau fraction: quadratic {fq:.3f}, cross-entropy {fn:.3f}", surface.scale)
