"""SwarmUI: `parameters` as JSON with `sui_image_params` (PNG text, or EXIF UserComment)."""

from __future__ import annotations

import json
from typing import Any

from ..generation import as_int, record_item
from ..registry import ReadContext, reader


@reader("swarmui")
def read_swarmui(ctx: ReadContext) -> list[dict[str, Any]]:
    texts = ctx.texts()
    for key in ("parameters", "exif:UserComment"):
        text = texts.get(key) or ""
        if "sui_image_params" not in text:
            continue
        meta = json.loads(text).get("sui_image_params") or {}
        w, h = as_int(meta.get("width")), as_int(meta.get("height"))
        fields = {"prompt": meta.get("prompt"), "negative_prompt": meta.get("negativeprompt"),
                  "checkpoint": meta.get("model"), "sampler": meta.get("sampler"), "steps": as_int(meta.get("steps")),
                  "seed": as_int(meta.get("seed")), "cfg": meta.get("cfgscale"), "size": (w, h) if w and h else None}
        version = meta.get("swarm_version")
        return [record_item("swarmui", ctx, fields, software=f"SwarmUI {version}" if version else "SwarmUI")]
    return []
