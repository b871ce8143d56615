"""Where Small-ImageNet's images come from (Glorot & Bengio 2010, Section 2.2): the
ImageNet images a user holds, as a folder tree or a tar archive.

:func:`open_source` opens an ImageNet-style tree (one folder per WordNet id,
``n01440764/*.JPEG``, at any depth), a ``.tar`` (or compressed tar) archive of such a
tree, or an archive of per-synset archives like ILSVRC-2012's
``ILSVRC2012_img_train.tar`` (``n01440764.tar``, ...), read without extracting anything.
Image files are those with the extensions in :data:`IMAGE_EXTENSIONS`; a file's synset is
the nearest enclosing folder (or inner archive) named like a WordNet id. Each source
lists its images as :class:`Entry` items, sorted by name, and reads their bytes.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from glorot.data.imagesets import one_line
from glorot.data.small_imagenet_mapping import WNID
from glorot.errors import GlorotError

IMAGE_EXTENSIONS = frozenset({".jpeg", ".jpg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class Entry:
    """One image file of the source: its synset, its path (for messages and order) and a handle."""

    wnid: str
    name: str
    handle: Any = field(compare=False, repr=False)


def _synset_of(parts: Iterable[str]) -> str | None:
    """The nearest folder named like a WordNet id, or None."""
    for part in reversed(list(parts)):
        if WNID.fullmatch(part):
            return part
    return None


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


class TreeSource:
    """Images under a folder tree, confined to it: an image is a regular file inside the tree,
    itself or through a link that stays inside (a link out of the tree, a FIFO, a device or a
    socket named like an image is not one, and is never opened, so never read nor waited on)."""

    kind = "tree"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = root.resolve()

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` is a regular file of the tree, following links only within it."""
        try:
            real = path.resolve(strict=True)
            return real.is_relative_to(self._real_root) and stat.S_ISREG(real.stat().st_mode)
        except (OSError, RuntimeError):  # a dangling or looping link
            return False

    def entries(self, wanted: set[str]) -> list[Entry]:
        found = []
        for folder, dirs, files in os.walk(self.root):  # walk never follows a linked folder
            dirs.sort()
            rel = Path(folder).relative_to(self.root)
            wnid = _synset_of(rel.parts)
            if wnid is None or wnid not in wanted:
                continue
            found += [Entry(wnid, (rel / f).as_posix(), Path(folder) / f) for f in files
                      if _is_image(f) and self._inside(Path(folder) / f)]
        return sorted(found, key=lambda e: e.name)

    def read(self, entry: Entry) -> bytes:
        """The bytes of ``entry``, opened without blocking and checked again to be a regular file
        (it could have been replaced by a FIFO since it was listed)."""
        fd = os.open(entry.handle, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{entry.name} is no longer a regular file")
            return f.read()

    def close(self) -> None:
        pass


class TarSource:
    """Images in a tar archive of a tree, or of per-synset archives (ILSVRC-2012's training tar)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = "tar"
        try:
            self.tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise GlorotError(f"cannot read archive {path}: {one_line(e)}") from None
        self._inner: list[tarfile.TarFile] = []

    def entries(self, wanted: set[str]) -> list[Entry]:
        found = []
        try:
            for info in self.tar:
                if not info.isfile():
                    continue
                member = PurePosixPath(info.name)
                if member.suffix.lower() == ".tar" and WNID.fullmatch(member.stem):
                    if member.stem in wanted:
                        self.kind = "tar of per-synset tars"
                        found += self._inner_entries(info, member.stem)
                    continue
                wnid = _synset_of(member.parent.parts)
                if wnid in wanted and _is_image(member.name):
                    found.append(Entry(wnid, info.name, (None, info)))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise GlorotError(f"corrupt or truncated archive {self.path}: {one_line(e)}") from None
        return sorted(found, key=lambda e: e.name)

    def _inner_entries(self, info: tarfile.TarInfo, wnid: str) -> list[Entry]:
        inner = tarfile.open(fileobj=self.tar.extractfile(info), mode="r:")
        self._inner.append(inner)
        return [Entry(wnid, f"{info.name}/{i.name}", (inner, i)) for i in inner if i.isfile() and _is_image(i.name)]

    def read(self, entry: Entry) -> bytes:
        inner, info = entry.handle
        return (inner or self.tar).extractfile(info).read()

    def close(self) -> None:
        for inner in self._inner:
            inner.close()
        self.tar.close()


def open_source(source: str | Path) -> TreeSource | TarSource:
    """The tree or archive at ``source``."""
    source = Path(source)
    if source.is_dir():
        return TreeSource(source)
    if source.is_file():
        return TarSource(source)
    raise GlorotError(f"Small-ImageNet source not found: {source} (an ImageNet-style folder tree or a .tar of one)")
