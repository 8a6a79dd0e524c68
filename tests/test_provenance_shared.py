"""Evidence on every real file in ../shared/data/provenance, against what its PROVENANCE.md and the
*.json manifest stores (printed by the C2PA tools) say each file holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHARED, run_cli
from fakescope.provenance import inspect_path

PROV = SHARED / "provenance"

# file -> (verdict, generator) as PROVENANCE.md states it
EXPECTED = {
    "c2pa/ChatGPT_Image.png": ("ai-generated", "GPT-4o"),
    "c2pa/Firefly_tabby_cat.jpg": ("ai-generated", "Adobe Firefly"),
    "c2pa/ocsp.jpg": ("ai-edited", "Adobe Firefly"),
    "c2pa/car-es-Ps-Cr.jpg": ("no-claim", None),
    "c2pa/crater-lake-cr.jpg": ("no-claim", None),
    "c2pa/crater-lake.jpeg": ("no-claim", None),
    "c2pa/C.jpg": ("no-claim", None),
    "c2pa/XCA.jpg": ("no-claim", None),
    "c2pa/no_manifest.jpg": ("no-claim", None),
    "c2pa/cloud.jpg": ("no-claim", None),
    "comfyui/sdxl__sdxl_simple_example.png": ("ai-generated", "SDXL"),
    "comfyui/sdturbo__sdxlturbo_example.png": ("ai-generated", "SDXL-Turbo"),
    "comfyui/flux__flux_schnell_example.png": ("ai-generated", "FLUX.1-schnell"),
    "comfyui/sd3__sd3_simple_example.png": ("ai-generated", "SD3"),
    "comfyui/lcm__lcm_basic_example.png": ("ai-generated", "SDXL"),
    "comfyui/lora__lora.png": ("no-claim", None),
}


def test_every_shared_file_is_covered() -> None:
    files = {str(p.relative_to(PROV)) for p in PROV.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_and_generator(name: str) -> None:
    ev = inspect_path(PROV / name)
    assert (ev.verdict, ev.generator) == EXPECTED[name], ev.reason
    assert ev.reason and ev.reason.endswith(".")
    d = ev.to_dict()
    assert set(d) == {"verdict", "generator", "reason", "evidence"}
    for it in d["evidence"]:
        assert set(it) == {"source", "claim", "generator", "software", "signer", "validation", "detail"}
    json.dumps(d)  # serialisable as it is


def _c2pa(name: str) -> list[dict]:
    return [it for it in inspect_path(PROV / name).items if it["source"] == "c2pa"]


def test_chatgpt_claim_in_parent_manifest_and_expired_certificate_not_tampering() -> None:
    items = _c2pa("c2pa/ChatGPT_Image.png")
    store = json.loads((PROV / "c2pa" / "ChatGPT_Image.json").read_text())
    assert {it["detail"]["manifest"] for it in items} == set(store["manifests"])
    generated = [it for it in items if it["claim"] == "generated"]
    assert len(generated) == 1 and generated[0]["detail"]["relation"] == "parentOf"
    assert generated[0]["signer"].startswith("OpenAI")
    assert generated[0]["software"] == "ChatGPT"
    v = generated[0]["validation"]
    assert v.startswith("certificate-expired") and "Invalid" in v and "hashes match, signature valid" in v
    assert "tampered" not in v


def test_xca_is_tampered_and_never_alike_the_expired_chatgpt() -> None:
    (it,) = _c2pa("c2pa/XCA.jpg")
    assert it["validation"].startswith("tampered") and "dataHash.mismatch" in it["validation"]
    chatgpt = _c2pa("c2pa/ChatGPT_Image.png")[0]["validation"]
    assert it["validation"].split()[0] != chatgpt.split()[0]


def test_firefly_matches_its_manifest_json() -> None:
    (it,) = _c2pa("c2pa/Firefly_tabby_cat.jpg")
    store = json.loads((PROV / "c2pa" / "Firefly_tabby_cat.json").read_text())
    active = store["manifests"][store["active_manifest"]]
    assert it["detail"]["manifest"] == store["active_manifest"]
    assert it["signer"].startswith(active["signature_info"]["issuer"])
    assert it["claim"] == "generated" and it["generator"] == "Adobe Firefly"
    assert any(a["digitalSourceType"] == "trainedAlgorithmicMedia" for a in it["detail"]["actions"])


def test_ocsp_claim_in_ingredient() -> None:
    items = {it["detail"]["relation"]: it for it in _c2pa("c2pa/ocsp.jpg")}
    assert items["componentOf"]["generator"] == "Adobe Firefly"
    assert items["componentOf"]["claim"] == "ai-edited"  # an AI part inside a composite
    assert items["active"]["claim"] == "ai-edited" and items["active"]["software"].startswith("Adobe Photoshop")


def test_human_edits_are_edited_not_real() -> None:
    (it,) = _c2pa("c2pa/car-es-Ps-Cr.jpg")
    assert it["claim"] == "edited"
    ev = inspect_path(PROV / "c2pa" / "car-es-Ps-Cr.jpg")
    assert "not proof of a real image" in ev.reason


def test_algorithmic_media_is_not_ai() -> None:
    (it,) = _c2pa("c2pa/C.jpg")
    assert it["claim"] == "none"
    assert any(a["digitalSourceType"] == "algorithmicMedia" for a in it["detail"]["actions"])
    assert it["validation"].startswith("valid") and "not on a trust list" in it["validation"]


@pytest.mark.parametrize("name", ["c2pa/cloud.jpg", "c2pa/crater-lake-cr.jpg"])
def test_remote_manifest_reported_not_fetched(name: str) -> None:
    (it,) = _c2pa(name)
    assert it["validation"].startswith("not-checked")
    assert it["detail"]["remote_manifest"].startswith("https://cai-manifests.adobe.com/")


def test_screenshot_with_workflow_is_workflow_only() -> None:
    ev = inspect_path(PROV / "comfyui" / "lora__lora.png")
    (it,) = [it for it in ev.items if it["source"] == "comfyui"]
    assert it["claim"] == "workflow-only"
    assert it["detail"]["size"] == "512x512" and it["detail"]["image_size"] == "2153x788"
    assert ev.verdict == "no-claim" and "not its output" in ev.reason


def test_comfyui_fields() -> None:
    ev = inspect_path(PROV / "comfyui" / "sdxl__sdxl_simple_example.png")
    (it,) = [it for it in ev.items if it["source"] == "comfyui"]
    d = it["detail"]
    assert d["checkpoint"] == "sd_xl_base_1.0.safetensors" and d["size"] == "1024x1024"
    assert d["seed"] == 721897303308196 and d["steps"] == 25 and d["sampler"] == "euler"
    assert isinstance(d["prompt"], str) and d["prompt"]
    assert it["software"] == "ComfyUI"


def test_inspect_cli_json_on_the_shared_folder(tmp_path: Path) -> None:
    out = tmp_path / "ev.json"
    proc = run_cli("inspect", str(PROV), "-r", "--format", "json", "--output", str(out), "--no-progress",
                   "--no-watermarks")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    rows = {str(Path(r["path"]).relative_to(PROV)): r for r in doc["results"]}
    assert {k: (r["verdict"], r["generator"]) for k, r in rows.items()} == EXPECTED
    s = doc["summary"]
    assert (s["files"], s["ai-generated"], s["ai-edited"], s["errors"]) == (16, 7, 1, 0)
    assert "16 file(s): 7 ai-generated, 1 ai-edited" in proc.stderr
