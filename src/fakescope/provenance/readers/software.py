"""A Software / CreatorTool field that names an image generator (EXIF 0x0131, PNG 'Software',
XMP xmp:CreatorTool), matched through the `software` table of generators.json."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..families import TABLE
from ..record import item
from ..registry import ReadContext, reader
from ..xmp import first, xmp_values


@functools.lru_cache(maxsize=1)
def _software_rules() -> list[tuple[re.Pattern[str], str]]:
    rules = json.loads(TABLE.read_text(encoding="utf-8"))["software"]
    return [(re.compile(pattern, re.I), generator) for pattern, generator in rules]


@reader("software")
def read_software(ctx: ReadContext) -> list[dict[str, Any]]:
    texts = ctx.texts()
    values = [texts.get("Software"), texts.get("exif:Software")]
    if ctx.container.xmp:
        values.append(first(xmp_values(ctx), "xmp", "CreatorTool"))
    for value in values:
        for pattern, generator in _software_rules():
            if value and pattern.search(value):
                return [item("software", "generated", generator=generator, software=value[:200])]
    return []
