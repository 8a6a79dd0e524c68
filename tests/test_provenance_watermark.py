"""Invisible watermarks: fixtures encoded with `invisible-watermark` and the published payloads
(SD 1.x, SD 2.x, SDXL in both channel orders, InvokeAI); the vectorised decoder equals the
library's; what survives JPEG and resizing is measured in benchmarks/bench_inspect.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED
from fakescope.provenance import inspect_bytes
from fakescope.provenance.readers.watermark import block_scores, decode_bits, payloads
from fakescope.testing import evidence_files as E


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A generated picture (ComfyUI's SD3 example, pixels only, no watermark of its own), 512 x 512:
    what the generator code would have watermarked. (A photo with large saturated sky loses the
    mark in the encoder's own uint8 clipping: the U channel has no room left.)"""
    im = Image.open(SHARED / "provenance" / "comfyui" / "sd3__sd3_simple_example.png").convert("RGB")
    return im.resize((512, 512), Image.LANCZOS)


@pytest.fixture(scope="module")
def marked(photo: Image.Image) -> dict[str, Image.Image]:
    return {p["name"]: E.watermarked(photo, p["name"]) for p in payloads()}


def _wm_items(im: Image.Image, fmt: str = "PNG", **params) -> list[dict]:
    ev = inspect_bytes(E.encode(im, fmt, **params), watermarks=True)
    return [it for it in ev.items if it["source"] == "watermark"]


def test_vectorised_decoder_equals_the_library(marked: dict[str, Image.Image], photo: Image.Image) -> None:
    from imwatermark.maxDct import EmbedMaxDct

    for name, im in [*marked.items(), ("plain", photo)]:
        bgr = np.ascontiguousarray(np.asarray(im)[:, :, ::-1])
        scores = block_scores(bgr)
        for p in payloads():
            n = len(p["bits"])
            lib = EmbedMaxDct(wmLen=n, scales=[0, 36, 36], block=4).decode(bgr)
            assert (decode_bits(scores, n) == lib).all(), (name, p["name"])


@pytest.mark.parametrize("payload,generator", [("SD1", "SD1.x"), ("SD2", "SD2.x"), ("SDXL", "SDXL"),
                                                ("InvokeAI", "InvokeAI")])
def test_lossless_watermark_is_found(marked: dict[str, Image.Image], payload: str, generator: str) -> None:
    items = _wm_items(marked[payload])
    assert [it["generator"] for it in items] == [generator]
    d = items[0]["detail"]
    matched, of = map(int, d["matched_bits"].split("/"))
    assert matched >= d["threshold"] and d["channel_order"] == "BGR"
    ev = inspect_bytes(E.encode(marked[payload], "PNG"), watermarks=True)
    assert ev.verdict == "ai-generated" and ev.generator == generator


def test_sdxl_fed_rgb_is_found_in_the_other_order(photo: Image.Image) -> None:
    # diffusers before early 2024 passed RGB arrays to an encoder that expects BGR
    swapped = E.watermarked(Image.fromarray(np.asarray(photo)[:, :, ::-1].copy()), "SDXL")
    rgb_fed = Image.fromarray(np.asarray(swapped)[:, :, ::-1].copy())
    (it,) = _wm_items(rgb_fed)
    assert it["generator"] == "SDXL" and it["detail"]["channel_order"] == "RGB"


def test_watermarks_off_reads_no_pixels(marked: dict[str, Image.Image]) -> None:
    ev = inspect_bytes(E.encode(marked["SDXL"], "PNG"), watermarks=False)
    assert ev.verdict == "no-claim" and not ev.items


def test_given_image_is_reused(marked: dict[str, Image.Image]) -> None:
    data = E.encode(marked["SD1"], "PNG")
    # the decoded image the caller passes is what the reader decodes: a different one gives no match
    ev = inspect_bytes(data, image=marked["SD1"].transpose(Image.FLIP_LEFT_RIGHT), watermarks=True)
    assert ev.verdict == "no-claim"


def test_jpeg_90_with_chroma_subsampling_destroys_the_sdxl_mark(marked: dict[str, Image.Image]) -> None:
    assert _wm_items(marked["SDXL"], "JPEG", quality=90) == []
    small = marked["SDXL"].resize((384, 384), Image.BICUBIC)
    assert _wm_items(small) == []
