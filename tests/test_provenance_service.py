"""`POST /v1/inspect` through a real `fakescope serve` process: evidence per file, the watermark
switch, and the same limits and JSON errors as /v1/detect."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from conftest import SHARED
from fakescope.testing import evidence_files as E
from fakescope.testing.server import ServerProcess

PROV = SHARED / "provenance"
LIMITS = ["--max-file-mb", "3", "--max-request-mb", "8", "--max-files", "4", "--max-pixels", "6000000"]


@pytest.fixture(scope="module")
def server():
    with ServerProcess(LIMITS) as s:  # the shipped default model: inspect needs none, detect shares the app
        yield s


def post(server: ServerProcess, files: list[tuple[str, bytes]], **params) -> httpx.Response:
    return httpx.post(server.url + "/v1/inspect", files=[("file", (n, b)) for n, b in files], params=params,
                      timeout=120)


def _error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


def test_evidence_per_file_in_upload_order(server: ServerProcess) -> None:
    files = [("firefly.jpg", (PROV / "c2pa" / "Firefly_tabby_cat.jpg").read_bytes()),
             ("chatgpt.png", (PROV / "c2pa" / "ChatGPT_Image.png").read_bytes()),
             ("screenshot.png", (PROV / "comfyui" / "lora__lora.png").read_bytes()),
             ("a1111.webp", E.a1111("WEBP"))]
    r = post(server, files, watermarks="false")
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["filename"] for x in res] == [n for n, _ in files]
    assert [(x["verdict"], x["generator"]) for x in res] == [
        ("ai-generated", "Adobe Firefly"), ("ai-generated", "GPT-4o"), ("no-claim", None), ("ai-generated", "SDXL")]
    c2pa = [it for it in res[1]["evidence"] if it["claim"] == "generated"][0]
    assert c2pa["signer"].startswith("OpenAI") and c2pa["validation"].startswith("certificate-expired")
    assert any(it["claim"] == "workflow-only" for it in res[2]["evidence"])


def test_watermark_switch(server: ServerProcess) -> None:
    im = Image.open(PROV / "comfyui" / "sd3__sd3_simple_example.png").convert("RGB").resize((512, 512))
    data = E.encode(E.watermarked(im, "SDXL"), "PNG")
    on = post(server, [("wm.png", data)]).json()["results"][0]
    off = post(server, [("wm.png", data)], watermarks="false").json()["results"][0]
    assert (on["verdict"], on["generator"]) == ("ai-generated", "SDXL")
    assert on["evidence"][0]["source"] == "watermark"
    assert off["verdict"] == "no-claim" and off["evidence"] == []


def test_limits_and_errors_as_detect(server: ServerProcess) -> None:
    # as /v1/detect: a text field the endpoint does not read is refused; a body without files too
    only_field = httpx.post(server.url + "/v1/inspect", files=[("note", (None, b"1"))], timeout=30)
    _error(only_field, 400, "unknown_field")
    boundary = "fakescopeboundary"
    empty = httpx.post(server.url + "/v1/inspect", content=f"--{boundary}--\r\n".encode(),
                       headers={"content-type": f"multipart/form-data; boundary={boundary}"}, timeout=30)
    _error(empty, 400, "no_files")
    err = _error(post(server, [("a.jpg", b"hello, not an image"), ("b.png", E.a1111("PNG"))]), 415, "not_an_image")
    assert [f["filename"] for f in err["files"]] == ["a.jpg"]
    _error(post(server, [("big.bin", b"\xff\xd8\xff" + bytes(3 * 1024 * 1024 + 10))]), 413, "file_too_large")
    _error(post(server, [(f"{i}.png", E.a1111("PNG")) for i in range(5)]), 413, "too_many_files")
    huge = E.encode(Image.new("RGB", (3000, 2100)), "PNG")
    _error(post(server, [("huge.png", huge)], watermarks="false"), 413, "image_too_large")
    _error(post(server, [("huge.png", huge)]), 413, "image_too_large")
    r = httpx.post(server.url + "/v1/inspect", content=b"raw", headers={"content-type": "image/png"}, timeout=30)
    _error(r, 415, "unsupported_media_type")


def test_openapi_documents_inspect(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/openapi.json", timeout=30).json()
    assert "/v1/inspect" in doc["paths"] and "/v1/detect" in doc["paths"]
