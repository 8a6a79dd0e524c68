"""Does the test set hand the detector a shortcut? Compare the two classes' file formats and sizes.

GenImage's reals are ImageNet JPEGs of many sizes, its fakes PNGs at each generator's fixed size:
a detector can separate them without looking at content (DESIGN.md, pitfalls 1 and 2). The check
reads what the scoring pass recorded (format sniffed from the stored bytes, decoded size) and
states the numbers, e.g. "real: 100% JPEG, median 500x375; fake: 100% PNG, median 512x512".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

FORMAT_SHARE_GAP = 0.10  # a format whose share differs by more than 10 points between the classes
SIZE_RATIO_GAP = 0.10  # median width or height differing by more than 10 %


def class_profile(formats: list[str | None], widths: np.ndarray, heights: np.ndarray) -> dict[str, Any]:
    n = len(formats)
    counts = Counter(f or "unknown" for f in formats)
    shares = {k: v / n for k, v in counts.most_common()} if n else {}
    ok = ~(np.isnan(widths) | np.isnan(heights)) if n else np.zeros(0, bool)
    sizes = Counter(f"{int(w)}x{int(h)}" for w, h in zip(widths[ok], heights[ok]))
    return {
        "n": n,
        "formats": shares,
        "format_counts": dict(counts.most_common()),
        "median_width": float(np.median(widths[ok])) if ok.any() else None,
        "median_height": float(np.median(heights[ok])) if ok.any() else None,
        "common_sizes": dict(sizes.most_common(5)),
        "distinct_sizes": len(sizes),
    }


def _describe(name: str, p: dict[str, Any]) -> str:
    fmts = ", ".join(f"{share:.0%} {fmt}" for fmt, share in list(p["formats"].items())[:3]) or "no images"
    if p["median_width"] is None:
        return f"{name}: {fmts}"
    return f"{name}: {fmts}, median {p['median_width']:g}x{p['median_height']:g}"


def format_size_check(labels: np.ndarray, formats: list[str | None], widths: np.ndarray,
                      heights: np.ndarray) -> dict[str, Any]:
    """Per-class format shares and size statistics, and warnings when the classes differ."""
    labels = np.asarray(labels)
    w = np.asarray(widths, dtype=np.float64)
    h = np.asarray(heights, dtype=np.float64)
    prof = {name: class_profile([formats[i] for i in np.flatnonzero(labels == lab)], w[labels == lab], h[labels == lab])
            for name, lab in (("real", 0), ("fake", 1))}
    real, fake = prof["real"], prof["fake"]
    result: dict[str, Any] = {"real": real, "fake": fake, "format_differs": False, "size_differs": False, "warnings": []}
    if not real["n"] or not fake["n"]:
        return result
    every = set(real["formats"]) | set(fake["formats"])
    gap = max(abs(real["formats"].get(f, 0.0) - fake["formats"].get(f, 0.0)) for f in every)
    result["format_share_gap"] = gap
    summary = f"{_describe('real', real)}; {_describe('fake', fake)}"
    if gap > FORMAT_SHARE_GAP:
        result["format_differs"] = True
        result["warnings"].append(f"the classes differ in file format ({summary}): a detector can separate them "
                                  "by compression alone; evaluate with --align-format jpeg:96 to remove that shortcut")
    if real["median_width"] and fake["median_width"]:
        ratio = max(abs(real["median_width"] / fake["median_width"] - 1), abs(real["median_height"] / fake["median_height"] - 1))
        result["median_size_ratio_gap"] = ratio
        if ratio > SIZE_RATIO_GAP:
            result["size_differs"] = True
            result["warnings"].append(f"the classes differ in image size ({summary}): resizing leaves class-correlated "
                                      "traces (format alignment does not change sizes)")
    result["summary"] = summary
    return result
