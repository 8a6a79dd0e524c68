"""Evidence in evaluations: what each test file declares about its own making (fakescope.provenance),
recorded per image in the predictions, and how often and how rightly the files' claims name them.

Headers and metadata only (no watermark decoding): it adds no pixel work to the scoring pass.
Precision is measured against the dataset's labels: of the images whose file declares itself
AI-generated (or AI-edited), how many are labelled fake. Metadata proves presence, never absence,
so there is no recall or "real" claim to score.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from .scoring import Entry

PROTOCOL = ("fakescope.provenance.inspect_bytes on each stored file, headers and metadata only (watermarks off); "
            "precision = share of the images carrying the claim whose label is fake")


def with_evidence(stream: Iterable[Entry]) -> Iterator[Entry]:
    """Attach each readable entry's evidence (`entry.evidence`) before its bytes are decoded."""
    from fakescope.provenance import inspect_bytes

    for entry in stream:
        if entry.data is not None:
            ev = inspect_bytes(entry.data, name=entry.sample.origin, watermarks=False)
            entry.evidence = {"evidence_verdict": ev.verdict, "evidence_generator": ev.generator,
                              "evidence": json.dumps(ev.items, ensure_ascii=False, default=str) if ev.items else None}
        yield entry


def _precision(labels: list[int]) -> dict[str, Any]:
    fake = sum(1 for y in labels if y == 1)
    return {"n": len(labels), "labelled_fake": fake, "precision": round(fake / len(labels), 4) if labels else None}


def evidence_summary(labels: Iterable[int | None], verdicts: Iterable[str | None],
                     items_json: Iterable[str | None]) -> dict[str, Any]:
    """How many images carry a claim (by verdict, by item claim, by source) and the claims' precision."""
    by_verdict: dict[str, list[int]] = {}
    by_claim: dict[str, list[int]] = {}
    sources: Counter[str] = Counter()
    n = 0
    for y, verdict, raw in zip(labels, verdicts, items_json):
        if y is None or verdict is None:
            continue
        n += 1
        by_verdict.setdefault(verdict, []).append(y)
        items = json.loads(raw) if raw else []
        for claim in {it["claim"] for it in items if it["claim"] != "none"}:
            by_claim.setdefault(claim, []).append(y)
        sources.update({it["source"] for it in items if it["claim"] != "none"})
    claimed = by_verdict.get("ai-generated", []) + by_verdict.get("ai-edited", [])
    return {
        "protocol": PROTOCOL,
        "n_images": n,
        "with_claim": len(claimed),
        "by_verdict": {v: len(ys) for v, ys in sorted(by_verdict.items())},
        "by_claim": {c: len(ys) for c, ys in sorted(by_claim.items())},
        "by_source": dict(sources.most_common()),
        "precision": {"ai-generated": _precision(by_verdict.get("ai-generated", [])),
                      "ai-edited": _precision(by_verdict.get("ai-edited", [])),
                      "any_claim": _precision(claimed),
                      **{f"claim:{c}": _precision(ys) for c, ys in sorted(by_claim.items())}},
    }
