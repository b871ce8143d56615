"""``glorot data ...``: the commands that prepare each data set in the on-disk format of
:mod:`glorot.data.store` (run by the DVC stages of ``dvc.yaml``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from glorot.errors import GlorotError


def cmd_shapeset(args: argparse.Namespace) -> int:
    from glorot.data import shapeset
    from glorot.data.samples import render_grid
    from glorot.data.store import load_split

    if args.n < 1:
        raise GlorotError(f"invalid n: must be >= 1 (got {args.n})")
    out = shapeset.write_split(args.out, args.n, args.seed)
    print(f"wrote {args.n} Shapeset-3x2 images to {out}")
    if args.samples:
        x, y, _ = load_split(out)
        print(f"wrote {render_grid(x[:48], y[:48], shapeset.CLASS_NAMES, args.samples)}")
    return 0


def add_data_commands(parser: argparse.ArgumentParser) -> None:
    """Attach one sub-command per data set to ``glorot data``."""
    sub = parser.add_subparsers(dest="dataset", required=True)
    shp = sub.add_parser("shapeset", help="generate a fixed Shapeset-3x2 split (paper, Section 2.1)")
    shp.add_argument("--n", type=int, required=True, help="number of images")
    shp.add_argument("--seed", type=int, required=True)
    shp.add_argument("--out", type=Path, required=True, help="folder for data.npz and manifest.json")
    shp.add_argument("--samples", type=Path, help="also write a PNG grid of samples (paper, Figure 1)")
    shp.set_defaults(func=cmd_shapeset)
