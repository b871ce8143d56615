"""The ``glorot`` command line: bad values exit 2 with one line; good ones produce output."""

import json
import subprocess
import sys

import pytest

from glorot.cli import main
from glorot.errors import GlorotError


@pytest.mark.parametrize("flags,message", [
    (["--depth", "0"], "invalid depth: Input should be greater than or equal to 1 (got 0)"),
    (["--lr", "0"], "invalid lr: Input should be greater than 0 (got 0.0)"),
    (["--lr", "-0.1"], "invalid lr: Input should be greater than 0 (got -0.1)"),
    (["--batch-size", "0"], "invalid batch_size: Input should be greater than or equal to 1 (got 0)"),
    (["--activation", "gelu"], "invalid activation: 'gelu' is not one of sigmoid, tanh, softsign, relu"),
    (["--init", "xavier"], "invalid init: 'xavier' is not one of standard, normalized, he, orthogonal, lsuv, dae"),
    (["--dataset", "svhn"], "invalid dataset: 'svhn' is not one of shapeset, mnist, cifar10, small_imagenet"),
    (["--lr-grid", "0.1", "-1"], "invalid lr: Input should be greater than 0 (got -1.0)"),
    (["--lr", "inf"], "invalid lr: Input should be a finite number (got inf)"),
    (["--lr", "nan"], "invalid lr: Input should be a finite number (got nan)"),
    (["--lr=-inf"], "invalid lr: Input should be a finite number (got -inf)"),
    (["--lr-grid", "0.1", "inf"], "invalid lr: Input should be a finite number (got inf)"),
    (["--lr", "fast"], "invalid lr: Input should be a valid number (got 'fast')"),
    (["--depth", "abc"], "invalid depth: Input should be a valid integer (got 'abc')"),
    (["--width", "2.5"], "invalid width: Input should be a valid integer (got '2.5')"),
    (["--updates", "true"], "invalid updates: Input should be a valid integer (got 'true')"),
    (["--depth", "101"], "invalid depth: Input should be less than or equal to 100 (got 101)"),
    (["--lr", "1e308"], "invalid lr: 1e+308 is outside what float32, the engine's dtype, holds (magnitudes "
                        "1.18e-38 to 3.4e+38, or 0)"),
    (["--lr", "1e-45"], "invalid lr: 1e-45 is outside what float32, the engine's dtype, holds (magnitudes "
                        "1.18e-38 to 3.4e+38, or 0)"),
    (["--pretrain-lr", "1e39"], "invalid pretrain_lr: 1e+39 is outside what float32, the engine's dtype, holds "
                                "(magnitudes 1.18e-38 to 3.4e+38, or 0)"),
    (["--lr-grid", "0.1", "1e300"], "invalid lr: 1e+300 is outside what float32, the engine's dtype, holds "
                                    "(magnitudes 1.18e-38 to 3.4e+38, or 0)"),
    (["--updates", "100000001"], "invalid updates: 100,000,001 updates exceed the limit of 100,000,000; for a study "
                                 "that needs more (the paper's ran up to millions of updates), set GLOROT_MAX_UPDATES "
                                 "to a larger number"),
    (["--pretrain-updates", str(10**20)], "invalid pretrain_updates: 100,000,000,000,000,000,000 updates exceed the "
                                          "limit of 100,000,000; for a study that needs more (the paper's ran up to "
                                          "millions of updates), set GLOROT_MAX_UPDATES to a larger number"),
    (["--activation", "g" * 100_000], "invalid activation: 'ggggggggggggggggggggggggggggggggggggg...ggggggggggggggggg"
                                      "ggggggggggggggggggggg' is not one of sigmoid, tanh, softsign, relu"),
])
def test_train_rejects_bad_values_with_one_line_and_exit_2(flags, message, capsys, tmp_path):
    assert main(["train", "--updates", "1", "--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert err == f"glorot: error: {message}\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags,message", [
    (["--checkpoint-dir", "ck", "--checkpoint-every", "0"], "(got 0)"),
    (["--checkpoint-dir", "ck", "--checkpoint-every", "-5"], "(got -5)"),
    (["--checkpoint-every", "10"], "(got 10 without --checkpoint-dir)"),
])
def test_checkpoint_every_below_1_or_without_a_folder_is_an_error_not_ignored(flags, message, capsys, tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--updates", "1", "--width", "4", *flags]) == 2
    assert capsys.readouterr().err == ("glorot: error: invalid checkpoint_every: must be >= 1 and needs "
                                       f"--checkpoint-dir {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_updates_limit_is_lifted_by_its_setting(monkeypatch):
    from glorot.config import build_config

    monkeypatch.setenv("GLOROT_MAX_UPDATES", str(10**9))
    assert build_config(updates=10**9, device="cpu").updates == 10**9
    monkeypatch.setenv("GLOROT_MAX_UPDATES", "lots")
    with pytest.raises(GlorotError, match="^invalid GLOROT_MAX_UPDATES: must be a positive integer "
                                          r"\(got 'lots'\)$"):
        build_config(updates=1, device="cpu")


def test_missing_data_dir_is_one_line_and_exit_2(capsys, tmp_path):
    assert main(["train", "--updates", "1", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("glorot: error: missing data manifest:")


def test_train_writes_a_run_folder_and_prints_the_curve(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "glorot.cli", "train", "--depth", "2", "--width", "32", "--updates", "50",
           "--eval-every", "25", "--probe-every", "25", "--valid-size", "200", "--test-size", "200",
           "--probe-size", "20", "--seed", "3", "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "valid err" in proc.stdout and "Tanh / Shapeset-3x2: valid error" in proc.stdout
    assert len([line for line in proc.stdout.splitlines() if line.strip().split(" ")[0] in {"0", "25", "50"}]) == 3
    assert {p.name for p in out.iterdir()} == {"config.json", "result.json", "curve.json", "diagnostics.json",
                                               "diagnostics.npz", "model.pt"}
    assert json.loads((out / "result.json").read_text())["updates"] == 50


def test_diagnose_prints_per_layer_json(capsys):
    assert main(["diagnose", "--activation", "tanh", "--init", "normalized", "--depth", "3", "--width", "100",
                 "--probe-size", "50", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["config"]["init"] == "normalized" and len(doc["layers"]) == 3
    assert {"act_mean", "act_std", "act_p98", "dCds_std", "dCdW_std", "jac_sv_mean"} <= set(doc["layers"][0])


def test_diagnose_rejects_unknown_activation(capsys):
    assert main(["diagnose", "--activation", "swish", "--init", "standard", "--depth", "2"]) == 2
    assert "'swish' is not one of sigmoid" in capsys.readouterr().err


def test_data_shapeset_writes_split_and_samples(tmp_path, capsys):
    assert main(["data", "shapeset", "--n", "64", "--seed", "1", "--out", str(tmp_path / "s"),
                 "--samples", str(tmp_path / "fig1.png")]) == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["n"] == 64 and manifest["seed"] == 1 and len(manifest["class_names"]) == 9
    assert (tmp_path / "fig1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["data", "shapeset", "--n", "0", "--seed", "1", "--out", str(tmp_path / "t")]) == 2
    assert "invalid n" in capsys.readouterr().err


def test_unwritable_output_folder_is_one_line_and_exit_2(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    code = main(["train", "--depth", "1", "--width", "8", "--updates", "2", "--valid-size", "20", "--test-size", "20",
                 "--probe-size", "5", "--quiet", "--out", str(blocker / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"glorot: error: cannot write run output to {blocker / 'run'}")
    assert err.count("\n") == 1


def test_sizes_beyond_memory_and_cuda_without_a_device_fail_before_any_data_is_read(capsys, tmp_path, monkeypatch):
    import glorot.config
    import glorot.data.sources

    def no_data(*args, **kwargs):
        raise AssertionError("data loaded before the configuration was checked")

    monkeypatch.setattr(glorot.data.sources, "load_data", no_data)
    monkeypatch.setattr(glorot.config, "machine_memory", lambda: 23 * 2**30)
    monkeypatch.setattr(glorot.config, "cuda_available", lambda: False)
    out = ["--updates", "1", "--out", str(tmp_path / "run")]
    assert main(["train", "--width", "200000", *out]) == 2
    assert capsys.readouterr().err == ("glorot: error: invalid width: 5 x 200000 units need 597 GiB for the weights "
                                       "alone; this machine has 23.0 GiB\n")
    assert main(["train", "--device", "cuda", *out]) == 2
    err = capsys.readouterr().err
    assert err == "glorot: error: invalid device: 'cuda' requested but no CUDA device is available\n"
    assert main(["diagnose", "--width", "abc"]) == 2
    assert capsys.readouterr().err == "glorot: error: invalid width: Input should be a valid integer (got 'abc')\n"
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_made_on_other_data_is_set_aside_with_one_line(tmp_path, capsys, monkeypatch):
    from glorot.engine import Checkpointer

    monkeypatch.setattr(Checkpointer, "clear", lambda self: None)  # keep the last checkpoint, as a kill would
    for split, seed in (("valid", 1), ("test", 2)):
        assert main(["data", "shapeset", "--n", "40", "--seed", str(seed), "--out", str(tmp_path / "d/shapeset" / split)]) == 0
    ck = tmp_path / "ck"
    train = ["train", "--depth", "1", "--width", "8", "--updates", "20", "--eval-every", "10", "--probe-every", "10",
             "--probe-size", "5", "--valid-size", "40", "--test-size", "40", "--quiet", "--checkpoint-dir", str(ck)]
    assert main(train) == 0
    capsys.readouterr()
    assert main(train) == 0  # the same code and data: resumed
    out, err = capsys.readouterr()
    assert f"resuming from {ck / 'checkpoint.pt'}" in out and err == ""
    assert main([*train, "--data-dir", str(tmp_path / "d")]) == 0
    out, err = capsys.readouterr()
    assert "resuming from" not in out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"glorot: warning: checkpoint {ck / 'checkpoint.pt'} set aside as "
                                                   f"checkpoint.pt.set-aside-1: it was made with data '")
    assert lines[0].endswith("; starting from update 0") and (ck / "checkpoint.pt.set-aside-1").is_file()
