"""Midjourney: a description 'prompt --v 6.1 Job ID: <uuid>' (PNG Description, EXIF
ImageDescription or XMP dc:description); the version flag names the model."""

from __future__ import annotations

import re
from typing import Any

from ..record import item
from ..registry import ReadContext, reader
from ..xmp import first, xmp_values

JOB = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)


@reader("midjourney")
def read_midjourney(ctx: ReadContext) -> list[dict[str, Any]]:
    texts = ctx.texts()
    candidates = [texts.get("Description"), texts.get("exif:ImageDescription")]
    if ctx.container.xmp and "Job ID" in ctx.container.xmp:
        candidates.append(first(xmp_values(ctx), "dc", "description"))
    for text in candidates:
        match = JOB.search(text or "")
        if not match:
            continue
        prompt = text[:match.start()].strip()
        version = re.search(r"--(v|niji)\s+([\d.]+)", prompt)
        generator = "Midjourney" if not version else (
            f"Midjourney v{version.group(2)}" if version.group(1) == "v" else f"Niji {version.group(2)}")
        return [item("midjourney", "generated", generator=generator, software="Midjourney",
                     detail={"prompt": prompt, "job_id": match.group(1), "author": texts.get("Author")})]
    return []
