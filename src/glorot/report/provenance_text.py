"""A study's provenance as ``docs/results.md`` prints it (:mod:`glorot.report.results_doc`): where its
runs are in MLflow, the commits and code hash that trained them, the data, the machines, the wall time."""

from __future__ import annotations

from datetime import datetime, timezone

from glorot.report.publish import Provenance


def _duration(ms: int) -> str:
    """``42 s``, ``8.3 min`` or ``3 h 05 min``."""
    minutes = round(ms / 60_000)
    if ms < 60_000:
        return f"{ms / 1000:.0f} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{ms / 60_000:.1f} min"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def provenance_items(p: Provenance) -> list[str]:
    """The Provenance list of a study's section: its MLflow runs, commits, code hash, data versions,
    machines and wall time."""
    commits = ", ".join(f"`{c}` ({n} runs)" for c, n in p.commits)
    shared = (f"; these {len(p.commits)} commits share one code hash (`glorot.code_hash`): they differ only outside "
              f"the code that decides the numbers" if len(p.commits) > 1 and len(p.code_hashes) == 1 else "")
    dirty = f"; {p.dirty} run(s) trained with uncommitted changes (`+dirty`)" if p.dirty else ""
    resumed = (f"; {p.resumed} run(s) were resumed after an interruption (`glorot.attempts` > 1): their durations "
               f"include the time between attempts" if p.resumed else "")
    others = f" ({p.other_attempts} other attempt(s) of the sweep, failed or interrupted, not counted)" \
        if p.other_attempts else ""
    return [
        f"MLflow: experiment `{p.experiment}`, parent run `{p.parent_id}`, {p.runs} child runs behind the "
        f"table{others}",
        f"commit(s) (`mlflow.source.git.commit` of the child runs): {commits}{shared}{dirty}",
        "code hash (`glorot.code_hash`): " + ", ".join(f"`{h}`" for h in p.code_hashes),
        "data version(s): " + (", ".join(f"`{v}`" for v in p.data_versions) or "unknown"),
        "machine (`glorot.machine`, `torch_version`, `torch_threads`): "
        + "; ".join(f"{m} ({n} runs)" for m, n in p.machines),
        f"wall time: {_duration(p.busy_ms)} of training runs (the sum of the {p.runs} runs' durations); "
        f"{_duration(p.last_end_ms - p.first_start_ms)} elapsed from the first start ({_when(p.first_start_ms)}) to "
        f"the last end ({_when(p.last_end_ms)}){resumed}",
    ]
