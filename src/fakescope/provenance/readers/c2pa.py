"""C2PA Content Credentials, read with the reference library `c2pa-python`.

Offline and private: remote manifests are never fetched and OCSP is never queried (a remote
reference is reported as such). Every manifest in the store is walked, because the AI claim often
sits in a parent (ChatGPT) or ingredient (a Photoshop composite of a Firefly image) manifest.
Validation is reported with its reasons, separating the certificate's standing (expired,
untrusted: reported, claim still counts) from the content's integrity (tampered: never conclusive).
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import Any

from ..record import item
from ..registry import ReadContext, reader

# digitalSourceType (last path part) -> claim. algorithmicMedia is procedural (not AI).
SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "generated",
    "compositeWithTrainedAlgorithmicMedia": "ai-edited",
    "algorithmicallyEnhanced": "ai-edited",
    "digitalCapture": "captured",
    "negativeFilm": "captured", "positiveFilm": "captured", "print": "captured",
    "minorHumanEdits": "edited", "compositeCapture": "edited", "composite": "edited",
    "algorithmicMedia": "none", "dataDrivenMedia": "none", "digitalArt": "none",
    "virtualRecording": "none", "compositeSynthetic": "none", "screenCapture": "none",
}
EDIT_ACTIONS = ("c2pa.edited", "c2pa.color_adjustments", "c2pa.cropped", "c2pa.resized", "c2pa.filtered",
                "c2pa.drawing", "c2pa.orientation", "c2pa.transcoded")
# Failure codes that speak about the signing certificate's standing, not about the content:
# the hashes still match and the signature still verifies.
CREDENTIAL_ONLY = {
    "signingCredential.untrusted": "signer not on a trust list",
    "signingCredential.expired": "certificate expired",
    "signingCredential.ocsp.skipped": "revocation not checked (offline)",
    "signingCredential.ocsp.inaccessible": "revocation not checked (offline)",
    "signingCredential.ocsp.unknown": "revocation status unknown",
    "timeStamp.untrusted": "timestamp authority untrusted",
    "timeStamp.outsideValidity": "timestamp outside its validity",
}
REVOKED = "signingCredential.ocsp.revoked"
RANK = {"generated": 0, "ai-edited": 1, "captured": 2, "edited": 3, "none": 4}


_local = threading.local()


def _context(trust: list[str] | None) -> Any:
    """A c2pa Context with fakescope's offline settings, built once per thread and trust list."""
    key = tuple(trust or ())
    cache = _local.__dict__.setdefault("contexts", {})
    if key not in cache:
        cache[key] = _new_context(list(key))
    return cache[key]


def _new_context(trust: list[str]) -> Any:
    import c2pa

    verify: dict[str, Any] = {"remote_manifest_fetch": False, "ocsp_fetch": False}
    config: dict[str, Any] = {"verify": verify}
    if trust:
        config["trust"] = {"trust_anchors": "\n".join(trust)}
        verify["verify_trust"] = True
    return c2pa.Context(settings=c2pa.Settings.from_dict(config))


@reader("c2pa")
def read_c2pa(ctx: ReadContext) -> list[dict[str, Any]]:
    c = ctx.container
    # Without an embedded store there is nothing for the library to read, except a remote
    # reference in the XMP (dcterms:provenance), which the library reports without fetching.
    remote_hint = bool(c.xmp and "provenance" in c.xmp)
    if not c.c2pa_box and not remote_hint:
        return []
    import c2pa

    try:
        rd = c2pa.Reader(None, io.BytesIO(ctx.data), context=_context(ctx.c2pa_trust))
    except c2pa.C2paError.ManifestNotFound:
        if c.c2pa_box:
            return [item("c2pa", "none", validation="unreadable (no manifest store found in the C2PA box)")]
        return [item("c2pa", "none", detail={"note": "XMP names a C2PA manifest that is not embedded (stripped)"})]
    except c2pa.C2paError as exc:
        url = re.search(r"https?://\S+", str(exc))
        if "Remote" in str(exc) and url:
            return [item("c2pa", "none", validation="not-checked (remote manifest: not fetched, offline)",
                         detail={"remote_manifest": url.group(0), "note": "the manifest lives on the signer's "
                                 "server; fakescope never fetches it"})]
        return [item("c2pa", "none", validation=f"unreadable ({exc})")]
    with rd:
        store = json.loads(rd.json())
    return _items(store)


def _items(store: dict[str, Any]) -> list[dict[str, Any]]:
    manifests: dict[str, Any] = store.get("manifests") or {}
    active = store.get("active_manifest")
    state = store.get("validation_state") or "Unknown"
    failures = store.get("validation_status") or []
    paths = _relations(manifests, active)
    out = []
    # The library's store is a hash map: its order changes from process to process. Walk it from the
    # active manifest outwards (then by label), so the same file gives the same items and reason every run.
    order = sorted(manifests, key=lambda label: (label not in paths, paths.get(label, "").count("/"),
                                                 paths.get(label, ""), label))
    for label in order:
        m = manifests[label]
        claim, generator, actions = _claim(m)
        relation = paths.get(label, "unreferenced")
        if claim == "generated" and "componentOf" in relation:
            claim = "ai-edited"  # an AI-made part inside something else: the whole is AI-edited
        sig = m.get("signature_info") or {}
        signer = ", ".join(x for x in (sig.get("issuer"), sig.get("common_name")) if x) or None
        codes = [f for f in failures if label in (f.get("url") or "")]
        # Validation is the store's (what c2patool reports for the file: an ingredient's claim is only
        # as good as the file that carries it); this manifest's own failure codes are in `detail`.
        out.append(item("c2pa", claim, generator=generator, software=_software(m), signer=signer,
                        validation=_validation(state, failures),
                        detail={"manifest": label, "relation": relation, "actions": actions,
                                "validation_state": state,
                                "failures": [{"code": f.get("code"), "explanation": f.get("explanation")} for f in codes],
                                "signed_at": sig.get("time")}))
    return out


def _relations(manifests: dict[str, Any], active: str | None) -> dict[str, str]:
    """How each manifest relates to the active one: 'active', 'parentOf', 'parentOf/componentOf'..."""
    paths: dict[str, str] = {}
    todo = [(active, "active")] if active in manifests else []
    while todo:
        label, path = todo.pop()
        if label in paths:
            continue
        paths[label] = path
        for ing in manifests[label].get("ingredients") or []:
            child = ing.get("active_manifest")
            if child in manifests:
                rel = ing.get("relationship") or "componentOf"
                todo.append((child, rel if path == "active" else f"{path}/{rel}"))
    return paths


def _claim(m: dict[str, Any]) -> tuple[str, str | None, list[dict[str, Any]]]:
    best, generator, actions = "none", None, []
    for a in m.get("assertions") or []:
        if not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in (a.get("data") or {}).get("actions") or []:
            dst = str(act.get("digitalSourceType") or "")
            kind = dst.rsplit("/", 1)[-1] if dst else ""
            claim = SOURCE_TYPES.get(kind, "none")
            if not kind and act.get("action") in EDIT_ACTIONS:
                claim = "edited"
            agent = _agent(act.get("softwareAgent"))
            actions.append({"action": act.get("action"), "digitalSourceType": kind or None, "softwareAgent": agent})
            if RANK[claim] < RANK[best]:
                best = claim
            if claim in ("generated", "ai-edited") and agent and (generator is None or claim == "generated"):
                generator = agent
    return best, generator, actions


def _agent(agent: Any) -> str | None:
    if isinstance(agent, dict):
        name = agent.get("name")
        return f"{name} {agent['version']}" if name and agent.get("version") else name
    return str(agent) if agent else None


def _software(m: dict[str, Any]) -> str | None:
    info = m.get("claim_generator_info")
    if isinstance(info, list) and info:
        return _agent(info[0])
    return m.get("claim_generator")


def _validation(state: str, codes: list[dict[str, Any]]) -> str:
    """The store's validation as '<state word> (<library state>: <reasons>)'. The first word is
    what the rules read: trusted, valid, certificate-expired, tampered or revoked."""
    names = [str(f.get("code")) for f in codes]
    if REVOKED in names:
        return f"revoked ({state}: the signing certificate was revoked)"
    broken = [f for f in codes if f.get("code") not in CREDENTIAL_ONLY]
    if broken:
        why = "; ".join(f"{f.get('code')}: {f.get('explanation')}" for f in broken)
        return f"tampered ({state}: {why})"
    reasons = ["hashes match, signature valid"] + list(dict.fromkeys(CREDENTIAL_ONLY[n] for n in names))
    word = "certificate-expired" if "signingCredential.expired" in names else ("trusted" if state == "Trusted" else "valid")
    return f"{word} ({state}: {'; '.join(reasons)})"
