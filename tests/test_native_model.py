"""The shipped native-resolution model: `Detector.load("native")`, full-size images, ONNX parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED, run_cli, run_cli_json
from fakescope import Detector
from fakescope.models import read_config
from fakescope.models.preprocess import prepare
from fakescope.models.shipped import SHIPPED, resolve_model_dir

NATIVE = SHIPPED["native"].path
FULL_SIZE = SHARED / "provenance" / "c2pa" / "crater-lake.jpeg"  # a 2000 x 1500 photograph


def test_native_is_shipped_small_with_its_card_and_multicrop() -> None:
    assert resolve_model_dir("native") == NATIVE and (NATIVE / "MODEL_CARD.md").is_file()
    size = (NATIVE / "model.safetensors").stat().st_size
    default = (SHIPPED["default"].path / "model.safetensors").stat().st_size
    assert size <= 10 * 2**20 and size + default < 15 * 2**20
    config = read_config(NATIVE)
    assert config.task == "both" and len(config.generators) >= 12 and config.generators[0] == "Real"
    assert config.multicrop is not None and config.multicrop.crops > 1
    assert config.preprocess.resize == "crop"  # native pixels, never a resampled thumbnail
    data = config.training["data"]
    assert data["split"] == "train" and "test" not in json.dumps(data["selection"])
    card = (NATIVE / "MODEL_CARD.md").read_text()
    for needed in ("fakescope train", "leave-one-out", "jpeg:96", "Limitations"):
        assert needed in card


def test_models_command_lists_the_shipped_models() -> None:
    shipped = run_cli_json("models", "--json", "--shipped")
    assert {m["name"]: m["installed"] for m in shipped} == {"default": True, "native": True, "encoder": True}
    assert "native" in run_cli("models").stdout


def test_detect_full_size_image_with_native_and_default_stays_cifake() -> None:
    det = Detector.load("native")
    result = det.predict(str(FULL_SIZE))
    assert result.get("error") is None
    assert 0.0 <= result["score"] <= 1.0 and result["label"] in ("real", "fake")
    assert result["generator"] and result["generator"][0]["label"] in det.config.generators
    proc = run_cli("detect", "--model", "native", "--format", "jsonl", "--no-progress", FULL_SIZE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(proc.stdout.splitlines()[0])
    assert row["score"] == pytest.approx(result["score"], abs=1e-6)
    assert Detector.load().config.preprocess.input_size == 32  # detect's default is still the CIFAKE model


def test_onnx_agrees_with_torch_on_native_crops(tmp_path: Path) -> None:
    from fakescope.detect.onnx_backend import OnnxBackend
    from fakescope.detect.onnx_export import export_onnx
    from fakescope.inference import TorchBackend
    from fakescope.models import load_model

    report = export_onnx(NATIVE, tmp_path / "native.onnx")
    assert report["input"][1][2] == read_config(NATIVE).preprocess.input_size
    net, config = load_model(NATIVE)
    paths = [FULL_SIZE, *sorted((SHARED / "native-pool" / "SD14").glob("*"))[:3]]
    batch = np.stack([prepare(Image.open(p).convert("RGB"), config.preprocess) for p in paths])
    t_fake, t_gen = TorchBackend(net, config).run(batch)
    o_fake, o_gen = OnnxBackend(tmp_path / "native.onnx", config, threads=1).run(batch)
    assert np.abs(t_fake - o_fake).max() < 1e-4 and np.abs(t_gen - o_gen).max() < 1e-4
