"""Multi-crop inference (models/multicrop.py): config, crop positions, the forward pass, training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import SHARED, run_cli
from fakescope.errors import UserError
from fakescope.models import ModelConfig, PreprocessConfig, create_model, load_model, read_config, save_model
from fakescope.models.config import MultiCropConfig
from fakescope.models.multicrop import crop_offsets, stack_crops
from fakescope.models.net import fake_probability

NATIVE_POOL = SHARED / "native-pool" / "manifest.csv"


def _config(mc: MultiCropConfig | None, canvas: int = 64) -> ModelConfig:
    pre = PreprocessConfig(input_size=canvas, resize="crop", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    return ModelConfig(architecture="cnn-small", task="both", preprocess=pre, arch_args={"widths": [8, 16], "depths": [1, 1]},
                       generators=["Real", "A", "B"], multicrop=mc)


def test_grid_offsets_tile_the_canvas_and_random_ones_are_seeded() -> None:
    grid = crop_offsets(MultiCropConfig(crops=16, size=64, how="grid"), 256)
    assert sorted({t for t, _ in grid}) == [0, 64, 128, 192] and len(set(grid)) == 16
    assert crop_offsets(MultiCropConfig(crops=1, size=64), 256) == [(96, 96)]  # one crop: the centre
    assert crop_offsets(MultiCropConfig(crops=4, size=96), 128) == [(0, 0), (0, 32), (32, 0), (32, 32)]  # overlapping corners
    r1 = crop_offsets(MultiCropConfig(crops=5, size=50, how="random", seed=3), 200)
    assert r1 == crop_offsets(MultiCropConfig(crops=5, size=50, how="random", seed=3), 200)
    assert r1 != crop_offsets(MultiCropConfig(crops=5, size=50, how="random", seed=4), 200)
    assert all(0 <= t <= 150 and 0 <= left <= 150 for t, left in r1)


def test_invalid_multicrop_configs_are_refused() -> None:
    with pytest.raises(UserError, match="square number"):
        MultiCropConfig(crops=5, how="grid")
    with pytest.raises(UserError, match="how"):
        MultiCropConfig(how="spiral")
    with pytest.raises(UserError, match="combine"):
        MultiCropConfig(combine="max")
    with pytest.raises(UserError, match="exceeds the canvas"):
        _config(MultiCropConfig(crops=4, size=96), canvas=64)


def test_forward_is_the_mean_logit_of_the_crops_and_round_trips(tmp_path: Path) -> None:
    mc = MultiCropConfig(crops=3, size=32, how="random", seed=7)
    config = _config(mc)
    model = create_model(config).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        crops = stack_crops(x, mc)  # crop-major: crop k of both images, then crop k + 1
        assert crops.shape == (6, 3, 32, 32)
        per_crop = model._heads(crops)
    assert torch.allclose(out["binary"], per_crop["binary"].view(3, 2).mean(0), atol=1e-6)
    assert torch.allclose(out["generator"], per_crop["generator"].view(3, 2, 3).mean(0), atol=1e-6)
    save_model(model, config, tmp_path / "m")
    written = json.loads((tmp_path / "m" / "config.json").read_text())
    assert written["multicrop"] == {"crops": 3, "size": 32, "how": "random", "seed": 7, "combine": "mean-logit"}
    reloaded, cfg = load_model(tmp_path / "m")
    assert cfg.multicrop == mc and read_config(tmp_path / "m").multicrop == mc
    with torch.no_grad():
        assert torch.equal(fake_probability(reloaded(x)), fake_probability(out))
    assert ModelConfig.from_dict({**written, "multicrop": None}).multicrop is None
    model.train()
    assert model(torch.randn(4, 3, 32, 32))["binary"].shape == (4,)  # training sees single crops, no multi-crop


def test_train_native_crops_with_multicrop_cli(tmp_path: Path) -> None:
    out = tmp_path / "m"
    proc = run_cli("train", "--data", NATIVE_POOL, "--model", "cnn-small", "--out", out, "--task", "both",
                   "--image-size", "64", "--resize", "crop", "--multicrop", "4", "--crop-size", "32",
                   "--patches-per-image", "3", "--epochs", "1", "--max-samples", "40", "--batch-size", "32",
                   "--arch-args", '{"widths": [8, 16], "depths": [1, 1]}', "--jpeg-prob", "1", "--no-progress",
                   env={"OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["multicrop"]["crops"] == 4 and config["multicrop"]["size"] == 32
    assert config["preprocess"]["input_size"] == 64 and config["preprocess"]["resize"] == "crop"
    assert config["training"]["options"]["patches_per_image"] == 3
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    n = config["training"]["data"]["train"]["n"]
    assert log[0]["train_images"] == 3 * n  # three crops of every training image in the epoch
    bad = run_cli("train", "--data", NATIVE_POOL, "--model", "cnn-small", "--out", tmp_path / "bad", "--multicrop", "5",
                  "--image-size", "64", "--crop-size", "32")
    assert bad.returncode == 2 and "square number" in bad.stderr
