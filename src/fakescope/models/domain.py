"""What a model was trained on, and whether an image lies inside it (the size/format part of a domain).

A model's config.json carries `"domain"`: the image sizes it saw before preprocessing (min, max and
quantiles of width and height), the container formats, the generators, the data fingerprint, and
the out-of-distribution score fitted on its features (models/ood.py). A 32-px CIFAKE specialist
judges a 1024-px photograph from a 32-px thumbnail; its score there means nothing, so such an image
is outside its domain whatever the score says (DESIGN.md section 8).

The size rule: each side must lie within [low / tolerance, high x tolerance], where low and high
are the 0.5th and 99.5th percentiles of that side in the training data (robust to a few odd files)
and `tolerance` is recorded in the domain (default 1.5: a 32-px model accepts 22-48 px).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fakescope.errors import UserError

SIZE_QUANTILES = (0.005, 0.05, 0.5, 0.95, 0.995)
SIZE_TOLERANCE = 1.5
# Formats seen in fewer than this share of the training images do not make a format "known".
FORMAT_MIN_SHARE = 0.001


def _quantile_key(q: float) -> str:
    return f"p{q * 100:g}"


def summarize_sizes(widths: Iterable[int], heights: Iterable[int]) -> dict[str, Any]:
    """min/max and quantiles of each side: the record a domain keeps of the training image sizes."""
    out: dict[str, Any] = {}
    for name, values in (("width", widths), ("height", heights)):
        arr = np.asarray(list(values), dtype=np.float64)
        if arr.size == 0:
            out[name] = None
            continue
        side = {"min": int(arr.min()), "max": int(arr.max())}
        side.update({_quantile_key(q): float(np.quantile(arr, q)) for q in SIZE_QUANTILES})
        out[name] = side
    return out


def describe_data(sizes: list[tuple[int, int]], formats: list[str | None], generators: Counter,
                  **about: Any) -> dict[str, Any]:
    """The domain record of a set of images (sizes and formats before preprocessing), plus `about`
    (source, split, fingerprint, how the images were chosen)."""
    fmt = Counter(f or "unknown" for f in formats)
    n = len(sizes)
    return {
        **about,
        "n_observed": n,
        "sizes": summarize_sizes([w for w, _ in sizes], [h for _, h in sizes]),
        "size_tolerance": SIZE_TOLERANCE,
        "formats": {k: round(v / n, 6) for k, v in sorted(fmt.items())} if n else {},
        "generators": dict(sorted(generators.items())),
    }


@dataclass(frozen=True)
class DomainCheck:
    inside: bool
    reason: str  # one phrase a person reads: why inside or outside


def _range(side: dict[str, Any], tolerance: float) -> tuple[float, float]:
    low = side.get(_quantile_key(SIZE_QUANTILES[0]), side["min"])
    high = side.get(_quantile_key(SIZE_QUANTILES[-1]), side["max"])
    return low / tolerance, high * tolerance


def trained_sizes(domain: dict[str, Any]) -> str:
    """'32x32' when every training image had one size, else '256-1024 x 256-1024'."""
    s = domain.get("sizes") or {}
    w, h = s.get("width"), s.get("height")
    if not w or not h:
        return "unknown sizes"
    if w["min"] == w["max"] and h["min"] == h["max"]:
        return f"{w['min']}x{h['min']}"
    return f"{w['min']}-{w['max']} x {h['min']}-{h['max']}"


def declared_accepts(min_side: int | None, max_side: int | None = None, any_format: bool = False,
                     why: str = "") -> dict[str, Any] | None:
    """A domain's declared size/format rule (replaces the training-size quantiles), or None for none.

    A model that judges every image at its own resolution (policy "views": the whole image resized plus
    native crops) is not bound to the sizes it happened to see in training; what it can judge is then a
    property of its recipe, declared with `--accept-sizes MIN[-MAX]` and `--any-format` and recorded."""
    if min_side is None and max_side is None and not any_format:
        return None
    return {"min_side": min_side, "max_side": max_side, "any_format": bool(any_format), "why": why}


def parse_accepts(sizes: str | None, any_format: bool, why: str = "") -> dict[str, Any] | None:
    """`--accept-sizes MIN[-MAX]` ("64-", "64-4096") and `--any-format` as a declared rule."""
    if sizes is None:
        return declared_accepts(None, None, any_format, why)
    lo, sep, hi = sizes.partition("-")
    try:
        low, high = int(lo), (int(hi) if hi.strip() else None)
    except ValueError:
        raise UserError(f"--accept-sizes {sizes!r}: expected MIN or MIN-MAX in pixels, e.g. 64- or 64-4096") from None
    if low < 1 or (high is not None and high < low):
        raise UserError(f"--accept-sizes {sizes!r}: need 1 <= MIN <= MAX")
    return declared_accepts(low, high, any_format, why)


def _describe_accepts(acc: dict[str, Any]) -> str:
    lo, hi = acc.get("min_side"), acc.get("max_side")
    sides = f"sides {lo or 1}-{hi} px" if hi else f"sides from {lo or 1} px"
    return sides + (", any format" if acc.get("any_format") else "")


def check_image(domain: dict[str, Any] | None, width: int | None, height: int | None,
                fmt: str | None) -> DomainCheck:
    """Is an image of this original size and container format inside the model's training domain?"""
    if not domain or not (domain.get("sizes") or domain.get("accepts")):
        return DomainCheck(True, "domain unknown (the model records no training sizes)")
    if width is None or height is None:
        return DomainCheck(False, "image size unknown")
    if acc := domain.get("accepts"):
        lo, hi = acc.get("min_side") or 1, acc.get("max_side")
        if min(width, height) < lo or (hi is not None and max(width, height) > hi):
            return DomainCheck(False, f"{width}x{height} px; the model declares {_describe_accepts(acc)}")
        if not acc.get("any_format"):
            return _check_format(domain, fmt) or DomainCheck(True, f"{width}x{height} px ({_describe_accepts(acc)})")
        return DomainCheck(True, f"{width}x{height} px {fmt or ''} ({_describe_accepts(acc)})".replace("  ", " "))
    tol = float(domain.get("size_tolerance", SIZE_TOLERANCE))
    sizes = domain["sizes"]
    trained = trained_sizes(domain)
    for value, side in ((width, sizes.get("width")), (height, sizes.get("height"))):
        if side is None:
            continue
        lo, hi = _range(side, tol)
        if not lo <= value <= hi:
            return DomainCheck(False, f"{width}x{height} px; trained on {trained}")
    if outside := _check_format(domain, fmt):
        return outside
    return DomainCheck(True, f"{width}x{height} px {fmt or ''} within the training sizes ({trained})".replace("  ", " "))


def _check_format(domain: dict[str, Any], fmt: str | None) -> DomainCheck | None:
    """Outside when the container format is not among the training formats; None when it is (or unknown)."""
    known = {k for k, share in (domain.get("formats") or {}).items() if share >= FORMAT_MIN_SHARE and k != "unknown"}
    if known and fmt is not None and fmt not in known:
        return DomainCheck(False, f"{fmt} file; trained on {', '.join(sorted(known))} only")
    return None
