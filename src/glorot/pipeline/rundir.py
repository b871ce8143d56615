"""A finished run's folder: configuration, learning curve, diagnostics and model.

``config.json``, ``result.json``, ``curve.json``, ``diagnostics.json`` (scalars per probe),
``diagnostics.npz`` (histograms, keys ``u{update}/L{i}/{act,dCds,dCdW}_{counts,edges}``)
and ``model.pt`` (the net's ``state_dict``). The folder is written whole: filled as a temp
folder, then renamed into place (:func:`glorot.atomic.atomic_folder`), so it never mixes two
runs' files; a folder holding anything else is not replaced.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from glorot.atomic import atomic_folder, atomic_write, atomic_write_text
from glorot.config import TrainConfig
from glorot.errors import GlorotError
from glorot.paper.nets import MLP
from glorot.paper.probes import ProbeRecord
from glorot.engine import TrainResult


def _json(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=True) + "\n"


def probe_arrays(probes: list[ProbeRecord]) -> dict[str, np.ndarray]:
    """Every record's histograms, keyed by ``u{update}/`` + the record's own key."""
    return {f"u{r.update}/{k}": v for r in probes for k, v in r.histograms.items()}


RUN_FILES = ("config.json", "curve.json", "diagnostics.json", "diagnostics.npz", "model.pt", "result.json")


def save_run(out_dir: str | Path, config: TrainConfig, result: TrainResult, net: MLP,
             data_version: str) -> Path:
    """Write the run's files into ``out_dir`` (replacing an earlier run's folder) and return it."""
    out = Path(out_dir)
    if out.is_file() or (out.is_dir() and {p.name for p in out.iterdir()} - set(RUN_FILES)):
        raise GlorotError(f"cannot write run output to {out}: it exists and is not a run folder; "
                          f"choose another --out")
    try:
        arrays, state = probe_arrays(result.probes), io.BytesIO()
        torch.save({k: v.cpu() for k, v in net.state_dict().items()}, state)
        summary = dict(result.summary(), paper_cell=config.paper_cell, data_version=data_version)
        with atomic_folder(out) as tmp:
            atomic_write_text(tmp / "config.json", _json(config.model_dump()))
            atomic_write_text(tmp / "curve.json", _json(result.curve))
            atomic_write_text(tmp / "diagnostics.json", _json([r.to_json() for r in result.probes]))
            atomic_write(tmp / "diagnostics.npz", lambda f: np.savez_compressed(f, **arrays))
            atomic_write(tmp / "model.pt", lambda f: f.write(state.getvalue()))
            atomic_write_text(tmp / "result.json", _json(summary))
    except OSError as e:
        raise GlorotError(f"cannot write run output to {out}: {e.strerror or e}") from e
    return out
