"""A1111 / Forge / SD.Next `parameters`: PNG tEXt/iTXt, or EXIF UserComment in JPEG and WebP.

The text is the prompt, an optional 'Negative prompt:' line, then one line of 'Key: value'
pairs (values with commas are quoted), e.g. 'Steps: 20, Sampler: Euler a, Seed: 1, Size: 512x512'.
"""

from __future__ import annotations

import re
from typing import Any

from ..generation import as_int, record_item
from ..registry import ReadContext, reader

# A1111's own pattern for the settings line (modules/infotext_utils.py).
PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def parameters_text(ctx: ReadContext) -> str | None:
    texts = ctx.texts()
    for key in ("parameters", "exif:UserComment"):
        value = texts.get(key)
        if value and "Steps:" in value:
            return value
    return None


def parse_parameters(text: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(fields, every settings pair) of an A1111 parameters text."""
    lines = text.strip().split("\n")
    settings_line = lines[-1] if "Steps:" in lines[-1] else ""
    body = lines[:-1] if settings_line else lines
    prompt, negative, in_negative = [], [], False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    pairs = {k.strip(): v.strip().strip('"') for k, v in PARAM.findall(settings_line)}
    fields = {
        "prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip(),
        "checkpoint": pairs.get("Model"), "checkpoint_hash": pairs.get("Model hash"),
        "sampler": pairs.get("Sampler"), "steps": as_int(pairs.get("Steps")), "seed": as_int(pairs.get("Seed")),
        "size": pairs.get("Size"), "cfg": pairs.get("CFG scale"),
    }
    return fields, pairs


def software_of(pairs: dict[str, str]) -> str:
    version = pairs.get("Version", "")
    if version.startswith("f") or "forge" in version.lower() or version.startswith("neo"):
        return f"Forge {version}".strip()
    if "sd.next" in version.lower() or "sdnext" in version.lower():
        return version
    return f"A1111 {version}".strip() if version else "A1111"


@reader("a1111")
def read_a1111(ctx: ReadContext) -> list[dict[str, Any]]:
    text = parameters_text(ctx)
    if text is None:
        return []
    fields, pairs = parse_parameters(text)
    if "fooocus" in pairs.get("Version", "").lower():
        return []  # Fooocus in its a1111 scheme: the fooocus reader reports it
    extra = {k: pairs[k] for k in ("Lora hashes", "Hires upscale", "Denoising strength", "VAE") if k in pairs}
    return [record_item("a1111", ctx, fields, software=software_of(pairs), extra=extra)]
