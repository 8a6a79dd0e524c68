"""Generator records, IPTC and NovelAI on fixtures written with the generators' own formats
(fakescope.testing.evidence_files: Pillow PngInfo, EXIF UserComment 'UNICODE' + UTF-16, XMP packets,
NovelAI's alpha copy and Ed25519 signature), and no claim on real images."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED, run_cli
from fakescope.provenance import inspect_bytes, inspect_path
from fakescope.provenance.families import family_of
from fakescope.provenance.readers.novelai import NOVELAI_PUBLIC_KEY, verify_signed_hash
from fakescope.testing import evidence_files as E


def _only(ev, source: str) -> dict:
    found = [it for it in ev.items if it["source"] == source]
    assert len(found) == 1, ev.items
    return found[0]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a1111_parameters_in_png_jpeg_webp(fmt: str) -> None:
    ev = inspect_bytes(E.a1111(fmt))
    it = _only(ev, "a1111")
    d = it["detail"]
    assert ev.verdict == "ai-generated" and ev.generator == "SDXL"
    assert d["prompt"] == "a photo of a red fox in the snow, highly detailed"
    assert d["negative_prompt"] == "blurry, lowres"
    assert (d["steps"], d["seed"], d["sampler"], d["size"]) == (28, 1234567890, "DPM++ 2M Karras", "96x64")
    assert (d["checkpoint"], d["checkpoint_hash"]) == ("sd_xl_base_1.0", "31e35c80fc")
    assert d["Lora hashes"] == "add_detail: 7c6bad76eb54"  # quoted value with a comma-free colon kept whole
    assert it["software"] == "A1111 v1.10.1"


def test_a1111_user_comment_little_endian_and_forge() -> None:
    text = E.A1111_TEXT.format(w=96, h=64).replace("Version: v1.10.1", "Version: f2.0.1v1.10.1-previous-669")
    data = E.encode(E.base_image(), "JPEG", exif=E.user_comment_exif(text, encoding="utf-16-le"))
    it = _only(inspect_bytes(data), "a1111")
    assert it["software"].startswith("Forge") and it["detail"]["seed"] == 1234567890


def test_a1111_hires_fix_upscaled_output_still_generated() -> None:
    # hires fix: the record says 96x64, the saved image is 2x that: same picture, scaled
    big = E.base_image(192, 128)
    data = E.png_with_text(big, {"parameters": E.A1111_TEXT.format(w=96, h=64)})
    assert _only(inspect_bytes(data), "a1111")["claim"] == "generated"


def test_invokeai_metadata() -> None:
    ev = inspect_bytes(E.invokeai())
    it = _only(ev, "invokeai")
    assert ev.verdict == "ai-generated" and it["generator"] == "SDXL"  # from the model's 'base'
    assert it["software"] == "InvokeAI 5.6.0" and it["detail"]["prompt"] == "a lighthouse at dusk"


def test_invokeai_legacy_dream_and_sd_metadata() -> None:
    im = E.base_image(64, 64)
    dream = inspect_bytes(E.png_with_text(im, {"Dream": '"a cat on a mat" -s 50 -S 42 -W 64 -H 64 -C 7.5 -A k_lms'}))
    d = _only(dream, "invokeai")["detail"]
    assert (d["prompt"], d["steps"], d["seed"], d["sampler"]) == ("a cat on a mat", 50, 42, "k_lms")
    meta = {"model_weights": "stable-diffusion-1.5", "app_version": "2.3.5",
            "image": {"prompt": [{"prompt": "a dog", "weight": 1}], "steps": 20, "seed": 7, "width": 64, "height": 64}}
    it = _only(inspect_bytes(E.png_with_text(im, {"sd-metadata": json.dumps(meta)})), "invokeai")
    assert it["generator"] == "SD15" and it["detail"]["prompt"] == "a dog"


@pytest.mark.parametrize("syntax", sorted(E.IPTC_SYNTAXES))
def test_iptc_digital_source_type_three_syntaxes(syntax: str) -> None:
    ev = inspect_bytes(E.xmp_jpeg(E.IPTC_SYNTAXES[syntax]))
    it = _only(ev, "iptc")
    assert ev.verdict == "ai-generated" and it["detail"]["digital_source_type"] == "trainedAlgorithmicMedia"


def test_iptc_2025_ai_fields_and_composite() -> None:
    desc = ('<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia" '
            'Iptc4xmpExt:AISystemUsed="Midjourney" Iptc4xmpExt:AISystemVersionUsed="6.1">'
            '<Iptc4xmpExt:AIPromptInformation>a castle</Iptc4xmpExt:AIPromptInformation></rdf:Description>')
    ev = inspect_bytes(E.xmp_jpeg(desc))
    it = _only(ev, "iptc")
    assert ev.verdict == "ai-edited" and ev.generator == "Midjourney 6.1"
    assert it["detail"]["AIPromptInformation"] == "a castle"


def test_iptc_digital_capture_is_no_claim() -> None:
    desc = E.IPTC_SYNTAXES["attribute"].replace("trainedAlgorithmicMedia", "digitalCapture")
    ev = inspect_bytes(E.xmp_jpeg(desc))
    assert _only(ev, "iptc")["claim"] == "captured" and ev.verdict == "no-claim"


def test_novelai_stealth_copy_and_forged_signature() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    data = E.novelai(private_key=key)
    ev = inspect_bytes(data)
    records = [it for it in ev.items if it["source"] == "novelai"]
    assert {it["detail"]["stored_in"] for it in records} == {"metadata", "alpha LSB (stealth_pngcomp)"}
    for it in records:
        assert it["claim"] == "generated" and it["generator"] == "NovelAI Diffusion V4.5"
        assert it["detail"]["seed"] == 987654321 and it["detail"]["negative_prompt"] == "lowres"
    sigs = [it for it in ev.items if it["source"] == "novelai-signature"]
    assert sigs and all(it["claim"] == "none" and it["validation"].startswith("signature-invalid") for it in sigs)
    # The same signature verifies against the test key that made it: the check itself is right.
    im = Image.open(__import__("io").BytesIO(data))
    comment = json.loads(im.info["Comment"])
    rgb = np.asarray(im.convert("RGBA"))[:, :, :3]
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert verify_signed_hash(rgb, dict(comment), public_key=base64.b64encode(raw).decode())
    assert not verify_signed_hash(rgb, dict(comment), public_key=NOVELAI_PUBLIC_KEY)
    altered = rgb.copy()
    altered[0, 0, 0] ^= 1
    assert not verify_signed_hash(altered, dict(comment), public_key=base64.b64encode(raw).decode())


def test_a1111_stealth_pnginfo() -> None:
    text = E.A1111_TEXT.format(w=128, h=96).encode()
    im = E.lsb_embed(E.base_image(128, 96), text, signature=b"stealth_pnginfo")
    it = _only(inspect_bytes(E.encode(im, "PNG")), "a1111")
    assert it["detail"]["stored_in"] == "LSB (stealth_pnginfo)" and it["generator"] == "SDXL"


def test_other_generators() -> None:
    im = E.base_image(64, 64)
    fooocus = {"Prompt": "a boat", "Negative Prompt": "", "Base Model": "juggernautXL_v8Rundiffusion.safetensors",
               "Resolution": "(64, 64)", "Seed": "5", "Steps": 30, "Sampler": "dpmpp_2m_sde_gpu",
               "Version": "Fooocus v2.5.5"}
    it = _only(inspect_bytes(E.png_with_text(im, {"parameters": json.dumps(fooocus), "fooocus_scheme": "fooocus"})), "fooocus")
    assert it["generator"] == "SDXL" and it["detail"]["size"] == "64x64"
    swarm = {"sui_image_params": {"prompt": "a tree", "model": "flux1-dev", "seed": 3, "steps": 20, "width": 64,
                                  "height": 64, "swarm_version": "0.9.5"}}
    it = _only(inspect_bytes(E.png_with_text(im, {"parameters": json.dumps(swarm)})), "swarmui")
    assert it["generator"] == "FLUX.1-dev" and it["software"] == "SwarmUI 0.9.5"
    desc = "a cosy cabin --ar 1:1 --v 6.1 Job ID: 0b7c3e0e-1234-4abc-9def-0123456789ab"
    ev = inspect_bytes(E.png_with_text(im, {"Description": desc, "Author": "someone"}))
    assert ev.generator == "Midjourney v6.1" and _only(ev, "midjourney")["detail"]["job_id"].startswith("0b7c3e0e")
    dt = ('<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
          'xmp:CreatorTool="Draw Things"><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">'
          '{"c":"a fox","model":"sd_xl_base_1.0_f16.ckpt","seed":9,"steps":20,"size":"96x64"}'
          '</rdf:li></rdf:Alt></exif:UserComment></rdf:Description>')
    it = _only(inspect_bytes(E.xmp_jpeg(dt)), "drawthings")
    assert it["generator"] == "SDXL" and it["detail"]["prompt"] == "a fox"
    ev = inspect_bytes(E.encode(im, "PNG", pnginfo=_info({"Software": "Adobe Firefly"})))
    assert _only(ev, "software")["generator"] == "Adobe Firefly"


def _info(chunks: dict):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in chunks.items():
        info.add_text(k, v)
    return info


@pytest.mark.parametrize("name,family", [
    ("sd_xl_base_1.0.safetensors", "SDXL"), ("flux1-schnell.safetensors", "FLUX.1-schnell"),
    ("sd3_medium_incl_clips.safetensors", "SD3"), ("v1-5-pruned-emaonly.ckpt", "SD15"),
    ("models/v2-1_768-ema-pruned.safetensors", "SD21"), ("myOwnMerge_v3.safetensors", "myOwnMerge_v3"),
])
def test_checkpoint_family_table(name: str, family: str) -> None:
    assert family_of(name) == family


def test_no_claim_on_a_sample_of_real_images() -> None:
    """The full sweep (every real image in ../shared/data) is benchmarks/bench_watermark_fp.py."""
    files = (sorted((SHARED / "native-pool" / "Real").glob("*"))[:40]
             + sorted((SHARED / "cnndetection_ranking").glob("*/0_real/*"))[:10]
             + sorted((SHARED / "cifake" / "test" / "REAL").glob("*"))[:20]
             + [SHARED / "provenance" / "c2pa" / "crater-lake.jpeg"])
    assert len(files) == 71
    for f in files:
        ev = inspect_path(f, watermarks=True)
        assert ev.verdict == "no-claim", (f, ev.reason)
        assert not [it for it in ev.items if it["claim"] in ("generated", "ai-edited")]


def test_inspect_cli_on_fixtures_jsonl_csv_and_errors(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(E.a1111("PNG"))
    (tmp_path / "b.jpg").write_bytes(E.xmp_jpeg(E.IPTC_SYNTAXES["element"]))
    (tmp_path / "c.jpg").write_bytes(b"")
    proc = run_cli("inspect", str(tmp_path), "--format", "jsonl", "--no-watermarks", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["a.png"]["verdict"] == "ai-generated" and rows["a.png"]["generator"] == "SDXL"
    assert rows["b.jpg"]["verdict"] == "ai-generated" and rows["b.jpg"]["evidence"][0]["source"] == "iptc"
    assert rows["c.jpg"]["error"] == "empty file (0 bytes)" and rows["c.jpg"]["verdict"] is None
    fail = run_cli("inspect", str(tmp_path), "--format", "csv", "--fail-on-error", "--no-progress")
    assert fail.returncode == 1 and fail.stdout.splitlines()[0].startswith("path,verdict,generator,sources")
    bad = run_cli("inspect", str(tmp_path), "--c2pa-trust", str(tmp_path / "a.png"))
    assert bad.returncode == 2 and "no PEM certificate" in bad.stderr
    assert run_cli("inspect", str(tmp_path), "--format", "xml").returncode == 2


def test_c2pa_trust_anchors_make_a_signer_trusted(tmp_path: Path) -> None:
    data, root_pem = E.c2pa_signed_jpeg()
    untrusted = _only(inspect_bytes(data), "c2pa")
    assert untrusted["validation"].startswith("valid") and "not on a trust list" in untrusted["validation"]
    assert untrusted["generator"] == "TestGen 1.0" and untrusted["signer"] == "fakescope tests, fakescope test signer"
    assert _only(inspect_bytes(data, c2pa_trust=[root_pem]), "c2pa")["validation"].startswith("trusted")
    (tmp_path / "signed.jpg").write_bytes(data)
    (tmp_path / "root.pem").write_text(root_pem)
    proc = run_cli("inspect", str(tmp_path / "signed.jpg"), "--c2pa-trust", str(tmp_path / "root.pem"),
                   "--format", "jsonl", "--no-watermarks")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["verdict"] == "ai-generated" and row["evidence"][0]["validation"].startswith("trusted")


def test_novelai_copy_found_when_the_caller_passes_an_rgb_image() -> None:
    # detect hands its decoded RGB image over: the alpha copy must still be read from the file
    data = E.novelai()
    rgb = Image.open(__import__("io").BytesIO(data)).convert("RGB")
    ev = inspect_bytes(data, image=rgb)
    stored = {it["detail"]["stored_in"] for it in ev.items if it["source"] == "novelai"}
    assert stored == {"metadata", "alpha LSB (stealth_pngcomp)"}
