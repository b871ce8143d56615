"""MNIST, CIFAR-10 and Small-ImageNet builders (paper, Section 2.2), on small files in the
exact official formats (no network, no real data), their CLI, and training on the result."""

from __future__ import annotations

import gzip
import json
import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imageset_fixtures as fx
from glorot.cli import main
from glorot.config import build_config
from glorot.data import cifar10, mnist, small_imagenet
from glorot.data.imagesets import write_dataset
from glorot.data.sources import load_data
from glorot.data.store import load_split
from glorot.errors import GlorotError
from glorot.engine.loop import train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _one_line_error(excinfo, *fragments: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _splits(out: Path) -> dict:
    return {s: load_split(out / s) for s in ("train", "valid", "test")}


def _scaled(pixels: np.ndarray) -> np.ndarray:
    return pixels.reshape(len(pixels), -1).astype(np.float32) / 127.5 - 1


# ---------------------------------------------------------------------------------------
# MNIST


@pytest.fixture
def mnist_files(tmp_path, monkeypatch):
    info = fx.write_mnist(tmp_path / "mnist_src")
    monkeypatch.setattr(mnist, "MD5_GZ", info["md5_gz"])
    monkeypatch.setattr(mnist, "MD5_RAW", info["md5_raw"])
    info["folder"] = tmp_path / "mnist_src"
    return info


def test_shipped_checksums_are_the_official_ones_torchvision_uses():
    from torchvision.datasets import CIFAR10, MNIST

    assert mnist.MD5_GZ == dict(MNIST.resources)
    assert set(mnist.MD5_RAW) == set(mnist.FILES)
    assert cifar10.MD5_ARCHIVE == {CIFAR10.filename: CIFAR10.tgz_md5}
    assert cifar10.MD5_FILES == {**dict(CIFAR10.train_list), **dict(CIFAR10.test_list),
                                 CIFAR10.meta["filename"]: CIFAR10.meta["md5"]}


def test_mnist_splits_shapes_and_manifest(mnist_files, tmp_path):
    out = mnist.build(tmp_path / "data" / "mnist", mnist_files["folder"], valid_n=30)
    splits = _splits(out)
    official = mnist_files["arrays"]
    assert {s: len(v[1]) for s, v in splits.items()} == {"train": 90, "valid": 30, "test": 30}
    for x, y, manifest in splits.values():
        assert x.dtype == np.float32 and x.shape[1] == 784 and y.dtype == np.int64
        assert x.min() >= -1 and x.max() <= 1 and 0 <= y.min() and y.max() <= 9
        assert manifest["image_shape"] == [28, 28] and manifest["pixel_range"] == [-1, 1]
        assert manifest["class_names"] == [str(d) for d in range(10)] and manifest["valid_n"] == 30
    # valid = the last 30 of the official train set, in order; test = the official test set
    np.testing.assert_array_equal(splits["valid"][0], _scaled(official[mnist.TRAIN_IMAGES][-30:]))
    np.testing.assert_array_equal(splits["valid"][1], official[mnist.TRAIN_LABELS][-30:])
    np.testing.assert_array_equal(splits["train"][0], _scaled(official[mnist.TRAIN_IMAGES][:90]))
    np.testing.assert_array_equal(splits["test"][1], official[mnist.TEST_LABELS])
    level = official[mnist.TRAIN_IMAGES][0, 3, 5]
    assert splits["train"][0][0].reshape(28, 28)[3, 5] == pytest.approx(level / 127.5 - 1, abs=1e-6)
    manifest = splits["train"][2]
    assert manifest["dataset"] == "mnist" and manifest["split"] == "train"
    assert "last 30" in manifest["split_rule"]
    files = {f["file"]: f for f in manifest["source"]["files"]}
    assert set(files) == {f"{n}.gz" for n in mnist.FILES}
    assert files["train-images-idx3-ubyte.gz"]["md5"] == mnist_files["md5_gz"]["train-images-idx3-ubyte.gz"]
    assert files["train-images-idx3-ubyte.gz"]["verified_by"] == "official MD5 of the .gz file"


def test_runs_record_the_training_set_size_of_an_image_set_and_none_for_shapeset(mnist_files, tmp_path):
    """The ``train_n`` tag lets the published page count epochs from the runs alone, wherever it is
    regenerated (docs/results.md's Scale line); Shapeset-3x2 is an online stream and has none."""
    from glorot.pipeline.provenance import versioned_data

    mnist.build(tmp_path / "data" / "mnist", mnist_files["folder"], valid_n=30)
    config = build_config(dataset="mnist", depth=1, width=16, updates=20, eval_every=10, probe_every=0, device="cpu")
    _, tags = versioned_data(config, tmp_path, "data")
    assert (tags["train_n"], tags["valid_n"], tags["test_n"]) == ("90", "30", "30")
    _, tags = versioned_data(build_config(depth=1, width=16, updates=20, valid_size=50, test_size=50), tmp_path, None)
    assert "train_n" not in tags and tags["valid_n"] == "50"


def test_mnist_is_deterministic_and_accepts_unpacked_and_recompressed_copies(mnist_files, tmp_path):
    first = mnist.build(tmp_path / "a", mnist_files["folder"], valid_n=30)
    again = mnist.build(tmp_path / "b", mnist_files["folder"], valid_n=30)
    unpacked = fx.write_mnist(tmp_path / "unpacked", gz=False)
    repacked = fx.write_mnist(tmp_path / "repacked", mtime=123456)
    assert repacked["md5_gz"] != mnist_files["md5_gz"]  # a different .gz of the same content
    from_unpacked = mnist.build(tmp_path / "c", tmp_path / "unpacked", valid_n=30)
    from_repacked = mnist.build(tmp_path / "d", tmp_path / "repacked", valid_n=30)
    digests = {p: [load_split(p / s)[2]["sha256"] for s in ("train", "valid", "test")]
               for p in (first, again, from_unpacked, from_repacked)}
    assert len({tuple(d) for d in digests.values()}) == 1
    record = load_split(from_repacked / "train")[2]["source"]["files"][0]
    assert record["verified_by"] == "official MD5 of the unpacked content"
    assert unpacked["md5_raw"] == mnist_files["md5_raw"]


def test_mnist_finds_files_in_torchvision_layout(mnist_files, tmp_path):
    fx.write_mnist(tmp_path / "tv" / "MNIST" / "raw")
    out = mnist.build(tmp_path / "out", tmp_path / "tv", valid_n=30)
    assert len(load_split(out / "test")[1]) == 30


def _flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_mnist_changed_byte_in_gz_is_one_line_error_naming_the_file(mnist_files, tmp_path):
    path = mnist_files["folder"] / "train-images-idx3-ubyte.gz"
    _flip_byte(path)
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=30)
    _one_line_error(excinfo, str(path))
    assert not (tmp_path / "out").exists()


def test_mnist_changed_byte_in_unpacked_file_is_refused(mnist_files, tmp_path):
    fx.write_mnist(tmp_path / "unpacked", gz=False)
    path = tmp_path / "unpacked" / "t10k-labels-idx1-ubyte"
    _flip_byte(path, offset=12)  # a label: still a well-formed IDX file
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", tmp_path / "unpacked", valid_n=30)
    _one_line_error(excinfo, str(path), "does not match the official checksum")


def test_mnist_truncated_file_is_one_line_error_naming_the_file(mnist_files, tmp_path):
    path = mnist_files["folder"] / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=30)
    _one_line_error(excinfo, str(path), "corrupt or truncated")


def test_mnist_recompressed_file_with_other_content_is_refused(mnist_files, tmp_path):
    path = mnist_files["folder"] / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=30)
    _one_line_error(excinfo, str(path), "does not match the official checksum")


def test_mnist_missing_file_and_bad_valid_n(mnist_files, tmp_path):
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=120)
    _one_line_error(excinfo, "invalid valid_n", "120")
    with pytest.raises(GlorotError, match="invalid valid_n"):
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=0)
    (mnist_files["folder"] / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=30)
    _one_line_error(excinfo, "missing MNIST file", "t10k-labels-idx1-ubyte")


def test_mnist_download_goes_through_torchvision_into_raw(mnist_files, tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            calls.append((root, download))
            fx.write_mnist(Path(root) / "MNIST" / "raw")

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    out = mnist.build(tmp_path / "out", download_to=tmp_path / "raw", valid_n=30)
    assert calls == [(str(tmp_path / "raw"), True)]
    assert load_split(out / "train")[2]["source"]["origin"] == "download"

    class Offline:
        def __init__(self, *args, **kwargs):
            raise urllib.error.URLError("[Errno -3] Temporary failure\nin name resolution")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(GlorotError) as excinfo:
        mnist.build(tmp_path / "out2", download_to=tmp_path / "raw2")
    _one_line_error(excinfo, "cannot download MNIST", "--source DIR")


def test_mnist_reports_an_unpacked_table_that_disagrees_with_an_official_gz(mnist_files, tmp_path, monkeypatch):
    monkeypatch.setitem(mnist.MD5_RAW, mnist.TEST_LABELS, "0" * 32)
    notes = []
    mnist.build(tmp_path / "out", mnist_files["folder"], valid_n=30, warn=notes.append)
    assert len(notes) == 1 and "t10k-labels-idx1-ubyte.gz" in notes[0] and "MD5_RAW" in notes[0]


def test_cli_mnist_download_defaults_raw_beside_out(mnist_files, tmp_path, monkeypatch):
    import torchvision.datasets

    roots = []

    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            roots.append(Path(root))
            fx.write_mnist(Path(root) / "MNIST" / "raw")

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    assert main(["data", "mnist", "--download", "--out", str(tmp_path / "data" / "mnist"), "--valid-n", "30"]) == 0
    assert roots == [tmp_path / "data" / "raw" / "mnist"]


def test_cli_mnist_needs_source_or_download(capsys, tmp_path):
    assert main(["data", "mnist", "--out", str(tmp_path / "mnist")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glorot: error: ") and err.count("\n") == 1 and "--source" in err
    assert main(["data", "mnist", "--source", str(tmp_path), "--download", "--out", str(tmp_path / "m")]) == 2
    assert main(["data", "cifar10", "--source", str(tmp_path), "--raw", str(tmp_path),
                 "--out", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err.count("\n") == 2
    assert not (tmp_path / "mnist").exists()


def test_cli_mnist_writes_splits_and_samples(mnist_files, tmp_path, capsys):
    out, png = tmp_path / "data" / "mnist", tmp_path / "mnist.png"
    assert main(["data", "mnist", "--source", str(mnist_files["folder"]), "--out", str(out), "--valid-n", "30",
                 "--samples", str(png)]) == 0
    stdout = capsys.readouterr().out
    assert "train 90, valid 30, test 30" in stdout
    assert png.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(GlorotError):  # a corrupt byte leaves the previous data set in place
        _flip_byte(mnist_files["folder"] / "train-labels-idx1-ubyte.gz")
        mnist.build(out, mnist_files["folder"], valid_n=30)
    assert len(load_split(out / "train")[1]) == 90
    assert sorted(p.name for p in out.parent.iterdir()) == ["mnist"]  # no temporary folders left


# ---------------------------------------------------------------------------------------
# CIFAR-10


@pytest.fixture
def cifar_files(tmp_path, monkeypatch):
    info = fx.write_cifar(tmp_path / "cifar_src")
    monkeypatch.setattr(cifar10, "MD5_ARCHIVE", info["md5_archive"])
    monkeypatch.setattr(cifar10, "MD5_FILES", info["md5_files"])
    return info


def test_cifar_splits_layout_and_manifest(cifar_files, tmp_path):
    out = cifar10.build(tmp_path / "data" / "cifar10", cifar_files["archive"], valid_n=20)
    splits = _splits(out)
    assert {s: len(v[1]) for s, v in splits.items()} == {"train": 80, "valid": 20, "test": 20}
    for x, y, manifest in splits.values():
        assert x.dtype == np.float32 and x.shape[1] == 3072 and y.dtype == np.int64
        assert x.min() >= -1 and x.max() <= 1 and 0 <= y.min() and y.max() <= 9
        assert manifest["image_shape"] == [32, 32, 3] and manifest["layout"] == "HWC"
        assert manifest["class_names"] == fx.CIFAR_NAMES
    # valid is exactly data_batch_5; train is batches 1-4 in order
    data5, labels5 = cifar_files["arrays"]["data_batch_5"]
    np.testing.assert_array_equal(splits["valid"][1], labels5)
    np.testing.assert_array_equal(splits["train"][1][:20], cifar_files["arrays"]["data_batch_1"][1])
    # channel-last: official row = 1024 red, 1024 green, 1024 blue levels, each 32x32 row-major
    image = splits["valid"][0][3].reshape(32, 32, 3)
    for channel, row, col in ((0, 0, 0), (1, 5, 7), (2, 31, 30)):
        level = data5[3, channel * 1024 + row * 32 + col]
        assert image[row, col, channel] == pytest.approx(level / 127.5 - 1, abs=1e-6)
    manifest = splits["train"][2]
    assert "exactly data_batch_5" in manifest["split_rule"]
    assert manifest["source"]["verified_by"] == "official MD5 of the archive and of each file"


def test_cifar_accepts_folder_layouts_and_repacked_archive_with_same_result(cifar_files, tmp_path):
    results = [cifar10.build(tmp_path / "a", cifar_files["archive"], valid_n=20),
               cifar10.build(tmp_path / "b", cifar_files["folder"], valid_n=20),
               cifar10.build(tmp_path / "c", cifar_files["folder"].parent / "cifar-10-batches-py", valid_n=20)]
    (cifar_files["archive"]).unlink()
    results.append(cifar10.build(tmp_path / "d", cifar_files["folder"].parent, valid_n=20))  # folder holding it
    repacked = tmp_path / "repacked.tar"
    fx.write_tar(repacked, {f"cifar-10-batches-py/{p.name}": p.read_bytes()
                            for p in sorted(cifar_files["folder"].iterdir())})
    results.append(cifar10.build(tmp_path / "e", repacked, valid_n=20))
    digests = {tuple(load_split(r / s)[2]["sha256"] for s in ("train", "valid", "test")) for r in results}
    assert len(digests) == 1
    assert load_split(results[-1] / "test")[2]["source"]["verified_by"].endswith("(a re-packed archive)")


def test_cifar_changed_byte_in_archive_is_one_line_error_naming_it(cifar_files, tmp_path):
    _flip_byte(cifar_files["archive"])
    with pytest.raises(GlorotError) as excinfo:
        cifar10.build(tmp_path / "out", cifar_files["archive"], valid_n=20)
    _one_line_error(excinfo, str(cifar_files["archive"]))
    assert not (tmp_path / "out").exists()


def test_cifar_truncated_archive_is_one_line_error_naming_it(cifar_files, tmp_path):
    path = cifar_files["archive"]
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) * 2 // 3])
    with pytest.raises(GlorotError) as excinfo:
        cifar10.build(tmp_path / "out", path, valid_n=20)
    _one_line_error(excinfo, str(path), "corrupt or truncated")


def test_cifar_changed_byte_in_extracted_file_is_refused(cifar_files, tmp_path):
    path = cifar_files["folder"] / "data_batch_3"
    _flip_byte(path)
    with pytest.raises(GlorotError) as excinfo:
        cifar10.build(tmp_path / "out", cifar_files["folder"], valid_n=20)
    _one_line_error(excinfo, str(path), "does not match the official checksum")


def test_cifar_unpickler_admits_only_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(GlorotError, match="refusing to load builtins.print"):
        cifar10.parse_batch(pickle.dumps({b"data": Evil()}), "data_batch_1", 10)


def test_cifar_valid_n_is_checked_and_missing_source_is_clear(cifar_files, tmp_path):
    with pytest.raises(GlorotError, match="invalid valid_n: 100 leaves no training images"):
        cifar10.build(tmp_path / "out", cifar_files["archive"], valid_n=100)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GlorotError, match="no CIFAR-10 data in"):
        cifar10.build(tmp_path / "out", tmp_path / "empty")


def test_cli_cifar10(cifar_files, tmp_path, capsys):
    png = tmp_path / "cifar.png"
    assert main(["data", "cifar10", "--source", str(cifar_files["archive"].parent), "--out",
                 str(tmp_path / "data" / "cifar10"), "--valid-n", "20", "--samples", str(png)]) == 0
    assert "train 80, valid 20, test 20" in capsys.readouterr().out
    assert png.read_bytes()[:8] == PNG_MAGIC


# ---------------------------------------------------------------------------------------
# Small-ImageNet

SYNSETS = {"n01440764": 8, "n01443537": 7, "n01514668": 14, "n02690373": 13, "n02701002": 2}
GROUPS = {"fish": ["n01440764", "n01443537"], "birds": ["n01514668"], "vehicles": ["n02690373", "n02701002"]}


@pytest.fixture
def imagenet(tmp_path):
    root = tmp_path / "imagenet"
    files = fx.write_imagenet_tree(root / "train", {**SYNSETS, "n09999999": 5})  # the last one is unmapped
    (root / "train" / "README.txt").write_text("not an image")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"groups": GROUPS}))
    return {"root": root, "files": files, "mapping": mapping}


def test_small_imagenet_balanced_splits_and_manifest(imagenet, tmp_path):
    report = small_imagenet.build(tmp_path / "data" / "small_imagenet", imagenet["root"],
                                  mapping=imagenet["mapping"], seed=3)
    # fish 15, birds 14, vehicles 15 images: 14 per class, 9:1:1 -> 12 / 1 / 1 per class
    assert report.per_class == 14 and not report.paper_sizes
    assert report.sizes == {"train": 36, "valid": 3, "test": 3}
    splits = _splits(report.out)
    for x, y, manifest in splits.values():
        assert x.dtype == np.float32 and x.shape[1] == 37 * 37 and y.dtype == np.int64
        assert x.min() >= -1 and x.max() <= 1
        assert np.bincount(y, minlength=3).tolist() == [len(y) // 3] * 3
        assert manifest["class_names"] == ["fish", "birds", "vehicles"]
        assert manifest["image_shape"] == [37, 37] and manifest["pixel_range"] == [-1, 1]
    source = splits["train"][2]["source"]
    assert source["images_available"] == {"fish": 15, "birds": 14, "vehicles": 15}
    assert source["synsets_found"] == {"fish": 2, "birds": 1, "vehicles": 2}
    assert source["kind"] == "tree" and source["unreadable_skipped"] == 0
    assert splits["train"][2]["paper_sizes"] is False and splits["train"][2]["seed"] == 3


def test_small_imagenet_is_deterministic_and_tar_gives_the_same_set(imagenet, tmp_path):
    build = lambda out, src, seed=0: small_imagenet.build(tmp_path / out, src, mapping=imagenet["mapping"],
                                                          seed=seed, workers=2)
    a, b = build("a", imagenet["root"]), build("b", imagenet["root"])
    tar = fx.write_tar(tmp_path / "imagenet.tar", {f"train/{k}": v for k, v in imagenet["files"].items()})
    c = build("c", tar)
    nested = fx.write_tar(tmp_path / "ilsvrc.tar", {
        f"{wnid}.tar": fx.write_tar(tmp_path / f"{wnid}.tar", {k.split("/", 1)[1]: v for k, v in
                                                              imagenet["files"].items() if k.startswith(wnid)}
                                    ).read_bytes() for wnid in SYNSETS})
    d = build("d", nested)
    other = build("e", imagenet["root"], seed=1)
    arrays = [[load_split(r.out / s)[0] for s in ("train", "valid", "test")] for r in (a, b, c, d, other)]
    for same in arrays[1:4]:
        for x, y in zip(arrays[0], same):
            np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(arrays[0], arrays[4]))
    assert load_split(c.out / "train")[2]["source"]["kind"] == "tar"
    assert load_split(d.out / "train")[2]["source"]["kind"] == "tar of per-synset tars"


def test_small_imagenet_unreadable_images_are_skipped_and_counted(imagenet, tmp_path):
    bad = imagenet["root"] / "train" / "n01514668" / "n01514668_0.JPEG"
    bad.write_bytes(b"\xff\xd8 this is no JPEG")
    with pytest.raises(GlorotError) as excinfo:  # 1 of 42 tried is more than the default 1%
        small_imagenet.build(tmp_path / "out", imagenet["root"], mapping=imagenet["mapping"])
    _one_line_error(excinfo, "too many unreadable images", "n01514668_0.JPEG")
    report = small_imagenet.build(tmp_path / "out", imagenet["root"], mapping=imagenet["mapping"],
                                  max_unreadable=0.05)
    assert report.unreadable == 1 and report.per_class == 13  # birds: 13 readable images left
    source = load_split(report.out / "train")[2]["source"]
    assert source["unreadable_skipped"] == 1 and "n01514668_0.JPEG" in source["unreadable_examples"][0]


def test_small_imagenet_rebuilt_with_unreadable_images_is_byte_identical(imagenet, tmp_path):
    """The manifest records why an image was unreadable in stable words: no memory address
    (``<_io.BytesIO object at 0x7f...>``) that would change the data version on every rebuild."""
    birds = imagenet["root"] / "train" / "n01514668"
    (birds / "n01514668_0.JPEG").write_bytes(b"\xff\xd8 this is no JPEG")
    (birds / "n01514668_1.JPEG").write_bytes((birds / "n01514668_1.JPEG").read_bytes()[:300])  # truncated
    builds = [small_imagenet.build(tmp_path / out, imagenet["root"], mapping=imagenet["mapping"], max_unreadable=0.1)
              for out in ("a", "b")]
    files = [{p.relative_to(r.out): p.read_bytes() for p in sorted(r.out.rglob("*")) if p.is_file()} for r in builds]
    assert files[0] == files[1] and len(files[0]) == 6
    source = json.loads(files[0][Path("train") / "manifest.json"])["source"]
    assert source["unreadable_skipped"] == 2
    assert source["unreadable_examples"] == [
        "train/n01514668/n01514668_0.JPEG: UnidentifiedImageError: cannot identify image file <_io.BytesIO object>",
        "train/n01514668/n01514668_1.JPEG: OSError: Truncated File Read"]
    assert "0x" not in files[0][Path("train") / "manifest.json"].decode()


def test_small_imagenet_too_few_images_names_the_class(imagenet, tmp_path):
    for k in range(4, 14):
        (imagenet["root"] / "train" / "n01514668" / f"n01514668_{k}.{'png' if k % 3 == 2 else 'JPEG'}").unlink()
    with pytest.raises(GlorotError) as excinfo:
        small_imagenet.build(tmp_path / "out", imagenet["root"], mapping=imagenet["mapping"])
    _one_line_error(excinfo, "too few images for class 'birds'", "4 found")
    with pytest.raises(GlorotError, match="too few images for class 'fish': 15 found .* need at least 20"):
        small_imagenet.build(tmp_path / "out", imagenet["root"], mapping=imagenet["mapping"], per_class=20)


@pytest.mark.parametrize("groups,fragment", [
    ({"fish": ["n01440764", "fish-1"], "birds": ["n01514668"]},
     "class 'fish' lists 'fish-1', which is not a WordNet id"),
    ({"fish": ["n0144076"], "birds": ["n01514668"]}, "which is not a WordNet id"),
    ({"fish": ["n01440764"], "birds": ["n01440764"]}, "n01440764 is in both 'fish' and 'birds'"),
    ({"fish": [], "birds": ["n01514668"]}, "class 'fish' must list at least one WordNet id"),
    ({"fish": ["n01440764"]}, "at least 2 classes"),
])
def test_small_imagenet_bad_mapping_is_one_line_error(groups, fragment, imagenet, tmp_path):
    imagenet["mapping"].write_text(json.dumps({"groups": groups}))
    with pytest.raises(GlorotError) as excinfo:
        small_imagenet.build(tmp_path / "out", imagenet["root"], mapping=imagenet["mapping"])
    _one_line_error(excinfo, str(imagenet["mapping"]), fragment)


def test_shipped_mapping_has_the_papers_ten_groups_of_valid_synsets():
    mapping = small_imagenet.load_mapping()
    assert tuple(mapping.class_names) == small_imagenet.PAPER_GROUPS
    wnids = [w for group in mapping.groups.values() for w in group]
    assert len(wnids) == len(set(wnids)) and all(len(group) >= 3 for group in mapping.groups.values())
    assert {"n01440764", "n02690373", "n11939491", "n07753592"} <= set(wnids)  # tench, airliner, daisy, banana


def test_to_small_grey_keeps_aspect_and_crops_the_centre():
    import io

    pixels = np.zeros((60, 120, 3), dtype=np.uint8)
    pixels[:, 30:90] = 255  # the central 60x60 square is white, the sides black
    for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L")):
        buf = io.BytesIO()
        Image.fromarray(pixels).convert(mode).save(buf, format=fmt)
        small = small_imagenet.to_small_grey(buf.getvalue())
        assert small.shape == (37, 37) and small.dtype == np.uint8
        assert small[:, 2:-2].min() > 200, (fmt, mode)


def test_cli_small_imagenet(imagenet, tmp_path, capsys):
    png = tmp_path / "small.png"
    assert main(["data", "small_imagenet", "--source", str(imagenet["root"]), "--out",
                 str(tmp_path / "data" / "small_imagenet"), "--mapping", str(imagenet["mapping"]), "--seed", "5",
                 "--samples", str(png), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "not the paper's 11000" in stdout and "train 36, valid 3, test 3" in stdout
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert main(["data", "small_imagenet", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ---------------------------------------------------------------------------------------
# the shared writer, and training on every prepared set


def test_write_dataset_refuses_to_replace_a_foreign_folder(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("...")
    x, y = np.zeros((2, 3), np.float32), np.zeros(2, np.int64)
    with pytest.raises(GlorotError, match="refusing to replace"):
        write_dataset(out, {"train": (x, y)}, {"class_names": ["a"]})
    assert (out / "thesis.tex").exists()


def test_short_training_run_on_each_prepared_set(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    info = fx.write_mnist(tmp_path / "mnist_src")
    monkeypatch.setattr(mnist, "MD5_GZ", info["md5_gz"])
    monkeypatch.setattr(mnist, "MD5_RAW", info["md5_raw"])
    mnist.build(data_dir / "mnist", tmp_path / "mnist_src", valid_n=30)
    info = fx.write_cifar(tmp_path / "cifar_src", archive=False)
    monkeypatch.setattr(cifar10, "MD5_FILES", info["md5_files"])
    cifar10.build(data_dir / "cifar10", info["folder"], valid_n=20)
    fx.write_imagenet_tree(tmp_path / "imagenet", {w: 22 for w in ("n01440764", "n01514668", "n02690373")})
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"groups": {"fish": ["n01440764"], "birds": ["n01514668"],
                                              "vehicles": ["n02690373"]}}))
    small_imagenet.build(data_dir / "small_imagenet", tmp_path / "imagenet", mapping=mapping)
    for dataset, n_in, n_classes in (("mnist", 784, 10), ("cifar10", 3072, 10), ("small_imagenet", 1369, 3)):
        config = build_config(dataset=dataset, depth=1, width=16, updates=20, eval_every=10, probe_every=0,
                              probe_size=10, device="cpu")
        data = load_data(config, data_dir)
        assert (data.n_in, data.n_classes) == (n_in, n_classes)
        _, result = train(config, data, progress=False)
        assert result.updates == 20 and result.status != "diverged"
        assert 0 <= result.test_error <= 1


def test_small_imagenet_tree_is_confined_to_its_tree_and_to_regular_files(imagenet, tmp_path):
    """A link to an image outside the tree was read, and a FIFO named like an image hung the
    build forever: neither is an image of the tree now; a link that stays inside still is."""
    import os
    import subprocess
    import sys

    from glorot.data.small_imagenet_sources import TreeSource

    birds = imagenet["root"] / "train" / "n01514668"
    outside = tmp_path / "secret.JPEG"
    outside.write_bytes((birds / "n01514668_0.JPEG").read_bytes())
    (birds / "n01514668_out.JPEG").symlink_to(outside)
    (birds / "n01514668_in.JPEG").symlink_to(birds / "n01514668_1.JPEG")
    os.mkfifo(birds / "n01514668_fifo.JPEG")
    (birds / "linked").symlink_to(tmp_path, target_is_directory=True)
    names = {e.name for e in TreeSource(imagenet["root"]).entries({"n01514668"})}
    assert "train/n01514668/n01514668_in.JPEG" in names
    assert not {n for n in names if "_out" in n or "_fifo" in n or "linked" in n}
    assert len(names) == SYNSETS["n01514668"] + 1
    code = ("import sys; from pathlib import Path; from glorot.data.small_imagenet_sources import Entry, TreeSource; "
            "src = TreeSource(Path(sys.argv[1]))\ntry:\n    src.read(Entry('n', 'fifo', Path(sys.argv[2])))\n"
            "except OSError as e:\n    print('refused')")
    done = subprocess.run([sys.executable, "-c", code, str(imagenet["root"]), str(birds / "n01514668_fifo.JPEG")],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "refused\n", done.stderr
