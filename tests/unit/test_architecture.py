"""The package's layout holds: the paper's maths depends on nothing else of the package,
nothing imports upward, only the tracking modules (pipeline/tracking.py and its parts) import
MLflow, and pieces stay small.

The layers, bottom up (README, "Layout"):

    glorot.paper                        the paper's maths and numbers
    glorot.errors, glorot.atomic,       small shared leaves
      glorot.config
    glorot.data, glorot.engine          data sets; the training engine
    glorot.pipeline                     studies, sweeps, provenance, tracking
    glorot.report                       reads the pipeline's records
    glorot.cli                          the command line
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "glorot"
FLOWS = SRC.parents[1] / "flows"

#: What each part of the package may import from the package (besides itself).
ALLOWED = {
    "paper": set(),
    "errors": set(),
    "atomic": set(),
    "config": {"paper", "errors"},
    "data": {"paper", "errors", "atomic", "config"},
    "engine": {"paper", "errors", "atomic", "config", "data"},
    "pipeline": {"paper", "errors", "atomic", "config", "data", "engine"},
    "report": {"paper", "errors", "atomic", "config", "data", "pipeline"},  # reads records: never the engine
    "cli": {"paper", "errors", "atomic", "config", "data", "engine", "pipeline", "report"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules():
    return sorted(p for p in SRC.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """Every module name ``path`` imports (absolute names, any nesting level)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_upward(path):
    part = _part(path)
    assert part in ALLOWED or part == "__init__", f"{path.name}: add its layer to ALLOWED"
    allowed = ALLOWED.get(part, set()) | {part}
    used = {name.split(".")[1] for name in _imports(path) if name.startswith("glorot.")}
    used = {u for u in used if u in ALLOWED}  # `from glorot.paper import nets` names the part `paper`
    assert used <= allowed, f"{path.relative_to(SRC)} ({part}) imports {sorted(used - allowed)}"


#: The modules that talk to MLflow: runs, their metrics, artifacts, and models and the registry; a sweep
#: carried between stores.
MLFLOW_MODULES = {"pipeline/tracking.py", "pipeline/metrics_logger.py", "pipeline/artifacts.py", "pipeline/registry.py",
                  "pipeline/archive.py"}


def test_only_the_tracking_modules_import_mlflow():
    users = {str(p.relative_to(SRC)) for p in _modules()
             if any(n == "mlflow" or n.startswith("mlflow.") for n in _imports(p))}
    assert users == MLFLOW_MODULES


def test_the_library_never_imports_prefect():
    assert not [p for p in _modules() if any(n.split(".")[0] == "prefect" for n in _imports(p))]


def _long_functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_LINES and "long because" not in doc:
                yield f"{node.name} ({length} lines)"


@pytest.mark.parametrize("path", _modules() + sorted(FLOWS.glob("*.py")), ids=lambda p: p.name)
def test_small_pieces(path):
    """No module over about 400 lines; no function over 60 unless its docstring says why
    (with the words "long because")."""
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    assert not list(_long_functions(path))
