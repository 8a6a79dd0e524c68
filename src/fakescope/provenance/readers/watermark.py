"""Invisible watermarks of published generator code (invisible-watermark's dwtDct method).

`invisible-watermark` decodes one payload length per call with a per-block Python loop; the
per-block bit estimate does not depend on the payload, so it is computed once here (vectorised,
same arithmetic as `imwatermark.maxDct.EmbedMaxDct`, checked equal to the library's decoder in
tests/test_provenance_watermark.py) and then averaged for each payload length and both channel
orders (diffusers fed RGB to the encoder before early 2024, BGR after).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..record import item
from ..registry import ReadContext, reader

TABLE = Path(__file__).resolve().parent.parent / "watermarks.json"
SCALE, BLOCK = 36, 4  # invisible-watermark's dwtDct defaults: U channel, scale 36, 4x4 blocks


@functools.lru_cache(maxsize=1)
def payloads() -> list[dict[str, Any]]:
    table = json.loads(TABLE.read_text(encoding="utf-8"))["payloads"]
    for p in table:
        raw = bytes.fromhex(p["value"]) if p["kind"] == "hex" else p["value"].encode("utf-8")
        p["bits"] = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).astype(bool)
    return table


def block_scores(bgr: np.ndarray) -> np.ndarray:
    """The dwtDct per-block bit estimates (0/1) of an HxWx3 uint8 BGR image, in the decoder's order."""
    import cv2
    import pywt

    rows, cols = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
    yuv = cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2YUV)
    ca1, _ = pywt.dwt2(yuv[:rows, :cols, 1], "haar")
    nr, nc = ca1.shape[0] // BLOCK, ca1.shape[1] // BLOCK
    blocks = ca1[:nr * BLOCK, :nc * BLOCK].reshape(nr, BLOCK, nc, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK * BLOCK)
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    val = np.abs(blocks[np.arange(len(blocks)), pos])
    return (val % SCALE) > 0.5 * SCALE


def decode_bits(scores: np.ndarray, length: int) -> np.ndarray:
    """Average the block estimates of each payload bit (block k carries bit k mod length)."""
    idx = np.arange(len(scores)) % length
    avg = np.bincount(idx, weights=scores, minlength=length) / np.maximum(np.bincount(idx, minlength=length), 1)
    return avg * 255 > 127


def matches(rgb: np.ndarray) -> list[dict[str, Any]]:
    """Every payload's best match over both channel orders: name, bits matched, order."""
    out = []
    scores = {"BGR": block_scores(rgb[:, :, ::-1]), "RGB": block_scores(rgb)}
    for p in payloads():
        n = len(p["bits"])
        best = max(((int((decode_bits(s, n) == p["bits"]).sum()), order) for order, s in scores.items()
                    if len(s) >= n), default=(0, None))
        out.append({"name": p["name"], "generator": p["generator"], "matched": best[0], "of": n,
                    "order": best[1], "min_bits": p["min_bits"]})
    return out


@reader("watermark", pixels=True)
def read_watermark(ctx: ReadContext) -> list[dict[str, Any]]:
    if not ctx.watermarks:
        return []
    rgb = np.asarray(ctx.image().convert("RGB"), dtype=np.uint8)
    found = [m for m in matches(rgb) if m["order"] and m["matched"] >= m["min_bits"]]
    return [item("watermark", "generated", generator=m["generator"], software="invisible-watermark dwtDct",
                 detail={"payload": m["name"], "matched_bits": f"{m['matched']}/{m['of']}",
                         "threshold": m["min_bits"], "channel_order": m["order"]}) for m in found]
