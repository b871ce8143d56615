"""Reading a parameters file (``params.yaml``) exactly as DVC reads it, and no more of it than fits.

DVC reads ``params.yaml`` with ruamel.yaml's safe loader (``dvc.utils.serialize.parse_yaml``):
YAML 1.2, so ``1e-2`` is the float 0.01 and ``yes`` the string ``"yes"``, and a key given twice
refuses the file. Reading it the same way here means that glorot and DVC never disagree on
what a file says. Before anything is built, the document's size with every alias expanded is
counted on ruamel's node graph, where an alias is one shared node (:func:`expanded_size`): a
few kilobytes of nested aliases (a "billion laughs") are refused in one line instead of
expanding into gigabytes when validated or printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from glorot.errors import GlorotError

#: The most values (scalars, lists and mappings, each alias counted as what it stands for) that a
#: parameters file may hold: the shipped ``params.yaml`` holds about 300.
MAX_NODES = 100_000


def expanded_size(root: Node | None, limit: int = MAX_NODES) -> int:
    """The number of nodes of ``root``'s document with every alias expanded, counted once per
    shared node (so in time linear in the file), stopping once past ``limit``."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, MappingNode)
                    else list(node.value) if isinstance(node, SequenceNode) else [])
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(c), 1) for c in children))
    return sizes.get(id(root), 0) if root is not None else 0


def parse_params(text: str, name: str) -> Any:
    """The data of parameters file ``name`` holding ``text``, as DVC reads it; a one-line
    :class:`GlorotError` for a file DVC would refuse too, or one too large once expanded."""
    yaml = YAML(typ="safe", pure=True)
    try:
        if expanded_size(yaml.compose(text)) > MAX_NODES:
            raise GlorotError(f"corrupt parameters file {name}: more than {MAX_NODES:,} values once its YAML "
                              f"aliases are expanded")
        return yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise GlorotError(f"corrupt parameters file {name}: {e.problem or e.context}{where}") from None
    except YAMLError as e:
        raise GlorotError(f"corrupt parameters file {name}: {e}") from None
    except RecursionError:
        raise GlorotError(f"corrupt parameters file {name}: nested too deeply") from None


def read_params_file(file: Path, name: str) -> Any:
    """The data of the parameters file at ``file`` (``name`` in errors): a missing, unreadable or
    non-UTF-8 file is a one-line :class:`GlorotError`, as is any YAML that :func:`parse_params` refuses."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GlorotError(f"missing parameters file: {file}") from None
    except IsADirectoryError:
        raise GlorotError(f"invalid parameters file {file}: it is a folder") from None
    except UnicodeDecodeError as e:
        raise GlorotError(f"corrupt parameters file {name}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise GlorotError(f"cannot read parameters file {file}: {e.strerror or e}") from None
    return parse_params(text, name)
