"""`from fakescope import Detector`: every input kind, bad inputs, batching, the result shape, info().

`Detector.load(DIR)` runs that one model inside the verdict pipeline (evidence, the model with its
domain check and operating point, fallback); these tests check the raw model fields (label, score,
generator) it keeps, and that the pipeline's fields are there; tests/test_verdict_pipeline.py
checks the verdicts themselves.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED
from trainhelpers import saved_val_scores
from fakescope.data import open_source
from fakescope.metrics import binary_metrics
from fakescope.models.io import file_sha256
from fakescope.testing.badfiles import BAD_EXPECTED, ODD_EXPECTED_SIZE

CIFAKE_TEST = SHARED / "cifake" / "test"
RESULT_KEYS = {"label", "score", "generator", "error", "verdict", "reason", "answered_by", "evidence", "width", "height"}


def cifake_files(n: int) -> list[Path]:
    """n/2 real then n/2 fake CIFAKE test images (32x32 JPEG)."""
    real = sorted((CIFAKE_TEST / "REAL").glob("*.jpg"))[: n // 2]
    fake = sorted((CIFAKE_TEST / "FAKE").glob("*.jpg"))[: n - n // 2]
    return real + fake


@pytest.fixture(scope="module")
def det(cifake_cnn: Path):
    from fakescope import Detector

    return Detector.load(cifake_cnn)


@pytest.fixture(scope="module")
def det_both(genimage_both: Path):
    from fakescope import Detector

    return Detector.load(genimage_both)


def test_every_input_kind_gives_the_same_verdict(det) -> None:
    path = cifake_files(1)[0]
    data = path.read_bytes()
    pil = Image.open(path)
    arr = np.asarray(pil.convert("RGB"))
    sample = next(s for s in open_source(SHARED / "cifake", split="test") if s.path == str(path))
    inputs = {
        "str": str(path), "Path": path, "bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(data),
        "PIL": pil, "PIL-RGB": pil.convert("RGB"), "uint8": arr, "float01": arr.astype(np.float32) / 255.0,
        "Sample": sample,
    }
    results = {name: det.predict(x) for name, x in inputs.items()}
    ref = results["str"]
    assert set(ref) == RESULT_KEYS and ref["generator"] is None and ref["error"] is None
    assert 0.0 <= ref["score"] <= 1.0 and ref["label"] == ("fake" if ref["score"] >= det.threshold else "real")
    assert ref["verdict"] in ("fake", "real", "uncertain") and ref["reason"] and ref["evidence"] == []
    assert (ref["width"], ref["height"]) == (32, 32)
    for name, r in results.items():
        assert r["score"] == pytest.approx(ref["score"], abs=1e-6), name
        assert r["label"] == ref["label"], name
        assert r["verdict"] == ref["verdict"] and r["answered_by"] == ref["answered_by"], name
    # a list of mixed kinds returns one result per input, in order
    mixed = det.predict(list(inputs.values()))
    assert isinstance(mixed, list) and len(mixed) == len(inputs)
    assert [m["score"] for m in mixed] == pytest.approx([r["score"] for r in results.values()], abs=1e-6)


def test_grayscale_and_rgba_arrays_are_converted(det) -> None:
    arr = np.asarray(Image.open(cifake_files(1)[0]).convert("RGB"))
    gray = arr.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([arr, np.full(arr.shape[:2], 255, np.uint8)])
    r_gray, r_rgba, r_rgb = det.predict([gray, gray[:, :, None], rgba]), det.predict(arr), det.predict(arr)
    assert all(r.get("error") is None for r in r_gray)
    assert r_gray[0]["score"] == pytest.approx(r_gray[1]["score"], abs=1e-7)
    assert r_rgba["score"] == pytest.approx(r_rgb["score"], abs=1e-7)  # opaque alpha changes nothing


def test_batching_equals_one_by_one(det) -> None:
    files = cifake_files(12)
    one_by_one = [det.predict(f)["score"] for f in files]
    for batch_size in (1, 5, 64):
        batched = [r["score"] for r in det.predict(files, batch_size=batch_size)]
        assert batched == pytest.approx(one_by_one, abs=1e-5), batch_size


def test_scores_equal_the_trainers_own_validation_scores(det, cifake_cnn: Path) -> None:
    """The Detector preprocesses exactly as training did: same scores for the same validation images."""
    saved = saved_val_scores(cifake_cnn)
    samples = [s for s in open_source(SHARED / "cifake", split="train") if s.key in saved][:40]
    assert len(samples) == 40
    results = det.predict(samples, batch_size=16)
    assert [r["score"] for r in results] == pytest.approx([saved[s.key][1] for s in samples], abs=1e-5)


def test_a_real_model_separates_real_from_fake(cifake_spectral: Path) -> None:
    from fakescope import Detector

    files = cifake_files(200)
    scores = [r["score"] for r in Detector.load(cifake_spectral).predict(files)]
    m = binary_metrics([0] * 100 + [1] * 100, scores, 0.5)
    assert m["auroc"] > 0.8, m  # held-out CIFAKE test images


def test_bad_inputs_give_error_entries_in_order(det, awkward_folder: Path) -> None:
    bad = [awkward_folder / "0_real" / name for name in BAD_EXPECTED]
    good = awkward_folder / "0_real" / "good_0.jpg"
    inputs = [good, *bad, awkward_folder, SHARED / "no_such_file.jpg", b"", b"GIF89a-not-really", 42,
              np.zeros((4, 4, 7), np.uint8), np.full((8, 8, 3), np.nan), good]
    results = det.predict(inputs, batch_size=3)
    assert len(results) == len(inputs)
    assert results[0].get("error") is None and results[-1]["score"] == pytest.approx(results[0]["score"], abs=1e-6)
    for r, (name, fragment) in zip(results[1:], BAD_EXPECTED.items()):
        assert {k: r[k] for k in ("label", "score", "generator", "verdict", "answered_by")} == dict.fromkeys(
            ("label", "score", "generator", "verdict", "answered_by")), name
        assert r["reason"] == r["error"], name
        assert fragment in r["error"], (name, r["error"])
    reasons = [r["error"] for r in results[1 + len(bad): -1]]
    assert reasons[0] == "is a directory"
    assert reasons[1] == "file not found"
    assert "empty" in reasons[2]
    assert "not a recognised image format" in reasons[3]
    assert "unsupported input type int" in reasons[4]
    assert "not an image" in reasons[5]
    assert "non-finite" in reasons[6]


def test_awkward_but_valid_files_are_scored(det, awkward_folder: Path) -> None:
    names = sorted(ODD_EXPECTED_SIZE)
    results = det.predict([awkward_folder / "0_real" / n for n in names])
    for name, r in zip(names, results):
        assert r.get("error") is None and 0.0 <= r["score"] <= 1.0, (name, r)


@pytest.mark.parametrize("workers", [0, 2])
def test_iter_predict_streams_with_bounded_read_ahead(det, workers: int) -> None:
    """A generator input is consumed batch by batch: results come long before the input ends."""
    consumed = []

    def endless():
        for path in itertools.cycle(cifake_files(4)):
            consumed.append(path)
            yield path

    stream = det.iter_predict(endless(), batch_size=2, workers=workers)
    first = [next(stream) for _ in range(3)]
    stream.close()
    # in the calling thread: two batches of two; with threads: at most two batches in flight more
    assert len(consumed) <= (4 if workers == 0 else 4 + 2 * 2 + 2), len(consumed)
    assert [str(item) for item, _ in first] == [str(p) for p in consumed[:3]]
    assert all(set(r) == RESULT_KEYS for _, r in first)


def test_threads_change_nothing_but_speed(det, awkward_folder: Path) -> None:
    items = sorted((awkward_folder / "0_real").iterdir()) + sorted((awkward_folder / "1_fake").iterdir())
    plain = [r for _, r in det.iter_predict(items, batch_size=4, workers=0)]
    threaded = [r for _, r in det.iter_predict(items, batch_size=4, workers=3)]
    assert [r.get("error") for r in threaded] == [r.get("error") for r in plain]
    assert [r["score"] for r in threaded] == pytest.approx([r["score"] for r in plain], abs=1e-5)


def test_an_input_that_fails_midway_raises_in_the_caller(det) -> None:
    def broken():
        yield cifake_files(1)[0]
        raise RuntimeError("the listing failed")

    for workers in (0, 2):
        with pytest.raises(RuntimeError, match="the listing failed"):
            list(det.iter_predict(broken(), workers=workers))


def test_threshold_and_top_k(det, det_both) -> None:
    files = cifake_files(6)
    scores = [r["score"] for r in det.predict(files)]
    mid = float(np.median(scores))
    labels = [r["label"] for r in det.predict(files, threshold=mid)]
    assert labels == ["fake" if s >= mid else "real" for s in scores]
    assert {r["label"] for r in det.predict(files, threshold=0.0)} == {"fake"}

    images = sorted((SHARED / "genimage-tree").rglob("*.jpg"))[::40]
    assert len(images) >= 4
    for r in det_both.predict(images, top_k=4):
        gens = r["generator"]
        assert len(gens) == 4 and set(gens[0]) == {"label", "score"}
        assert [g["score"] for g in gens] == sorted((g["score"] for g in gens), reverse=True)
        assert {g["label"] for g in gens} <= set(det_both.config.generators)
        assert sum(g["score"] for g in gens) <= 1.0 + 1e-6
    full = det_both.predict(images[0], top_k=100)["generator"]
    assert len(full) == len(det_both.config.generators)
    assert sum(g["score"] for g in full) == pytest.approx(1.0, abs=1e-5)


def test_info_describes_the_model(det, cifake_cnn: Path) -> None:
    info = det.info()
    config = json.loads((cifake_cnn / "config.json").read_text())
    assert info["architecture"] == "cnn-small" and info["task"] == "binary"
    assert info["version"] == file_sha256(cifake_cnn / "model.safetensors")[:12]
    assert info["input_size"] == 32 and info["preprocess"]["resize"] == config["preprocess"]["resize"]
    assert info["labels"] == ["real", "fake"] and info["generators"] == []
    assert info["threshold"] == det.threshold == 0.5
    assert info["metrics"] == config["metrics"] and "validation" in info["metrics"]
    assert info["backend"] == "TorchBackend"
    json.dumps(info)  # JSON-serialisable as it is (the service returns it)
    assert "cnn-small" in repr(det) and "32px" in repr(det)


def test_load_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cifake_cnn: Path) -> None:
    from fakescope import Detector

    monkeypatch.setenv("FAKESCOPE_MODEL", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="FAKESCOPE_MODEL=.*missing is not a model directory"):
        Detector.load()
    monkeypatch.delenv("FAKESCOPE_MODEL")
    with pytest.raises(FileNotFoundError, match="not a model directory"):
        Detector.load(tmp_path)
    with pytest.raises(KeyError, match="unknown backend 'tensorrt'.*onnx.*torch"):
        Detector.load(cifake_cnn, backend="tensorrt")


def test_pil_images_of_every_mode(det) -> None:
    base = Image.open(cifake_files(1)[0]).convert("RGB")
    modes = ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1", "YCbCr"]
    results = det.predict([base.convert(m) for m in modes])
    for mode, r in zip(modes, results):
        assert r.get("error") is None and 0.0 <= r["score"] <= 1.0, (mode, r)
    assert results[1]["score"] == pytest.approx(results[0]["score"], abs=1e-6)  # opaque RGBA == RGB


def test_encoded_bytes_of_each_format(det) -> None:
    base = Image.open(cifake_files(1)[0]).convert("RGB")
    encoded = {}
    for fmt in ("PNG", "BMP", "TIFF", "PPM", "TGA", "WEBP", "GIF", "JPEG"):
        buf = io.BytesIO()
        base.save(buf, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        encoded[fmt] = buf.getvalue()
    results = dict(zip(encoded, det.predict(list(encoded.values()))))
    assert all(r.get("error") is None for r in results.values()), results
    lossless = [results[f]["score"] for f in ("PNG", "BMP", "TIFF", "PPM", "TGA", "WEBP")]
    assert lossless == pytest.approx([lossless[0]] * len(lossless), abs=1e-6)  # same pixels, same score
