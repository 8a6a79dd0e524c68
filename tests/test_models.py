"""Every registered detector: builds for every task, saves to safetensors + config.json, reloads exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import SHARED, run_cli, run_cli_json
from fakescope.models import ModelConfig, create_model, default_preprocess, list_detectors, load_model, save_model
from fakescope.models.net import fake_probability

TINY_CLIP = {"clip_config": {"embed_dim": 32, "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
                             "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}}}
# The smallest sensible instance of each registered detector, for fast tests.
EXAMPLES = {
    "spectral": ("spectral", {}, 32),
    "cnn-small": ("cnn-small", {"widths": [8, 16, 32]}, 32),
    "timm": ("timm:resnet18", {}, 64),
    "npr": ("npr", {"widths": [16, 32], "depths": [1, 1]}, 64),
    "clip-probe": ("clip-probe", TINY_CLIP, None),
    "npr-resnet": ("npr-resnet", {"layers": [1, 1]}, 64),
    "rine": ("rine", {**TINY_CLIP, "nproj": 1, "proj_dim": 8}, None),
    "encoder": ("encoder:tf_efficientnet_lite0", {}, 96),
    "encoder-ft": ("encoder-ft:tf_efficientnet_lite0", {"trainable_blocks": 1}, 96),
}


def test_examples_cover_the_registry() -> None:
    assert {s.name for s in list_detectors()} == set(EXAMPLES)


def test_models_command_lists_every_detector() -> None:
    listed = run_cli_json("models", "--json")
    names = {m["name"] for m in listed if not m.get("convertible")}
    assert names == {"spectral", "cnn-small", "timm:<name>", "npr", "clip-probe", "npr-resnet", "rine", "encoder:<name>",
                     "encoder-ft:<name>"}
    assert all(m["description"] for m in listed)
    families = {m["name"] for m in listed if m.get("convertible")}  # published checkpoints `fakescope convert` reads
    assert families == {"cnndetection", "npr", "univfd", "rine", "commfor"}
    human = run_cli("models").stdout
    assert "timm:<name>" in human and "NPR" in human and "licence: Apache-2.0" in human


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("task", ["binary", "generator", "both"])
def test_build_save_reload(name: str, task: str, tmp_path: Path) -> None:
    arch, args, size = EXAMPLES[name]
    pre = default_preprocess(arch, args, input_size=size)
    gens = ["Real", "ADM", "SD14"] if task != "binary" else []
    config = ModelConfig(architecture=arch, task=task, preprocess=pre, arch_args=args, generators=gens)
    model = create_model(config).eval()
    x = torch.randn(3, 3, pre.input_size, pre.input_size)
    with torch.no_grad():
        out = model(x)
    assert ("binary" in out) == (task != "generator")
    assert ("generator" in out) == (task != "binary")
    if "generator" in out:
        assert out["generator"].shape == (3, 3)
    save_model(model, config, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    reloaded, cfg2 = load_model(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(fake_probability(reloaded(x)), fake_probability(out))
    assert cfg2.preprocess == config.preprocess and cfg2.generators == gens


def test_preprocessing_comes_from_the_detector() -> None:
    timm_pre = default_preprocess("timm:resnet50")
    assert (timm_pre.input_size, timm_pre.interpolation, timm_pre.resize) == (224, "bicubic", "resize_crop")
    assert timm_pre.crop_pct == pytest.approx(0.95)  # from timm's own pretrained config
    assert default_preprocess("npr").resize == "crop"  # NPR must not resample
    assert default_preprocess("cnn-small").input_size == 32
    assert default_preprocess("cnn-small", input_size=48).input_size == 48


def test_inconsistent_directory_is_refused(tmp_path: Path) -> None:
    arch, args, size = EXAMPLES["cnn-small"]
    config = ModelConfig(architecture=arch, preprocess=default_preprocess(arch, args), arch_args=args)
    save_model(create_model(config), config, tmp_path / "m")
    other = ModelConfig(architecture=arch, preprocess=default_preprocess(arch, args), arch_args=args)
    save_model(create_model(other), other, tmp_path / "other")
    (tmp_path / "m" / "model.safetensors").write_bytes((tmp_path / "other" / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="does not match the checksum"):
        load_model(tmp_path / "m")


def test_pretrained_timm_weights_are_loaded(tmp_path: Path) -> None:
    import timm
    from safetensors.torch import save_file

    donor = timm.create_model("resnet18", pretrained=False, num_classes=10)
    save_file({k: v.contiguous() for k, v in donor.state_dict().items()}, str(tmp_path / "r18.safetensors"))
    config = ModelConfig(architecture="timm:resnet18", preprocess=default_preprocess("timm:resnet18"))
    model = create_model(config)
    info = model.backbone.load_pretrained(tmp_path / "r18.safetensors")
    assert info["loaded"] > 50 and info["skipped"] == 2  # fc.weight / fc.bias do not fit a headless backbone
    assert torch.equal(model.backbone.model.conv1.weight, donor.conv1.weight)
    torch.save(donor.state_dict(), tmp_path / "r18.pth")
    model2 = create_model(config)
    model2.backbone.load_pretrained(tmp_path / "r18.pth")
    assert torch.equal(model2.backbone.model.layer4[0].conv1.weight, donor.layer4[0].conv1.weight)


def test_config_json_is_plain_json(tmp_path: Path) -> None:
    config = ModelConfig(architecture="cnn-small", preprocess=default_preprocess("cnn-small"))
    save_model(create_model(config), config, tmp_path / "m")
    data = json.loads((tmp_path / "m" / "config.json").read_text())
    assert data["architecture"] == "cnn-small"
    assert data["preprocess"]["mean"] == [0.5, 0.5, 0.5]
    assert len(data["card"]["weights_sha256"]) == 64


def test_cnn_small_space_to_depth_stem(tmp_path: Path) -> None:
    """The s2d stem is lossless (PixelUnshuffle), saves and reloads from config.json, and needs an even size."""
    from fakescope.errors import UserError

    args = {"stem": "s2d", "widths": [8, 16, 32]}
    config = ModelConfig(architecture="cnn-small", preprocess=default_preprocess("cnn-small", args), arch_args=args)
    model = create_model(config).eval()
    unshuffle = model.backbone.stem[0]
    x = torch.randn(2, 3, 32, 32)
    assert isinstance(unshuffle, torch.nn.PixelUnshuffle)
    assert torch.equal(torch.nn.functional.pixel_shuffle(unshuffle(x), 2), x)  # no pixel is dropped
    save_model(model, config, tmp_path / "m")
    reloaded, _ = load_model(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(reloaded(x)["binary"], model(x)["binary"])
    odd = ModelConfig(architecture="cnn-small", preprocess=default_preprocess("cnn-small", args, input_size=33), arch_args=args)
    with pytest.raises(UserError, match="even input size"):
        create_model(odd)
    with pytest.raises(ValueError, match="stem must be one of"):
        create_model(ModelConfig(architecture="cnn-small", arch_args={"stem": "pool"}))


def test_flip_test_time_augmentation(cifake_cnn: Path, tmp_path: Path) -> None:
    """config "tta": ["hflip"] averages the logits of each image and its mirror in eval mode only."""
    import shutil

    from fakescope import Detector
    from fakescope.errors import UserError
    from fakescope.models import read_config
    from fakescope.models.preprocess import prepare, to_input
    from fakescope.data import open_source

    plain, config = load_model(cifake_cnn)
    tta_dir = tmp_path / "tta"
    shutil.copytree(cifake_cnn, tta_dir, ignore=shutil.ignore_patterns("checkpoint", "best"))
    data = json.loads((tta_dir / "config.json").read_text())
    data["tta"] = ["hflip"]
    (tta_dir / "config.json").write_text(json.dumps(data))
    model, tta_config = load_model(tta_dir)
    assert tta_config.tta == ["hflip"] and read_config(cifake_cnn).tta == []

    images = [s.image() for s, _ in zip(open_source(str(SHARED / "cifake"), "test"), range(8))]
    x = to_input([prepare(im, config.preprocess) for im in images], config.preprocess)
    with torch.no_grad():
        expected = (plain(x)["binary"] + plain(torch.flip(x, dims=[3]))["binary"]) / 2
        got = model(x)["binary"]
        assert torch.allclose(got, expected, atol=1e-5)
        assert torch.allclose(model(torch.flip(x, dims=[3]))["binary"], got, atol=1e-5)  # mirror-invariant
        assert not torch.allclose(got, plain(x)["binary"], atol=1e-4)  # the views do differ
        model.train()  # training: one view (the batch size proves it)
        assert model(x)["binary"].shape == (8,)
    # every inference path sees it: the detector reports it and scores with it
    det = Detector.load(tta_dir)
    assert det.info()["tta"] == ["hflip"]
    scores = [r["score"] for r in det.predict(images)]
    assert scores == pytest.approx(torch.sigmoid(expected).tolist(), abs=1e-5)
    with pytest.raises(UserError, match="unknown test-time augmentation"):
        ModelConfig(architecture="cnn-small", tta=["rotate90"])
