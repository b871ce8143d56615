"""Write files so that a reader never sees half of one: write a temp file beside it, flush it
to the disk, then rename it over the target.

A kill at any point leaves the old file or the new one. The data reach the disk
(``fsync``) before the rename, and the rename reaches it after (``fsync`` of the folder), so
a power loss cannot leave a renamed but empty file either. Files get the mode the user's
umask gives new files (``mkstemp`` alone would make every output 0600).

Folders are replaced whole the same way (:func:`atomic_folder`), by every writer of folders
(run folders, data sets, reports), with an exchange of names where the kernel has one.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_UMASK = os.umask(0)
os.umask(_UMASK)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100
_renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if os.name == "posix" else None


def exchange(a: str | Path, b: str | Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the C library or the file system has no such call (nothing is changed then)."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def fsync_folder(folder: str | Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file_object)`` on a temp file in ``path``'s folder, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _temp_folder(path: Path) -> Path:
    """A new empty temp folder beside ``path``, named ``.NAME.PID.XXXX.tmp`` (PID: this process)."""
    return Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"))


def _old_folder(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def recover_folder(path: str | Path) -> None:
    """Undo what a killed replacement of folder ``path`` left: its ``.NAME.old`` is put back if
    ``path`` is missing (a kill between the two renames of the fallback in :func:`replace_folder`)
    and removed otherwise; the temp folders of writers that are no longer running are removed."""
    path = Path(path)
    old = _old_folder(path)
    if old.is_dir():
        if not os.path.lexists(path):
            os.replace(old, path)
            fsync_folder(path.parent)
        else:
            shutil.rmtree(old, ignore_errors=True)
    prefix = f".{path.name}."
    for stale in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = stale.name.removeprefix(prefix).split(".", 1)[0]
        if stale.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def replace_folder(tmp: str | Path, path: str | Path) -> None:
    """Put the finished folder ``tmp`` in place of ``path`` (whole), leaving the old folder or the
    new one at ``path`` at every instant, a SIGKILL included. Where the kernel exchanges two names
    in one step (Linux ``renameat2(RENAME_EXCHANGE)``), the two folders swap and the old one, now
    at ``tmp``, is removed. Elsewhere the old folder is renamed to ``.NAME.old`` first; a kill
    before the second rename leaves ``path`` missing for an instant that :func:`recover_folder`,
    run by the next writer, repairs by putting ``.NAME.old`` back."""
    tmp, path = Path(tmp), Path(path)
    if path.is_dir() and not path.is_symlink() and exchange(tmp, path):
        fsync_folder(path.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = None
    if os.path.lexists(path):
        old = _old_folder(path)
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except OSError:
        if old is not None:
            os.replace(old, path)  # put the previous folder back
        raise
    fsync_folder(path.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside ``path`` to fill; on success it replaces ``path`` whole
    (:func:`replace_folder`), with the mode the umask gives new folders.

    A reader sees the old folder or the new one, never a mix, and never neither. What an earlier
    writer killed half-way left beside ``path`` is cleaned up first (:func:`recover_folder`). If
    the block fails, the temp folder is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(path)
    tmp = _temp_folder(path)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        replace_folder(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
