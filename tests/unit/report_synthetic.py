"""Synthetic records for the report's verdict tests: runs with metric histories, Table 1 cells."""

from glorot.report.records import Cell, Evidence, Run, Series

STEPS = [0, 25, 50, 75, 100]


def rec(network, values, depth=3, steps=STEPS, seed=0, dataset="shapeset", updates=100, **fields):
    """A diagnostics record whose ``series`` holds ``values`` {key: [value per step]}."""
    activation, _, kind = network.partition(" ")
    init = {"N": "normalized", "DAE": "dae"}.get(kind, "standard")
    return Run(run_id=f"{network}-{dataset}-{depth}-{seed}", network=network, activation=activation.lower(),
               init=init, dataset=dataset, depth=depth, width=100, lr=0.1, seed=seed, updates=updates,
               series={k: Series.of(zip(steps, vs)) for k, vs in values.items()}, **fields)


def cell(network, errors, dataset="shapeset", depth=5, state="ok", test_n=10_000, seeds_run=None, **fields):
    """A Table 1 cell with per-seed test errors (%); its design: width 100, 1000 updates, lr grid (0.1,)."""
    seeds = tuple(range(len(errors)))
    design = {"widths": (100,), "updates_run": (1000,), "lr_grid": (0.1,),
              "seeds_run": seeds if seeds_run is None else seeds_run}
    if state != "ok":
        return Cell(network, dataset, depth, state, test_n=test_n, updates=1000, **{**design, **fields})
    return Cell(network, dataset, depth, state, test_n=test_n, updates=1000, test_errors_pct=tuple(errors),
                mean_pct=sum(errors) / len(errors), seeds=seeds, lr=0.1,
                run_ids=tuple(f"{network}-{dataset}-{depth}-{s}" for s in seeds), **{**design, **fields})


def evidence(records=(), cells=(), **lookups):
    return Evidence(records=tuple(records), cells=tuple(cells), **lookups)
