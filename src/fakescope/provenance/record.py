"""The evidence record and every rule that turns evidence into a verdict, in one place.

Each reader returns items `{"source", "claim", "generator", "software", "signer", "validation",
"detail"}`. The rules (docs/inspect.md, "The rules"):

- A file declares itself AI-made when at least one item is *conclusive*: claim "generated" or
  "ai-edited" and a validation that is not broken (`tampered`, `signature-invalid`, `revoked`).
  Expired or untrusted credentials are reported in `validation`, not hidden, and still count: the
  hashes match and the signature is valid, only the certificate's standing is in doubt.
- "generated" beats "ai-edited"; the generator comes from the strongest source (SOURCE_RANK).
- Metadata proves presence, never absence: no item, a "captured" or human "edited" item, or a
  "workflow-only" item all give verdict "no-claim", never "real".
- A generation record whose declared output size cannot be this image (a workflow embedded in a
  screenshot of the UI) is "workflow-only" (`generation_claim`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fakescope.data.decode import describe_exception

CLAIMS = ("generated", "ai-edited", "captured", "edited", "workflow-only", "none")
AI_CLAIMS = ("generated", "ai-edited")
VERDICTS = ("ai-generated", "ai-edited", "no-claim")
# Validation states that make an item's claim inconclusive (the first word of `validation`).
BROKEN = ("tampered", "signature-invalid", "revoked")
# Which evidence names the generator when several do: signed first, then records, then hints.
SOURCE_RANK = ("c2pa", "novelai-signature", "comfyui", "a1111", "invokeai", "novelai", "fooocus", "swarmui",
               "drawthings", "midjourney", "iptc", "watermark", "software")
# A declared output size and the file's size describe the same picture when their aspect ratios
# agree this closely (hires-fix and upscalers scale both sides alike; a UI screenshot does not).
ASPECT_TOLERANCE = 0.02

SOURCE_NAMES = {
    "c2pa": "C2PA manifest", "novelai-signature": "NovelAI signature", "comfyui": "ComfyUI workflow",
    "a1111": "A1111/Forge parameters", "invokeai": "InvokeAI metadata", "novelai": "NovelAI metadata",
    "fooocus": "Fooocus metadata", "swarmui": "SwarmUI parameters", "drawthings": "Draw Things metadata",
    "midjourney": "Midjourney description", "iptc": "IPTC DigitalSourceType", "watermark": "invisible watermark",
    "software": "Software tag", "container": "container",
}


def item(source: str, claim: str, *, generator: str | None = None, software: str | None = None,
         signer: str | None = None, validation: str | None = None, detail: Any = None) -> dict[str, Any]:
    """One evidence item; the only constructor, so that every item has every key."""
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}")
    return {"source": source, "claim": claim, "generator": generator, "software": software, "signer": signer,
            "validation": validation, "detail": detail}


def error_item(source: str, exc: BaseException) -> dict[str, Any]:
    """A reader that failed: the failure is evidence of nothing, recorded with its reason."""
    return item(source, "none", detail={"error": describe_exception(exc)})


def is_conclusive(it: dict[str, Any]) -> bool:
    if it["claim"] not in AI_CLAIMS:
        return False
    return validation_word(it.get("validation")) not in BROKEN


def validation_word(validation: str | None) -> str:
    """The machine-readable first word of a validation text ('tampered (Invalid: ...)' -> 'tampered')."""
    match = re.match(r"[a-z-]+", validation or "")
    return match.group(0) if match else ""


def generation_claim(declared: tuple[int, int] | None, actual: tuple[int, int] | None) -> tuple[str, str | None]:
    """'generated', or 'workflow-only' with why, for a generation record in a file of size `actual`."""
    if not declared or not actual or min(*declared, *actual) <= 0:
        return "generated", None
    da, aa = declared[0] / declared[1], actual[0] / actual[1]
    if abs(da - aa) / aa > ASPECT_TOLERANCE or actual[0] < declared[0] // 2:
        return "workflow-only", (f"it declares a {declared[0]}x{declared[1]} output and this image is "
                                 f"{actual[0]}x{actual[1]}")
    return "generated", None


def _rank(it: dict[str, Any]) -> int:
    return SOURCE_RANK.index(it["source"]) if it["source"] in SOURCE_RANK else len(SOURCE_RANK)


def describe(it: dict[str, Any]) -> str:
    """One clause a person reads, e.g. 'C2PA manifest signed by OpenAI declares generated (GPT-4o)'."""
    text = SOURCE_NAMES.get(it["source"], it["source"])
    if it.get("signer"):
        text += f" signed by {it['signer']}"
    text += f" declares {it['claim']}" if it["claim"] != "none" else " makes no claim"
    if it.get("generator"):
        text += f" ({it['generator']})"
    if it.get("validation"):
        text += f"; validation: {it['validation']}"
    return text


@dataclass
class FileEvidence:
    """What one file declares about its own making, and the verdict the rules give it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    verdict: str = "no-claim"
    generator: str | None = None
    reason: str = ""

    @classmethod
    def from_items(cls, items: list[dict[str, Any]]) -> "FileEvidence":
        conclusive = sorted((it for it in items if is_conclusive(it)), key=_rank)
        generated = [it for it in conclusive if it["claim"] == "generated"]
        if generated or conclusive:
            deciding = (generated or conclusive)[0]
            verdict = "ai-generated" if generated else "ai-edited"
            named = next((it["generator"] for it in (generated or conclusive) if it.get("generator")), None)
            reason = describe(deciding)
            others = len({it["source"] for it in conclusive} - {deciding["source"]})
            if others > 0:
                reason += f" ({others} more source{'s agree' if others > 1 else ' agrees'})"
            return cls(items, verdict, named, reason[0].upper() + reason[1:] + ".")
        return cls(items, "no-claim", None, _no_claim_reason(items))

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "generator": self.generator, "reason": self.reason, "evidence": self.items}


def _no_claim_reason(items: list[dict[str, Any]]) -> str:
    """Why there is no claim, naming what was found; never suggests the image is real."""
    found = [it for it in items if it["claim"] != "none" or it.get("validation")]
    if not found:
        return "No evidence of AI generation in the file's metadata (absence proves nothing: platforms strip metadata)."
    parts = []
    for it in found:
        if it["claim"] in AI_CLAIMS:
            parts.append(describe(it) + ", which is not conclusive")
        elif it["claim"] == "workflow-only":
            mismatch = (it.get("detail") or {}).get("mismatch")
            parts.append(f"{SOURCE_NAMES.get(it['source'], it['source'])} naming {it.get('generator') or 'a model'} "
                         f"is embedded, but these pixels are not its output" + (f" ({mismatch})" if mismatch else ""))
        else:
            parts.append(describe(it))
    text = "No conclusive AI claim: " + "; ".join(parts)
    if any(it["claim"] in ("captured", "edited") for it in found):
        text += " (a human-edit or capture record is not proof of a real image)"
    return text + "."
