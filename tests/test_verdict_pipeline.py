"""The verdict pipeline on real images: every branch of the rules (fakescope.verdict.rules).

A model trained in the tests on CIFAKE (32 px) and calibrated with `fakescope calibrate` (its
domain, OOD statistics and operating point) runs behind the evidence stage, from a pipeline file
written here. Branches: (a) a file that declares itself AI-generated (Adobe Firefly's C2PA
manifest; ComfyUI's generation record) is fake by its evidence, a UI screenshot carrying a workflow
is not, nor is a human edit with Content Credentials; (b) an in-domain CIFAKE image is answered by
the model at its operating point; (c) a large photograph outside the model's domain, and a CIFAKE
image whose score falls between the two thresholds, are uncertain, with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest

from conftest import SHARED, run_cli
from fakescope.errors import UserError
from fakescope.testing.server import ServerProcess

PROVENANCE = SHARED / "provenance"
FIREFLY = PROVENANCE / "c2pa" / "Firefly_tabby_cat.jpg"
OCSP = PROVENANCE / "c2pa" / "ocsp.jpg"  # a Photoshop composite with a Firefly ingredient: AI-edited
HUMAN_EDIT = PROVENANCE / "c2pa" / "car-es-Ps-Cr.jpg"
CRATER = PROVENANCE / "c2pa" / "crater-lake.jpeg"
SDXL = PROVENANCE / "comfyui" / "sdxl__sdxl_simple_example.png"
SCREENSHOT = PROVENANCE / "comfyui" / "lora__lora.png"
CIFAKE_TEST = SHARED / "cifake" / "test"


def cifake_files(n: int) -> list[Path]:
    real = sorted((CIFAKE_TEST / "REAL").glob("*.jpg"))[: n // 2]
    fake = sorted((CIFAKE_TEST / "FAKE").glob("*.jpg"))[: n - n // 2]
    return real + fake


@pytest.fixture(scope="module")
def calibrated(cifake_cnn: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibrated") / "cifake-calibrated"
    shutil.copytree(cifake_cnn, out)
    proc = run_cli("calibrate", out, "--data", SHARED / "cifake", "--fit-samples", "600")
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["domain"] and config["operating_point"]
    return out


@pytest.fixture(scope="module")
def pipeline_file(calibrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "pipeline.json"
    path.write_text(json.dumps({"name": "test-pipeline", "stages": [
        {"stage": "evidence"}, {"stage": "models", "models": [{"model": str(calibrated)}]}, {"stage": "fallback"}]}))
    return path


@pytest.fixture(scope="module")
def det(pipeline_file: Path):
    from fakescope import Detector

    return Detector.load(pipeline=pipeline_file)


def model_id(det) -> str:
    return det.pipeline.models[0].name_version


def thresholds(calibrated: Path) -> tuple[float, float]:
    op = json.loads((calibrated / "config.json").read_text())["operating_point"]
    return op["real_below"], op["fake_at"]


# ---------------------------------------------------------------- (a) evidence

def test_a_file_that_declares_itself_generated_is_fake_by_its_evidence(det) -> None:
    firefly, edited = det.predict([FIREFLY, OCSP])
    assert firefly["verdict"] == "fake" and firefly["answered_by"] == "evidence:c2pa"
    assert firefly["reason"].startswith("The file declares itself generated") and "Adobe" in firefly["reason"]
    c2pa = [i for i in firefly["evidence"] if i["source"] == "c2pa" and i["claim"] == "generated"]
    assert c2pa and "Adobe" in c2pa[0]["signer"] and c2pa[0]["validation"]
    # the model has no generator head: the generator the evidence names fills the field
    assert firefly["generator"] == [{"label": c2pa[0]["generator"], "score": None, "source": "evidence"}]
    # the model still looked (its raw output is kept beside the verdict)
    assert firefly["label"] in ("real", "fake") and 0.0 <= firefly["score"] <= 1.0
    assert edited["verdict"] == "fake" and edited["answered_by"] == "evidence:c2pa"
    assert edited["reason"].startswith("The file declares itself AI-edited")


def test_a_generation_record_makes_a_file_fake_but_a_screenshot_of_the_workflow_does_not(det) -> None:
    sdxl, screenshot = det.predict([SDXL, SCREENSHOT])
    assert sdxl["verdict"] == "fake" and sdxl["answered_by"] == "evidence:comfyui", sdxl["reason"]
    assert "SDXL" in sdxl["generator"][0]["label"]
    assert not (screenshot["answered_by"] or "").startswith("evidence:"), screenshot
    assert any(i["claim"] == "workflow-only" for i in screenshot["evidence"]), screenshot["evidence"]
    # 2153 x 788 px: outside the 32-px model's domain too, so nobody answers
    assert screenshot["verdict"] == "uncertain" and "outside the domain" in screenshot["reason"]


def test_evidence_never_makes_an_image_real(det) -> None:
    """A human edit with Content Credentials declares no AI, and that proves nothing either way."""
    r = det.predict(HUMAN_EDIT)
    assert any(i["source"] == "c2pa" and i["claim"] == "edited" for i in r["evidence"]), r["evidence"]
    assert not (r["answered_by"] or "").startswith("evidence:")
    assert r["verdict"] == "uncertain" and "makes no AI claim" in r["reason"], r["reason"]


# ---------------------------------------------------------------- (b) a model inside its domain

def test_cifake_images_are_answered_by_the_model_at_its_operating_point(det, calibrated: Path) -> None:
    real_below, fake_at = thresholds(calibrated)
    files = cifake_files(40)
    results = det.predict(files)
    answered = [r for r in results if r["verdict"] != "uncertain"]
    # a weak 2-epoch test model at 1 % FPR answers a fraction; each answer must follow its operating point
    assert len(answered) >= len(files) // 10, [r["reason"] for r in results]
    for r in results:
        assert r["evidence"] == [] and r["error"] is None
        if r["verdict"] == "uncertain":
            assert real_below <= r["score"] < fake_at and "between the thresholds" in r["reason"], r
            continue
        assert r["answered_by"] == f"model:{model_id(det)}" and "inside this model's domain" in r["reason"]
        assert r["verdict"] == ("fake" if r["score"] >= fake_at else "real"), r
        assert r["verdict"] == "fake" or r["score"] < real_below


# ---------------------------------------------------------------- (c) uncertain, with the reason

def test_a_large_photograph_is_outside_the_cifake_models_domain(det) -> None:
    r = det.predict(CRATER)
    assert r["verdict"] == "uncertain" and r["answered_by"] is None
    assert "outside the domain of every model" in r["reason"] and model_id(det) in r["reason"]
    assert r["score"] is not None and r["label"] in ("real", "fake")  # the raw score is still reported
    assert (r["width"], r["height"]) != (32, 32)


def test_an_image_between_the_thresholds_is_uncertain(det, calibrated: Path) -> None:
    from fakescope.detect.runner import ModelRunner

    real_below, fake_at = thresholds(calibrated)
    assert real_below < fake_at, "this calibration leaves no band between the thresholds"
    files = cifake_files(400)
    raw = ModelRunner.load(calibrated).predict(files)
    between = [f for f, r in zip(files, raw) if real_below <= r["score"] < fake_at]
    assert between, "no CIFAKE test image scores between the thresholds"
    r = det.predict(between[0])
    assert r["verdict"] == "uncertain" and r["answered_by"] is None
    assert "between the thresholds" in r["reason"] and model_id(det) in r["reason"]


def test_a_declared_camera_capture_against_a_model_saying_fake_is_uncertain(det) -> None:
    """Conflicting evidence. The fixture is a real CIFAKE fake the model calls fake, re-encoded as
    JPEG 90 once without and once with an XMP packet declaring IPTC DigitalSourceType digitalCapture
    (the declaration a camera app writes), written with Pillow's XMP writer as
    fakescope.testing.evidence_files does: same pixels, one file claims to be a photograph."""
    from PIL import Image

    from fakescope.testing import evidence_files as E

    capture = (f'<rdf:Description rdf:about="" {E.NS} Iptc4xmpExt:DigitalSourceType='
               '"http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"/>')
    for path in sorted((CIFAKE_TEST / "FAKE").glob("*.jpg"))[:40]:
        im = Image.open(path).convert("RGB")
        plain = det.predict(E.encode(im, "JPEG", quality=90))
        if plain["verdict"] == "fake":
            break
    else:
        pytest.fail("the model calls none of 40 CIFAKE fakes fake")
    assert plain["answered_by"] == f"model:{model_id(det)}"
    declared = det.predict(E.xmp_jpeg(capture, im))
    assert declared["score"] == pytest.approx(plain["score"], abs=1e-6)  # same pixels
    assert [(i["source"], i["claim"]) for i in declared["evidence"]] == [("iptc", "captured")]
    assert declared["verdict"] == "uncertain" and declared["answered_by"] is None
    assert declared["reason"].startswith("Conflicting evidence: the file's iptc record declares a camera capture")
    assert model_id(det) in declared["reason"]


# ---------------------------------------------------------------- pipeline files

def test_the_shipped_pipeline_is_the_default(tmp_path: Path) -> None:
    from fakescope import Detector
    from fakescope.verdict.pipeline import DEFAULT_PIPELINE

    det = Detector.load()
    described = det.info()["pipeline"]
    assert described["file"] == str(DEFAULT_PIPELINE)
    assert [s["stage"] for s in described["stages"]] == ["evidence", "models", "fallback"]
    shipped = json.loads(DEFAULT_PIPELINE.read_text())["stages"][1]["models"]
    listed = [m["model"] for m in described["stages"][1]["models"]] + [s["model"] for s in described["stages"][1]["skipped"]]
    assert len(listed) == len(shipped)
    r = det.predict(FIREFLY)
    assert r["verdict"] == "fake" and r["answered_by"] == "evidence:c2pa"


def test_pipeline_files_are_checked(tmp_path: Path, calibrated: Path) -> None:
    from fakescope.verdict.pipeline import Pipeline

    def load(spec, name="p.json"):
        path = tmp_path / name
        path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
        return Pipeline.load(path)

    with pytest.raises(UserError, match="unknown pipeline stage 'vibes'"):
        load({"stages": [{"stage": "vibes"}, {"stage": "fallback"}]})
    with pytest.raises(UserError, match="stage 'evidence': got an unexpected keyword argument 'watermark'"):
        load({"stages": [{"stage": "evidence", "watermark": True}, {"stage": "fallback"}]})  # misspelt
    with pytest.raises(UserError, match="stage 'models': missing a required argument: 'models'"):
        load({"stages": [{"stage": "models"}, {"stage": "fallback"}]})
    with pytest.raises(UserError, match="last stage must be 'fallback'"):
        load({"stages": [{"stage": "evidence"}]})
    with pytest.raises(UserError, match="non-empty list of 'stages'"):
        load({"stages": []})
    with pytest.raises(UserError, match="not a valid pipeline file"):
        load("{not json")
    with pytest.raises(UserError, match="'gone': .*/gone is not a model directory"):
        load({"stages": [{"stage": "models", "models": [{"model": "gone"}]}, {"stage": "fallback"}]})
    skipping = load({"stages": [{"stage": "models", "models": [{"model": "gone", "if_missing": "skip"},
                                                                {"model": str(calibrated)}]}, {"stage": "fallback"}]})
    assert skipping.describe()["stages"][0]["skipped"] == [{"model": "gone", "why": "not installed"}]
    # relative model paths are relative to the pipeline file; TOML works as JSON does
    shutil.copytree(calibrated, tmp_path / "mine")
    toml = load('name = "toml"\n[[stages]]\nstage = "models"\nmodels = [{model = "mine"}]\n[[stages]]\nstage = "fallback"\n',
                "p.toml")
    assert toml.name == "toml" and toml.models[0].model_dir == tmp_path / "mine"


# ---------------------------------------------------------------- surfaces: CLI and service

def test_detect_cli_leads_with_verdicts_and_reasons(pipeline_file: Path, calibrated: Path) -> None:
    proc = run_cli("detect", "--pipeline", pipeline_file, "--no-progress", FIREFLY, CRATER)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("pipeline test-pipeline: evidence -> models ")
    assert lines[2].split()[0] == "fake" and lines[2].endswith(str(FIREFLY))
    assert lines[3].strip().startswith("The file declares itself generated") and lines[3].endswith("[evidence:c2pa]")
    assert lines[4].split()[0] == "uncertain" and "outside the domain of every model" in lines[5]
    assert lines[-1].startswith("2 image(s): 1 fake, 0 real, 1 uncertain, 0 error(s)")

    proc = run_cli("detect", "--pipeline", pipeline_file, "--format", "csv", "--no-progress", "--watermarks", FIREFLY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = csv.DictReader(io.StringIO(proc.stdout))
    assert (row["verdict"], row["answered_by"], row["pipeline"]) == ("fake", "evidence:c2pa", "test-pipeline")
    assert "c2pa:generated" in row["evidence"] and row["generator_score"] == ""

    doc = json.loads(run_cli("detect", "--pipeline", pipeline_file, "--format", "json", "--watermarks", FIREFLY).stdout)
    assert doc["model"]["pipeline"]["stages"][0] == {"stage": "evidence", "watermarks": True, "c2pa_trust": False}

    proc = run_cli("detect", "--model", calibrated, "--pipeline", pipeline_file, FIREFLY)
    assert proc.returncode == 2 and "give one of them" in proc.stderr


def test_the_service_returns_verdicts_and_describes_its_pipeline(pipeline_file: Path, det) -> None:
    with ServerProcess(["--pipeline", str(pipeline_file), "--no-access-log"]) as server:
        info = httpx.get(server.url + "/v1/model").json()
        assert info["pipeline"]["name"] == "test-pipeline" and "file" not in info["pipeline"]
        assert [m["model"] for m in info["pipeline"]["stages"][1]["models"]] == [model_id(det)]
        files = [("cat.jpg", FIREFLY.read_bytes()), ("lake.jpeg", CRATER.read_bytes())]
        response = httpx.post(server.url + "/v1/detect", files=[("file", f) for f in files], timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pipeline"] == "test-pipeline"
    cat, lake = body["results"]
    expected = det.predict([FIREFLY, CRATER])
    for got, want in zip((cat, lake), expected):
        for key in ("verdict", "reason", "answered_by", "evidence", "label", "generator", "width", "height"):
            assert got[key] == want[key], key
    assert cat["verdict"] == "fake" and lake["verdict"] == "uncertain"
