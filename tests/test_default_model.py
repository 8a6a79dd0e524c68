"""The shipped default model: loaded with no arguments (first model of the shipped pipeline), used by
detect and serve, with an honest card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import SHARED, run_cli, run_cli_json
from fakescope.detect.runner import default_model_dir
from fakescope.models.io import file_sha256

MAX_PACKAGE_BYTES = 10 * 2**20


@pytest.fixture(scope="module")
def shipped() -> Path:
    path = default_model_dir()
    assert (path / "model.safetensors").is_file(), "the package ships no default model"
    return path


def test_directory_is_small_consistent_and_carded(shipped: Path) -> None:
    total = sum(f.stat().st_size for f in shipped.rglob("*") if f.is_file())
    assert total < MAX_PACKAGE_BYTES
    config = json.loads((shipped / "config.json").read_text())
    card = config["card"]
    assert card["weights_sha256"] == file_sha256(shipped / "model.safetensors")
    clean = card["metrics"]["cifake_test"]["conditions"]["clean"]
    assert clean["n"] > 9000 and 0.5 < clean["accuracy"] <= 1 and 0.5 < clean["auroc"] <= 1
    assert {"jpeg:75", "jpeg:30", "resize:64", "blur:3"} <= set(card["metrics"]["cifake_test"]["conditions"])
    text = (shipped / "MODEL_CARD.md").read_text()
    assert f"{100 * clean['accuracy']:.2f}" in text and card["weights_sha256"] in text
    assert "fakescope train" in text and "Limitations" in text


def test_detector_load_without_arguments_scores_cifake(shipped: Path) -> None:
    from fakescope import Detector

    det = Detector.load()
    assert det.info()["version"] == file_sha256(shipped / "model.safetensors")[:12]
    real = sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[:100]
    fake = sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[:100]
    results = det.predict(real + fake)
    correct = sum(r["label"] == "real" for r in results[:100]) + sum(r["label"] == "fake" for r in results[100:])
    # the card reports ~97-98 % on the full split; 200 images leave room for sampling noise only
    assert correct >= 180, correct
    # the verdicts: CIFAKE is the default model's own world, so it answers most, and rarely wrongly
    truth = ["real"] * 100 + ["fake"] * 100
    answered = [(r["verdict"], t) for r, t in zip(results, truth) if r["verdict"] != "uncertain"]
    assert len(answered) >= 150 and sum(v != t for v, t in answered) <= 6, answered


def test_detect_cli_uses_it_and_says_which_model_and_input_size(shipped: Path, tmp_path: Path) -> None:
    """A large photograph, far from CIFAKE's 32 px world: the raw score names its model, and the
    CIFAKE model does not answer for it once it knows its domain."""
    big = tmp_path / "photo.png"
    src = next((SHARED / "cnndetection_ranking").rglob("*.jpg"))
    Image.open(src).convert("RGB").resize((1200, 900)).save(big)
    doc = run_cli_json("detect", big, "--format", "json", "--no-progress")
    (row,) = doc["results"]
    config = json.loads((shipped / "config.json").read_text())
    assert row["error"] is None and row["label"] in ("real", "fake") and 0 <= row["score"] <= 1
    assert row["verdict"] in ("fake", "real", "uncertain") and row["reason"]
    if config.get("domain"):  # calibrated (fakescope calibrate): 1200 px is outside its 32-px domain
        assert row["answered_by"] != f"model:{config['name']}@{config['card']['weights_sha256'][:12]}", row
    model = doc["model"]
    assert (model["name"], model["version"]) == (config["name"], config["card"]["weights_sha256"][:12])
    assert model["input_size"] == config["preprocess"]["input_size"] == 32



def test_serve_without_model_serves_it_with_its_card(shipped: Path) -> None:
    import httpx

    from fakescope.testing.server import ServerProcess

    config = json.loads((shipped / "config.json").read_text())
    image = sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[0]
    with ServerProcess(["--no-access-log"], env={"FAKESCOPE_MODEL": ""}) as server:
        info = httpx.get(server.url + "/v1/model", timeout=30).json()
        with image.open("rb") as fh:
            answer = httpx.post(server.url + "/v1/detect", files={"file": (image.name, fh, "image/jpeg")}, timeout=60)
    assert info["version"] == config["card"]["weights_sha256"][:12] and info["input_size"] == 32
    assert info["metrics"]["cifake_test"]["conditions"]["clean"]["accuracy"] == \
        config["card"]["metrics"]["cifake_test"]["conditions"]["clean"]["accuracy"]
    assert answer.status_code == 200, answer.text
    result = answer.json()["results"][0]
    assert result["label"] in ("real", "fake") and result["verdict"] in ("fake", "real", "uncertain")
    assert info["pipeline"]["name"] == "fakescope-default"
