"""`fakescope train` through the real CLI on real data: every detector, both tasks, reload equality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from test_models import TINY_CLIP
from trainhelpers import rescore, saved_val_scores, train_log

# detector -> (data folder, extra CLI arguments): one short epoch on real images each.
CASES = {
    "spectral": ("cifake", ["--image-size", "32", "--task", "both"]),
    "cnn-small": ("cifake", ["--max-samples", "300", "--arch-args", '{"widths": [8, 16, 32]}']),
    "timm:resnet18": ("genimage-tree", ["--image-size", "64", "--batch-size", "16", "--task", "both"]),
    "npr": ("genimage-tree", ["--image-size", "64", "--batch-size", "16", "--arch-args", '{"widths": [16, 32], "depths": [1, 1]}']),
    "clip-probe": ("genimage-tree", ["--arch-args", json.dumps(TINY_CLIP), "--task", "generator"]),
}


@pytest.mark.parametrize("model", sorted(CASES))
def test_every_detector_trains_and_reloads_to_the_same_scores(model: str, shared: Path, tmp_path: Path) -> None:
    folder, extra = CASES[model]
    out = tmp_path / "model"
    proc = run_cli("train", "--data", shared / folder, "--model", model, "--epochs", "1", "--out", out,
                   "--no-progress", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert (out / "best" / "model.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == model
    assert config["training"]["data"]["fingerprint"] and config["training"]["environment"]["torch"]
    assert config["training"]["seed"] == 0
    val = config["metrics"]["validation"]["binary"]
    assert val["n"] > 0 and 0.0 <= val["accuracy"] <= 1.0
    if "--task" in extra and extra[extra.index("--task") + 1] in ("generator", "both"):
        expected = ["Real", "SD14"] if folder == "cifake" else ["Real", "ADM", "BigGAN", "GLIDE", "Midjourney", "SD14", "SD15", "VQDM", "Wukong"]
        assert config["generators"] == expected
        assert config["metrics"]["validation"]["generator"]["n"] > 0
    for directory in (out, out / "best"):  # the run records its domain, OOD statistics and operating point
        recorded = json.loads((directory / "config.json").read_text())
        assert recorded["domain"]["sizes"]["width"]["max"] > 0 and recorded["domain"]["fingerprint"]
        assert recorded["domain"]["ood"]["threshold"] is not None and (directory / "ood.safetensors").is_file()
        op = recorded["operating_point"]
        assert 0.0 <= op["real_below"] <= op["fake_at"] <= 1.0 and op["n"] == val["n"]
    saved = saved_val_scores(out)
    assert len(saved) == val["n"]
    again = rescore(out, str(shared / folder), None, set(saved))
    assert set(again) == set(saved)
    for key, (_, score) in saved.items():
        assert again[key] == pytest.approx(score, abs=1e-5), key
    if model != "spectral":
        log = train_log(out)
        assert [r["epoch"] for r in log] == [1]
        assert log[0]["train_images"] > 0 and log[0]["images_per_s"] > 0


def test_generator_head_on_tiny_genimage(shared: Path, tmp_path: Path) -> None:
    """Task B end to end: per-generator predictions on Tiny GenImage's validation split."""
    out = tmp_path / "gen"
    proc = run_cli("train", "--data", shared / "tiny-genimage-sample", "--model", "spectral", "--task", "generator",
                   "--image-size", "128", "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    gen = config["metrics"]["validation"]["generator"]
    assert config["training"]["data"]["validation"]["how"].startswith("split 'validation'")
    assert gen["n"] == 35 and len(gen["confusion_matrix"]) == 9
    assert sum(map(sum, gen["confusion_matrix"])) == 35
    assert 0.0 <= gen["top1_accuracy"] <= 1.0


def test_bad_files_in_training_data_are_skipped(awkward_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    proc = run_cli("train", "--data", awkward_folder, "--model", "cnn-small", "--epochs", "1", "--val-fraction", "0.3",
                   "--arch-args", '{"widths": [8, 8, 8]}', "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "truncated" in proc.stderr and "skipped" in proc.stderr
    assert (out / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--model", "no-such-net"], "unknown detector"),
        (["--model", "cnn-small", "--task", "everything"], "--task must be"),
        (["--model", "cnn-small", "--arch-args", "{not json"], "Expecting"),
        (["--model", "cnn-small", "--jpeg-quality", "x-y"], "--jpeg-quality"),
        (["--model", "cnn-small", "--tta", "rotate"], "unknown --tta"),
    ],
)
def test_bad_train_arguments_exit_2(args: list[str], fragment: str, shared: Path, tmp_path: Path) -> None:
    proc = run_cli("train", "--data", shared / "cifake", "--out", tmp_path / "m", *args)
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


def test_fine_tuning_starts_from_a_trained_model_directory(cifake_cnn: Path, shared: Path, tmp_path: Path) -> None:
    """--pretrained MODEL_DIR copies every tensor (heads included) before training goes on."""
    import torch

    from fakescope.errors import UserError
    from fakescope.models import create_model, load_model, read_config
    from fakescope.models.io import warm_start

    trained, config = load_model(cifake_cnn)
    fresh = create_model(read_config(cifake_cnn))
    message = warm_start(fresh, config, cifake_cnn)
    n = len(trained.state_dict())
    assert message.startswith(f"{n} of {n} tensors")
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key

    other = read_config(cifake_cnn)
    other.arch_args = {"widths": [8, 16, 32]}
    with pytest.raises(UserError, match="cannot initialise cnn-small"):
        warm_start(create_model(other), other, cifake_cnn)

    proc = run_cli("train", "--data", shared / "cifake", "--model", "cnn-small", "--arch-args", '{"widths": [16, 32, 64]}',
                   "--pretrained", cifake_cnn, "--epochs", "1", "--max-samples", "200", "--tta", "hflip", "--out", tmp_path / "ft")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"initialised from {cifake_cnn}: {n} of {n} tensors" in proc.stderr
    assert (tmp_path / "ft" / "model.safetensors").is_file()
    assert read_config(tmp_path / "ft").tta == ["hflip"]  # recorded for every inference path
