"""Write requirements.lock: every distribution that glorot (with its ``test`` extra) needs, pinned
at the version installed in the environment that runs this script, as a pip constraints file.

    .venv/bin/python scripts/lock.py            # after changing pyproject.toml's dependencies
    .venv/bin/python scripts/lock.py --check    # exit 1 if requirements.lock would change

To move to newer releases: ``.venv/bin/pip install -U -e '.[test]'`` (without the lock), run
the tests, then this script. ``scripts/bootstrap.sh`` installs with ``-c requirements.lock``.

The set is the closure of glorot's declared requirements over the installed distributions'
own requirements, their environment markers evaluated here (Linux, CPython 3.11): a
distribution that only another platform needs is not pinned and stays free there. The header
records a digest of pyproject.toml's dependency lists, so that a test sees a stale lock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
EXTRAS = ("test",)


def declared(pyproject: Path = ROOT / "pyproject.toml") -> tuple[list[str], dict[str, list[str]]]:
    """pyproject.toml's ``dependencies`` and ``optional-dependencies``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return project["dependencies"], project.get("optional-dependencies", {})


def digest(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """What the lock was made from: a sha256 of the declared dependency lists (not of the whole file)."""
    deps, optional = declared(pyproject)
    return hashlib.sha256(json.dumps([deps, optional], sort_keys=True).encode()).hexdigest()


def closure(roots: list[str]) -> dict[str, str]:
    """Every installed distribution that the requirements ``roots`` need, by canonical name:
    its name as published and installed version. Fails on one that is not installed."""
    found: dict[str, str] = {}
    todo = [(Requirement(r), ()) for r in roots]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        req, extras = todo.pop()
        key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
        if key in seen or not (req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or ("",))):
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            sys.exit(f"lock: {req.name} is required but not installed: install with "
                     f"`pip install -e '.[{','.join(EXTRAS)}]'` first")
        found[key[0]] = f"{dist.metadata['Name']}=={dist.version}"
        todo.extend((Requirement(r), tuple(req.extras)) for r in dist.requires or [])
    return found


def lock_text() -> str:
    """The lock file's text: a header, then one ``name==version`` a line, sorted by name."""
    deps, optional = declared()
    pins = closure(deps + [r for extra in EXTRAS for r in optional.get(extra, [])])
    header = ["# glorot's resolved dependencies (with the test extra), pinned: a pip constraints file.",
              "# Made by `python scripts/lock.py` from the installed environment; do not edit by hand.",
              f"# pyproject dependencies sha256: {digest()}"]
    return "\n".join(header + [pins[name] for name in sorted(pins)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write requirements.lock from the installed environment.")
    parser.add_argument("--check", action="store_true", help="only check that requirements.lock is up to date")
    args = parser.parse_args(argv)
    text = lock_text()
    if args.check:
        current = LOCK.read_text() if LOCK.is_file() else ""
        print("requirements.lock is up to date" if current == text
              else "requirements.lock is stale: run .venv/bin/python scripts/lock.py")
        return 0 if current == text else 1
    tmp = LOCK.with_suffix(".lock.tmp")
    tmp.write_text(text)
    tmp.replace(LOCK)
    print(f"wrote {LOCK.relative_to(ROOT)}: {len(text.splitlines()) - 3} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
