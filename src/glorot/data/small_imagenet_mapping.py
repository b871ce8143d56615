"""The mapping of ImageNet synsets to the ten WordNet groups of Small-ImageNet
(Glorot & Bengio 2010, Section 2.2, Figure 1 bottom).

The paper names its ten groups (:data:`PAPER_GROUPS`) but not the synsets in them; the
package ships a best-effort mapping for ImageNet-1k (:data:`DEFAULT_MAPPING`, see
``docs/datasets.md``), and a user may give another one. :func:`load_mapping` reads and
validates either: ``{"groups": {"reptiles": ["n01664065", ...] or {"n01664065":
"loggerhead", ...}, ...}}``, classes in label order; an entry that is not a WordNet id
(``n`` and 8 digits), a synset in two groups, an empty group or fewer than two groups is
an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from glorot.data.imagesets import one_line
from glorot.errors import GlorotError

PAPER_GROUPS = ("reptiles", "vehicles", "birds", "mammals", "fish", "furniture", "instruments", "tools",
                "flowers", "fruits")
"""The paper's ten classes, in the order of the shipped mapping (= label order)."""

WNID = re.compile(r"n\d{8}")
MAPPING_FILE = "small_imagenet_synsets.json"


def default_mapping_path() -> Path:
    """The mapping shipped with the package."""
    return Path(str(resources.files("glorot.data").joinpath(MAPPING_FILE)))


DEFAULT_MAPPING = default_mapping_path()


@dataclass(frozen=True)
class Mapping:
    """Class names in label order and the synsets of each; ``sha256`` of the file read."""

    groups: dict[str, tuple[str, ...]]
    file: str
    sha256: str

    @property
    def class_names(self) -> list[str]:
        return list(self.groups)

    def label_of(self) -> dict[str, int]:
        return {wnid: label for label, wnids in enumerate(self.groups.values()) for wnid in wnids}


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read and validate a mapping file (module doc); the shipped one when ``path`` is None."""
    path = Path(path) if path is not None else DEFAULT_MAPPING
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
    except OSError as e:
        raise GlorotError(f"cannot read mapping {path}: {e.strerror or one_line(e)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GlorotError(f"invalid mapping {path}: not JSON ({one_line(e)})") from None
    groups = doc.get("groups", doc) if isinstance(doc, dict) else None
    if not isinstance(groups, dict) or len(groups) < 2:
        raise GlorotError(f"invalid mapping {path}: expected {{\"groups\": {{class name: [WordNet ids]}}}} "
                          f"with at least 2 classes")
    seen: dict[str, str] = {}
    parsed = {}
    for name, entries in groups.items():
        if isinstance(entries, dict):
            entries = list(entries)
        if not isinstance(entries, list) or not entries:
            raise GlorotError(f"invalid mapping {path}: class {name!r} must list at least one WordNet id")
        for wnid in entries:
            if not isinstance(wnid, str) or not WNID.fullmatch(wnid):
                raise GlorotError(f"invalid mapping {path}: class {name!r} lists {wnid!r}, which is not a "
                                  f"WordNet id (n followed by 8 digits, e.g. n01440764)")
            if wnid in seen:
                raise GlorotError(f"invalid mapping {path}: {wnid} is in both {seen[wnid]!r} and {name!r}")
            seen[wnid] = name
        parsed[str(name)] = tuple(entries)
    return Mapping(parsed, path.name, hashlib.sha256(raw).hexdigest())
