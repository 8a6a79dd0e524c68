"""Checkpoint name -> generator family, through the one data table `generators.json`."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

TABLE = Path(__file__).with_name("generators.json")


@functools.lru_cache(maxsize=1)
def _rules() -> list[tuple[re.Pattern[str], str]]:
    rules = json.loads(TABLE.read_text(encoding="utf-8"))["rules"]
    return [(re.compile(pattern), family) for pattern, family in rules]


def checkpoint_stem(name: str) -> str:
    """'models/Stable-diffusion/sd_xl_base_1.0.safetensors' -> 'sd_xl_base_1.0'."""
    stem = re.split(r"[\\/]", name.strip())[-1]
    return re.sub(r"\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$", "", stem, flags=re.I)


def family_of(checkpoint: str | None) -> str | None:
    """The generator family a checkpoint name belongs to, or the raw name when no rule knows it."""
    if not checkpoint or not checkpoint.strip():
        return None
    stem = checkpoint_stem(checkpoint)
    low = stem.lower()
    for pattern, family in _rules():
        if pattern.search(low):
            return family
    return stem
