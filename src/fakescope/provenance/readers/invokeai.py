"""InvokeAI: `invokeai_metadata` (3.x+ JSON), `sd-metadata` (2.x JSON) and `Dream` (1.x command line)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from ..families import family_of
from ..generation import as_int, record_item
from ..registry import ReadContext, reader

# InvokeAI's model 'base' field -> family, used when the model name alone is not known.
BASES = {"sd-1": "SD15", "sd-2": "SD21", "sdxl": "SDXL", "sdxl-refiner": "SDXL", "sd-3": "SD3", "flux": "FLUX.1"}


@reader("invokeai")
def read_invokeai(ctx: ReadContext) -> list[dict[str, Any]]:
    texts = ctx.texts()
    if texts.get("invokeai_metadata"):
        return [_v3(ctx, json.loads(texts["invokeai_metadata"]))]
    if texts.get("sd-metadata"):
        return [_v2(ctx, json.loads(texts["sd-metadata"]))]
    if texts.get("Dream"):
        return [_v1(ctx, texts["Dream"])]
    return []


def _v3(ctx: ReadContext, meta: dict[str, Any]) -> dict[str, Any]:
    model = meta.get("model") or {}
    name = model.get("name") or model.get("model_name") if isinstance(model, dict) else str(model)
    base = model.get("base") or model.get("base_model") if isinstance(model, dict) else None
    family = family_of(name)
    if (family is None or family == name) and base in BASES:
        family = BASES[base]
    fields = {"prompt": meta.get("positive_prompt"), "negative_prompt": meta.get("negative_prompt"),
              "checkpoint": name, "checkpoint_hash": model.get("hash") if isinstance(model, dict) else None,
              "sampler": meta.get("scheduler"), "steps": as_int(meta.get("steps")), "seed": as_int(meta.get("seed")),
              "cfg": meta.get("cfg_scale"), "size": _size(meta.get("width"), meta.get("height"))}
    version = meta.get("app_version")
    return record_item("invokeai", ctx, fields, software=f"InvokeAI {version}" if version else "InvokeAI",
                       generator=family, extra={"generation_mode": meta.get("generation_mode"), "base": base})


def _v2(ctx: ReadContext, meta: dict[str, Any]) -> dict[str, Any]:
    image = meta.get("image") or {}
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(str(p.get("prompt", "")) for p in prompt if isinstance(p, dict))
    fields = {"prompt": prompt, "checkpoint": meta.get("model_weights"), "checkpoint_hash": meta.get("model_hash"),
              "sampler": image.get("sampler"), "steps": as_int(image.get("steps")), "seed": as_int(image.get("seed")),
              "cfg": image.get("cfg_scale"), "size": _size(image.get("width"), image.get("height"))}
    version = meta.get("app_version")
    return record_item("invokeai", ctx, fields, software=f"InvokeAI {version}" if version else "InvokeAI")


def _v1(ctx: ReadContext, dream: str) -> dict[str, Any]:
    """'"a cat" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms'."""
    try:
        words = shlex.split(dream)
    except ValueError:
        words = dream.split()
    flags: dict[str, str] = {}
    prompt = []
    it = iter(words)
    for w in it:
        if re.fullmatch(r"-[a-zA-Z]", w):
            flags[w[1]] = next(it, "")
        else:
            prompt.append(w)
    fields = {"prompt": " ".join(prompt), "steps": as_int(flags.get("s")), "seed": as_int(flags.get("S")),
              "cfg": flags.get("C"), "sampler": flags.get("A"), "size": _size(flags.get("W"), flags.get("H"))}
    return record_item("invokeai", ctx, fields, software="InvokeAI (Dream)")


def _size(w: Any, h: Any) -> tuple[int, int] | None:
    w, h = as_int(w), as_int(h)
    return (w, h) if w and h else None
