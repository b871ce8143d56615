"""Locked installs: requirements.lock pins every dependency that pyproject.toml declares, within
its declared range, was made from the current dependency lists (not stale), and holds everything
the installed dependencies need; every third-party package that src/ and flows/ import is declared."""

import ast
import importlib.util
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("lock_script", ROOT / "scripts" / "lock.py")
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def pins(text: str) -> dict[str, str]:
    """The lock's ``name==version`` lines, by canonical name."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in (line.split("==") for line in lines)}


def all_declared() -> list[Requirement]:
    deps, optional = lock.declared()
    return [Requirement(r) for r in deps + [r for extra in lock.EXTRAS for r in optional.get(extra, [])]]


def test_every_declared_dependency_is_pinned_within_its_declared_range():
    pinned = pins(lock.LOCK.read_text())
    for req in all_declared():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is declared in pyproject.toml but not pinned in requirements.lock"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"requirements.lock pins {req.name}=={pinned[name]}, outside pyproject.toml's {req.specifier}"


def test_the_lock_was_made_from_the_current_dependency_lists():
    header = next(line for line in lock.LOCK.read_text().splitlines() if "sha256" in line)
    assert header.endswith(lock.digest()), "pyproject.toml's dependencies changed: run scripts/lock.py"


def test_a_changed_dependency_list_makes_the_lock_stale(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text((ROOT / "pyproject.toml").read_text().replace('"tqdm>=4.66"', '"tqdm>=4.67"'))
    assert lock.digest(pyproject) != lock.digest()


def test_the_lock_holds_everything_the_installed_dependencies_need():
    needed = lock.closure([str(r) for r in all_declared()])
    missing = sorted(set(needed) - set(pins(lock.LOCK.read_text())))
    assert not missing, f"requirements.lock lacks {missing}: run scripts/lock.py"


def third_party_imports(folders: list[Path]) -> dict[str, Path]:
    """Top-level modules imported (anywhere in a file, lazily too) by the Python files under
    ``folders`` that are neither the standard library nor glorot: module -> a file importing it."""
    found = {}
    for path in (p for folder in folders for p in sorted(folder.rglob("*.py"))):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for top in {m.split(".")[0] for m in modules} - set(sys.stdlib_module_names) - {"glorot", "flows"}:
                found.setdefault(top, path)
    return found


def undeclared(imports: dict[str, Path], declared: set[str]) -> list[str]:
    """One line per imported module that no declared distribution provides."""
    distributions = packages_distributions()
    problems = []
    for module, where in sorted(imports.items()):
        candidates = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not candidates & declared:
            source = sorted(candidates) or "no installed distribution"
            problems.append(f"{where.name} imports {module} (from {source}), not declared in pyproject.toml")
    return problems


def test_every_third_party_import_is_declared():
    imports = third_party_imports([ROOT / "src", ROOT / "flows"])
    assert {"torch", "mlflow", "prefect", "PIL"} <= set(imports)
    assert undeclared(imports, {canonicalize_name(r.name) for r in all_declared()}) == []


def test_an_undeclared_import_is_named_lazy_imports_included(tmp_path):
    (tmp_path / "m.py").write_text("import os\nimport yaml\n\n\ndef f():\n    from PIL import Image\n"
                                   "    import glorot.paper\n")
    imports = third_party_imports([tmp_path])
    assert sorted(imports) == ["PIL", "yaml"]
    assert undeclared(imports, {"pyyaml"}) == ["m.py imports PIL (from ['pillow']), not declared in pyproject.toml"]
