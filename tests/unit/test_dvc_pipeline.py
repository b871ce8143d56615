"""The DVC pipeline files, read without running anything: the committed lock agrees with
dvc.yaml (the same stages, commands, deps, params and outs), and the sweep stage depends on
every module the training imports but not on the report's or the command line's code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from glorot.errors import GlorotError

REPO = Path(__file__).resolve().parents[2]
PIPELINES = ("dvc.yaml", "data/dvc.yaml")  # the main pipeline; the image sets' (run only when asked)
INTERPOLATION = re.compile(r"\$\{\s*([\w.-]+)\s*\}")


def _lookup(params: dict, dotted: str):
    value = params
    for part in dotted.split("."):
        value = value[part]
    return value


def _resolve(value, params: dict):
    """``${a.b}`` replaced as DVC does: a whole-string reference keeps its value's type."""
    if isinstance(value, str):
        whole = INTERPOLATION.fullmatch(value.strip())
        if whole:
            return _lookup(params, whole.group(1))
        return INTERPOLATION.sub(lambda m: str(_lookup(params, m.group(1))), value)
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    if isinstance(value, dict):
        return {_resolve(k, params): _resolve(v, params) for k, v in value.items()}
    return value


def _paths(entries) -> set[str]:
    """deps/outs/metrics/plots entries: a path, or ``{path: {options}}``."""
    return {e if isinstance(e, str) else next(iter(e)) for e in entries or []}


def declared_stages(pipeline: str) -> dict[str, dict]:
    """Each stage of ``pipeline`` as DVC resolves it: cmd, deps, params (keys per file), outs."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    doc = yaml.safe_load((REPO / pipeline).read_text())
    stages = {}
    for name, stage in doc["stages"].items():
        stage = _resolve(stage, params)
        keys: dict[str, set[str]] = {}
        for entry in stage.get("params", []):
            for file, names in ({"params.yaml": [entry]} if isinstance(entry, str) else entry).items():
                keys.setdefault(file, set()).update(names)
        outs = set().union(*(_paths(stage.get(k)) for k in ("outs", "metrics", "plots")))
        stages[name] = {"cmd": " ".join(stage["cmd"].split()), "deps": _paths(stage.get("deps")),
                        "params": keys, "outs": outs}
    return stages


def locked_stages(lock: Path) -> dict[str, dict]:
    """The same fields as :func:`declared_stages`, as the lock recorded them."""
    stages = {}
    for name, stage in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).items():
        stages[name] = {"cmd": " ".join(stage["cmd"].split()), "deps": {d["path"] for d in stage.get("deps", [])},
                        "params": {f: set(v) for f, v in (stage.get("params") or {}).items()},
                        "outs": {o["path"] for o in stage.get("outs", [])}}
    return stages


def disagreements(declared: dict[str, dict], locked: dict[str, dict], required: set[str]) -> list[str]:
    """What differs between a pipeline and its lock; every ``required`` stage must be locked."""
    problems = [f"stage {name}: in dvc.yaml, not in the lock" for name in sorted(required - set(locked))]
    problems += [f"stage {name}: in the lock, not in dvc.yaml" for name in sorted(set(locked) - set(declared))]
    for name in sorted(set(declared) & set(locked)):
        for field in ("cmd", "deps", "params", "outs"):
            if declared[name][field] != locked[name][field]:
                problems.append(f"stage {name} {field}: dvc.yaml {declared[name][field]!r} "
                                f"!= lock {locked[name][field]!r}")
    return problems


def test_committed_locks_match_the_pipelines():
    """Fails when dvc.yaml changed and dvc.lock was not rewritten (run the main job, `dvc repro`,
    on the final commit and commit its dvc.lock; README: "dvc.lock")."""
    problems = []
    for pipeline in PIPELINES:
        lock = (REPO / pipeline).with_suffix(".lock")
        declared = declared_stages(pipeline)
        if pipeline == "dvc.yaml":
            problems += disagreements(declared, locked_stages(lock), required=set(declared))
        elif lock.is_file():  # the image sets' lock exists once someone prepared one
            problems += disagreements(declared, locked_stages(lock), required=set())
    assert not problems, "dvc.lock disagrees with dvc.yaml; rerun `dvc repro` and commit dvc.lock:\n" + \
        "\n".join(problems)


def test_disagreements_are_found():
    declared = {"a": {"cmd": "x --n 1", "deps": {"src/a.py"}, "params": {"params.yaml": {"n"}}, "outs": {"o"}}}
    assert disagreements(declared, declared, {"a"}) == []
    stale = {"a": dict(declared["a"], deps={"src"}, params={"params.yaml": {"n", "m"}})}
    assert [p.split(":")[0] for p in disagreements(declared, stale, {"a"})] == ["stage a deps", "stage a params"]
    assert disagreements(declared, {}, {"a"}) == ["stage a: in dvc.yaml, not in the lock"]
    assert disagreements({}, declared, set()) == ["stage a: in the lock, not in dvc.yaml"]


def _glorot_imports(path: Path) -> set[str]:
    """The ``glorot.*`` modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "glorot" or m.startswith("glorot.")}


def _module_file(module: str) -> Path | None:
    base = REPO / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None  # a name imported from a module, not a module


def import_closure(start: Path) -> set[Path]:
    """Every file of the glorot package that ``start`` imports, directly or not (with the
    packages' ``__init__.py`` that Python runs on the way)."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        for module in _glorot_imports(todo.pop()):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                path = _module_file(".".join(parts[:i]))
                if path is not None and path not in seen:
                    seen.add(path)
                    todo.append(path)
    return seen


def _covered(path: str, deps: set[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def test_sweep_depends_on_the_training_code_and_not_on_the_report():
    deps = declared_stages("dvc.yaml")["sweep"]["deps"]
    assert not _covered("src/glorot/report/build.py", deps) and not _covered("src/glorot/cli.py", deps)
    imported = {p.relative_to(REPO).as_posix() for p in import_closure(REPO / "flows" / "sweep.py")}
    assert "src/glorot/engine/loop.py" in imported and "src/glorot/pipeline/runs.py" in imported
    missing = sorted(p for p in imported if not _covered(p, deps))
    assert not missing, f"the sweep imports files its DVC stage does not depend on: {missing}"


def test_report_stage_reads_every_code_change():
    """The report is cheap, and it imports the pipeline's and the paper's code: any edit rebuilds it."""
    assert "src/glorot" in declared_stages("dvc.yaml")["report"]["deps"]


def test_image_sets_are_a_pipeline_of_their_own():
    """Plain `dvc repro` reproduces ./dvc.yaml only, so a fresh clone never fetches an image set."""
    main, images = declared_stages("dvc.yaml"), declared_stages("data/dvc.yaml")
    assert set(images) == {"fetch_mnist", "prepare_mnist", "fetch_cifar10", "prepare_cifar10",
                           "prepare_small_imagenet"}
    assert not set(main) & set(images)
    produced = set().union(*(s["outs"] for s in images.values()))
    assert not any(_covered(d, produced) for s in main.values() for d in s["deps"])
    assert all(yaml.safe_load((REPO / "data/dvc.yaml").read_text())["stages"][n].get("wdir") == ".." for n in images)


def _dvc_project(root):
    """A DVC project with the layout of ours: Shapeset's stage in ``dvc.yaml``, an image set's in
    ``data/dvc.yaml`` (run from the project root), and their lock files."""
    from dvc.repo import Repo

    root.mkdir(exist_ok=True)
    Repo.init(str(root), no_scm=True).close()
    (root / "data").mkdir()
    (root / "dvc.yaml").write_text("stages:\n  shapeset:\n    cmd: echo\n    outs:\n    - data/shapeset\n")
    (root / "data" / "dvc.yaml").write_text("stages:\n  prepare_mnist:\n    wdir: ..\n    cmd: echo\n"
                                            "    outs:\n    - data/mnist\n")
    (root / "dvc.lock").write_text("schema: '2.0'\nstages:\n  shapeset:\n    cmd: echo\n    outs:\n"
                                   "    - path: data/shapeset\n      md5: aaa.dir\n")
    (root / "data" / "dvc.lock").write_text("schema: '2.0'\nstages:\n  prepare_mnist:\n    cmd: echo\n"
                                            "    outs:\n    - path: data/mnist\n      md5: bbb.dir\n")


def test_data_versions_come_from_both_pipelines_locks(tmp_path):
    """Read through DVC's own API; outside a DVC project there are none."""
    from glorot.pipeline.provenance import dvc_data_versions

    _dvc_project(tmp_path / "project")
    assert dvc_data_versions(tmp_path / "project", "data", ["shapeset", "mnist", "cifar10"]) == {
        "shapeset": "aaa.dir", "mnist": "bbb.dir", "cifar10": None}
    assert dvc_data_versions(tmp_path, "data", ["shapeset"]) == {"shapeset": None}


def test_data_that_differ_from_dvcs_listing_of_their_version_are_refused(tmp_path):
    from dvc.repo import Repo

    from glorot.pipeline.provenance import dvc_outputs, verify_dvc_output

    _dvc_project(tmp_path)
    (tmp_path / "data" / "shapeset" / "valid").mkdir(parents=True)
    (tmp_path / "data" / "shapeset" / "valid" / "data.npz").write_bytes(b"fixed examples")
    with Repo(str(tmp_path)) as repo:  # what `dvc repro` leaves: the version in dvc.lock, its listing in the cache
        repo.commit(f"{tmp_path}/dvc.yaml:shapeset", force=True)
    with dvc_outputs(tmp_path) as outs:
        verify_dvc_output(tmp_path, "data/shapeset", outs["data/shapeset"])
        (tmp_path / "data" / "shapeset" / "valid" / "data.npz").write_bytes(b"fixed exampleS")
        with pytest.raises(GlorotError, match=r"^data/shapeset/valid/data.npz differs: the data differ from the "
                                              r"version in dvc.lock \(\w+\.dir\); run `dvc checkout data/shapeset`"):
            verify_dvc_output(tmp_path, "data/shapeset", outs["data/shapeset"])


def test_a_pipeline_dvc_cannot_read_is_one_line(tmp_path):
    from glorot.pipeline.provenance import dvc_data_versions

    _dvc_project(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages:\n  shapeset:\n    outs: [data/shapeset]\n")  # no cmd
    with pytest.raises(GlorotError, match=r"^cannot read the DVC pipelines of .*validation failed$"):
        dvc_data_versions(tmp_path, "data", ["shapeset"])
