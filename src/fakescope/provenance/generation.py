"""Generation records (A1111, ComfyUI, InvokeAI, NovelAI, Fooocus, ...) as evidence items.

Every generator reader parses its own format into the same fields (prompt, negative_prompt,
checkpoint, checkpoint_hash, sampler, steps, seed, size, cfg) and hands them here: the checkpoint
names the generator family (generators.json) and the declared size is checked against the file's
(record.generation_claim), so a record embedded in something that is not its output is
'workflow-only', never 'generated'.
"""

from __future__ import annotations

import re
from typing import Any

from .families import family_of
from .record import generation_claim, item
from .registry import ReadContext

FIELDS = ("prompt", "negative_prompt", "checkpoint", "checkpoint_hash", "sampler", "steps", "seed", "size", "cfg")


def record_item(source: str, ctx: ReadContext, fields: dict[str, Any], *, software: str | None,
                generator: str | None = None, signer: str | None = None, validation: str | None = None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    size = parse_size(fields.get("size"))
    claim, why = generation_claim(size, ctx.container.size)
    detail = {k: fields.get(k) for k in FIELDS if fields.get(k) not in (None, "")}
    if size:
        detail["size"] = f"{size[0]}x{size[1]}"
    if ctx.container.size:
        detail["image_size"] = f"{ctx.container.size[0]}x{ctx.container.size[1]}"
    if why:
        detail["mismatch"] = why
    detail.update(extra or {})
    generator = generator or family_of(fields.get("checkpoint")) or software
    return item(source, claim, generator=generator, software=software, signer=signer, validation=validation,
                detail=detail)


def parse_size(value: Any) -> tuple[int, int] | None:
    """'512x768', (512, 768) or [512, 768] -> (512, 768)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            return int(value[0]), int(value[1])
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,6})\s*[x×]\s*(\d{1,6})\s*", value)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
