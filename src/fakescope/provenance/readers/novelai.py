"""NovelAI: `Software`/`Source`/`Comment` (PNG text; WebP EXIF Software/UserComment), the
alpha-channel copy (stealth_pngcomp, or the A1111 extension's stealth_pnginfo with an A1111 text),
and the Ed25519 `signed_hash` verified against NovelAI's published key.

The key is the one NovelAI publishes in NovelAI/novelai-image-metadata (nai_sig.py): a signature
covers the RGB pixels (row-major, 8-bit) followed by `json.dumps(comment)` without `signed_hash`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np

from ..generation import as_int, record_item
from ..record import item
from ..registry import ReadContext, reader
from ..stealth import StealthError, read_stealth
from .a1111 import parse_parameters, software_of

NOVELAI_PUBLIC_KEY = "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic="


def _file_record(ctx: ReadContext) -> dict[str, Any] | None:
    """NovelAI's record from PNG text chunks or WebP EXIF, in the alpha copy's shape."""
    texts = ctx.texts()
    comment = texts.get("Comment") or texts.get("exif:UserComment")
    software = texts.get("Software") or ""
    source = texts.get("Source") or (texts.get("exif:Software") if ctx.container.format == "WEBP" else None)
    if not comment or not comment.lstrip().startswith("{"):
        return None
    if "novelai" not in (software + " " + (source or "") + " " + texts.get("Title", "")).lower() \
            and '"signed_hash"' not in comment and '"uc"' not in comment:
        return None
    return {"Comment": comment, "Software": software or "NovelAI", "Source": source,
            "Description": texts.get("Description")}


@reader("novelai")
def read_novelai(ctx: ReadContext) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    record = _file_record(ctx)
    if record:
        out.extend(_items(ctx, record, stored_in="metadata"))
    # The stealth copy is in the pixels: only PNG/WebP with an alpha channel can carry NovelAI's.
    if ctx.container.format in ("PNG", "WEBP") and ctx.container.has_alpha:
        try:
            found = read_stealth(ctx.image(alpha=True))
        except StealthError as exc:
            return out + [item("novelai", "none", validation="unreadable (stealth copy)", detail={"error": str(exc)})]
        if found:
            sig, payload = found
            out.extend(_stealth_items(ctx, sig, payload))
    return out


def _stealth_items(ctx: ReadContext, sig: str, payload: bytes) -> list[dict[str, Any]]:
    text = payload.decode("utf-8", "replace")
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if isinstance(record, dict) and "Comment" in record:
        return _items(ctx, record, stored_in=f"alpha LSB ({sig})")
    if "Steps:" in text:  # the A1111 stealth-pnginfo extension stores the parameters text
        fields, pairs = parse_parameters(text)
        return [record_item("a1111", ctx, fields, software=software_of(pairs), extra={"stored_in": f"LSB ({sig})"})]
    return [item("novelai", "none", detail={"stored_in": sig, "note": "stealth payload of unknown shape"})]


def _items(ctx: ReadContext, record: dict[str, Any], stored_in: str) -> list[dict[str, Any]]:
    comment = json.loads(record["Comment"]) if isinstance(record["Comment"], str) else record["Comment"]
    if isinstance(comment, dict) and isinstance(comment.get("Comment"), str):
        comment = json.loads(comment["Comment"])
    if not isinstance(comment, dict):
        raise ValueError("NovelAI Comment is not a JSON object")
    source = record.get("Source")
    model = re.sub(r" [0-9A-F]{8}$", "", source or "").strip()
    generator = model if model.startswith("NovelAI") else ("NovelAI" + (f" ({model})" if model else ""))
    fields = {"prompt": comment.get("prompt") or record.get("Description"), "negative_prompt": comment.get("uc"),
              "sampler": comment.get("sampler"), "steps": as_int(comment.get("steps")),
              "seed": as_int(comment.get("seed")), "cfg": comment.get("scale"),
              "size": (as_int(comment.get("width")), as_int(comment.get("height")))
              if comment.get("width") and comment.get("height") else None}
    out = [record_item("novelai", ctx, fields, software=record.get("Software") or "NovelAI", generator=generator,
                       extra={"stored_in": stored_in, "source": source})]
    if "signed_hash" in comment:
        out.append(_signature_item(ctx, comment, stored_in))
    return out


def _signature_item(ctx: ReadContext, comment: dict[str, Any], stored_in: str) -> dict[str, Any]:
    ok = verify_signed_hash(np.asarray(ctx.image(alpha=True).convert("RGBA"))[:, :, :3], comment)
    if ok:
        return item("novelai-signature", "generated", generator="NovelAI", signer="NovelAI",
                    validation="verified (Ed25519 signature matches NovelAI's published key)",
                    detail={"stored_in": stored_in})
    return item("novelai-signature", "none", signer="NovelAI (claimed)",
                validation="signature-invalid (does not verify against NovelAI's published key: forged or altered)",
                detail={"stored_in": stored_in})


def verify_signed_hash(rgb: np.ndarray, comment: dict[str, Any], public_key: str = NOVELAI_PUBLIC_KEY) -> bool:
    """Does `comment["signed_hash"]` verify for these pixels and this comment under the key?"""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    rest = {k: v for k, v in comment.items() if k != "signed_hash"}
    try:
        signature = base64.b64decode(str(comment["signed_hash"]), validate=True)
    except ValueError:
        return False
    message = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes() + json.dumps(rest).encode("utf-8")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
