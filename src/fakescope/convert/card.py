"""MODEL_CARD.md of a converted published detector: where the weights come from, under which
licence, what the network sees and what its score means."""

from __future__ import annotations

from typing import Any

from .base import Family


def model_card(family: Family, config: Any, source: dict[str, Any], notes: list[str]) -> str:
    pre = config.preprocess
    backbone = source.get("backbone")
    lines = [
        f"# {config.name}: {family.title}",
        "",
        "Converted from the authors' released checkpoint by `fakescope convert`; the weights are theirs, unchanged "
        "in value (float32), mapped onto fakescope's registered detector "
        f"`{config.architecture}`.",
        "",
        "## Source",
        f"- Paper: {family.citation}",
        f"- Code and weights: {family.url}",
        f"- Licence: {family.licence}",
        f"- Checkpoint: `{source['file']}`, SHA-256 `{source['sha256']}`",
    ]
    if backbone:
        where = backbone.get("file") or f"open_clip {backbone.get('open_clip')} pretrained={backbone.get('pretrained')}"
        lines.append(f"- Backbone: `{where}`" + (f", SHA-256 `{backbone['sha256']}`" if backbone.get("sha256") else "")
                     + f" ({backbone.get('architecture', '')})")
    lines += [
        "",
        "## What the network sees (the authors' test-time preprocessing)",
        f"- Authors: {family.preprocessing}",
        f"- Here: {pre.describe()}",
        "",
        "## Output",
        f"- Authors: {family.output}",
        "- fakescope's score is P(fake) = sigmoid(binary logit); decision threshold "
        f"{config.threshold} (uncalibrated: the authors' 0.5).",
        "",
        "## Caveats",
        *[f"- {n}" for n in notes],
        "- Published accuracy is measured on the authors' test sets; re-test it under format alignment and "
        "degradations with `fakescope benchmark published` before relying on it.",
        "",
        "## Conversion",
        f"- fakescope {source['fakescope_version']}, {source['date']}",
        f"- Command: `{source['command']}`",
        "",
    ]
    return "\n".join(lines)
