"""Draw Things: an XMP packet (xmp:CreatorTool 'Draw Things') whose exif:UserComment holds the
generation JSON ('c' prompt, 'uc' negative, 'model', 'sampler', 'seed', 'steps', 'size')."""

from __future__ import annotations

import json
from typing import Any

from ..generation import as_int, record_item
from ..registry import ReadContext, reader
from ..xmp import first, xmp_values


@reader("drawthings")
def read_drawthings(ctx: ReadContext) -> list[dict[str, Any]]:
    if not ctx.container.xmp:
        return []
    values = xmp_values(ctx)
    tool = first(values, "xmp", "CreatorTool") or ""
    comment = first(values, "exif", "UserComment") or ""
    if "draw things" not in tool.lower() and not (comment.startswith("{") and '"c"' in comment):
        return []
    meta = json.loads(comment) if comment.startswith("{") else {}
    fields = {"prompt": meta.get("c"), "negative_prompt": meta.get("uc"), "checkpoint": meta.get("model"),
              "sampler": meta.get("sampler"), "steps": as_int(meta.get("steps")), "seed": as_int(meta.get("seed")),
              "cfg": meta.get("scale"), "size": meta.get("size")}
    return [record_item("drawthings", ctx, fields, software=tool or "Draw Things")]
