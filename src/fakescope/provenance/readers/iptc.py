"""IPTC `Iptc4xmpExt:DigitalSourceType` in XMP (Meta, Google, Midjourney, Shutterstock...) and
the IPTC 2025 AI fields (AISystemUsed, AISystemVersionUsed, AIPromptInformation, AIPromptWriterName)."""

from __future__ import annotations

from typing import Any

from ..record import item
from ..registry import ReadContext, reader
from ..xmp import first, xmp_values
from .c2pa import SOURCE_TYPES

AI_FIELDS = ("AISystemUsed", "AISystemVersionUsed", "AIPromptInformation", "AIPromptWriterName")


@reader("iptc")
def read_iptc(ctx: ReadContext) -> list[dict[str, Any]]:
    if not ctx.container.xmp:
        return []
    values = xmp_values(ctx)
    source = first(values, "iptcext", "DigitalSourceType")
    ai = {name: first(values, "iptcext", name) for name in AI_FIELDS}
    ai = {k: v for k, v in ai.items() if v}
    if not source and not ai:
        return []
    kind = source.strip().rsplit("/", 1)[-1] if source else None
    # Without a source type, the 2025 AI fields alone still say which AI system made the image.
    claim = SOURCE_TYPES.get(kind, "none") if kind else ("generated" if ai.get("AISystemUsed") else "none")
    generator = ai.get("AISystemUsed")
    if generator and ai.get("AISystemVersionUsed"):
        generator = f"{generator} {ai['AISystemVersionUsed']}"
    software = first(values, "xmp", "CreatorTool")
    return [item("iptc", claim, generator=generator, software=software,
                 detail={"digital_source_type": kind, **ai})]
