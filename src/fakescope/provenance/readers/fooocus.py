"""Fooocus: `parameters` as JSON (fooocus scheme: 'Base Model', 'Resolution': '(1152, 896)', ...,
'Version': 'Fooocus v2.5.0'), or in its a1111 scheme (the A1111 text with 'Version: Fooocus ...');
PNG text, or EXIF UserComment in JPEG/WebP."""

from __future__ import annotations

import json
import re
from typing import Any

from ..generation import as_int, record_item
from ..registry import ReadContext, reader
from .a1111 import parse_parameters


def _norm(meta: dict[str, Any]) -> dict[str, Any]:
    return {re.sub(r"[\s-]+", "_", str(k)).lower(): v for k, v in meta.items()}


@reader("fooocus")
def read_fooocus(ctx: ReadContext) -> list[dict[str, Any]]:
    texts = ctx.texts()
    for key in ("parameters", "exif:UserComment"):
        text = texts.get(key) or ""
        if text.lstrip().startswith("{"):
            try:
                meta = _norm(json.loads(text))
            except ValueError:
                continue
            version = str(meta.get("version", ""))
            if "fooocus" not in version.lower() and texts.get("fooocus_scheme") != "fooocus":
                continue
            size = re.findall(r"\d+", str(meta.get("resolution", "")))
            fields = {"prompt": meta.get("prompt"), "negative_prompt": meta.get("negative_prompt"),
                      "checkpoint": meta.get("base_model"), "checkpoint_hash": meta.get("base_model_hash"),
                      "sampler": meta.get("sampler"), "steps": as_int(meta.get("steps")),
                      "seed": as_int(meta.get("seed")), "cfg": meta.get("guidance_scale"),
                      "size": (int(size[0]), int(size[1])) if len(size) == 2 else None}
            return [record_item("fooocus", ctx, fields, software=version or "Fooocus",
                                extra={"refiner": meta.get("refiner_model"), "styles": meta.get("styles")})]
        if "Steps:" in text and "fooocus" in text.lower():
            fields, pairs = parse_parameters(text)
            return [record_item("fooocus", ctx, fields, software=pairs.get("Version") or "Fooocus")]
    return []
