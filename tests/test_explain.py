"""Explanations: Grad-CAM / saliency heatmaps from the API, and `fakescope detect --explain OUTDIR`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED, run_cli
from fakescope.detect.explain import explain
from fakescope.detect.explain_files import explanation_stem
from fakescope.models import load_model

CIFAKE_FAKE = SHARED / "cifake" / "test" / "FAKE"
GENIMAGE = SHARED / "genimage-tree"


def test_gradcam_of_a_cnn(cifake_cnn: Path) -> None:
    from fakescope import Detector

    model, config = load_model(cifake_cnn)
    det = Detector.load(cifake_cnn)
    for path in sorted(CIFAKE_FAKE.glob("*.jpg"))[:3]:
        ex = explain(model, config, Image.open(path).convert("RGB"))
        assert ex.kind == "gradcam" and ex.heatmap.shape == (32, 32) and ex.heatmap.dtype == np.float32
        assert ex.heatmap.min() == 0.0 and ex.heatmap.max() == pytest.approx(1.0)
        assert ex.heatmap.std() > 0.05  # regions, not a constant map
        assert ex.overlay.size == (256, 256) and ex.view.size == (32, 32) and ex.spectrum is None
        assert ex.score == pytest.approx(det.predict(path)["score"], abs=1e-5)  # the verdict it explains
    assert not model.training  # explaining leaves the model as it found it


def test_saliency_and_spectrum_of_the_spectral_detector(genimage_both: Path) -> None:
    model, config = load_model(genimage_both)
    image = Image.open(sorted(GENIMAGE.rglob("*.jpg"))[0]).convert("RGB")
    ex = explain(model, config, image)
    assert ex.kind == "saliency" and ex.heatmap.shape == (128, 128) and ex.heatmap.std() > 0.05
    assert ex.spectrum is not None and ex.spectrum.size == (256, 256)
    spectrum = np.asarray(ex.spectrum, dtype=np.float32)
    assert spectrum.std() > 10  # a real spectrum image, not a flat colour


def test_explanation_names_are_safe_and_unique() -> None:
    names = ["a/b/img.jpg", "a_b/img.jpg", "a/b_img.jpg", "../../etc/passwd", "C:\\x\\y.png", "ü n i c ö d e.jpg",
             "x" * 500 + ".jpg", "data/test.parquet#row=5 (test/FAKE/0 (2).jpg)", ".hidden.png", "/", "a" + "-" * 99]
    stems = [explanation_stem(n) for n in names]
    assert len(set(stems)) == len(names)
    for stem in stems:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}", stem), stem
        assert len(stem) <= 89  # 80 readable characters, '-', 8 hex digits
    assert explanation_stem("a/b/img.jpg") == explanation_stem("a/b/img.jpg")  # stable across runs


def test_detect_explain_writes_overlays_and_an_index(cifake_cnn: Path, awkward_folder: Path, tmp_path: Path) -> None:
    # two inputs with the same file name in different folders must not overwrite each other
    twin = tmp_path / "twin" / "0_real"
    twin.mkdir(parents=True)
    shutil.copy(sorted(CIFAKE_FAKE.glob("*.jpg"))[0], twin / "good_0.jpg")
    out = tmp_path / "explained"
    proc = run_cli("detect", "--model", cifake_cnn, "-f", "jsonl", "--explain", out, "--no-progress",
                   awkward_folder / "0_real", twin / "good_0.jpg")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    index = json.loads((out / "index.json").read_text())
    assert index["model"]["architecture"] == "cnn-small"
    scored = [r for r in rows if r["error"] is None]
    assert len(index["items"]) == len(scored) and len(scored) >= 10
    assert [i["path"] for i in index["items"]] == [r["path"] for r in scored]
    overlays = set()
    for row, item in zip(scored, index["items"]):
        assert item["kind"] == "gradcam" and item["score"] == row["score"]
        png = out / item["overlay"]
        assert row["explanation"]["overlay"] == str(png)
        with Image.open(png) as im:
            assert im.format == "PNG" and im.size == (256, 256)
            assert np.asarray(im.convert("L"), dtype=np.float32).std() > 5
        overlays.add(item["overlay"])
    assert len(overlays) == len(scored)  # one file each, twins included
    assert all("explanation" not in r for r in rows if r["error"] is not None)  # bad files: nothing to explain
    assert sorted(p.name for p in out.iterdir()) == sorted(overlays | {"index.json"})


def test_detect_explain_spectrum_with_the_onnx_backend(genimage_both: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(genimage_both, model_dir)
    out = tmp_path / "explained"
    images = sorted(GENIMAGE.rglob("*.jpg"))[:2]
    proc = run_cli("detect", "--model", model_dir, "--backend", "onnx", "-f", "json", "--explain", out, *images)
    assert proc.returncode == 0, proc.stderr[-2000:]
    items = json.loads((out / "index.json").read_text())["items"]
    assert [i["kind"] for i in items] == ["saliency", "saliency"]
    for item in items:
        assert (out / item["overlay"]).is_file() and (out / item["spectrum"]).is_file()
        assert item["spectrum"].endswith(".spectrum.png")
    results = json.loads(proc.stdout)["results"]
    assert all(r["explanation"]["spectrum"].endswith(".spectrum.png") for r in results)
