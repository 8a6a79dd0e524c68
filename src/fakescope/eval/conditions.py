"""Test conditions: degradations and format alignment, each a named, recorded image operation.

A condition is written `kind:param` ("jpeg:65", "resize:112", "blur:3", "noise:5", "crop:224");
`clean` is the identity. Every condition is built on `fakescope.imageops` (the one implementation
of each operation, shared with training augmentation), applied identically to both classes, and
deterministic: noise is seeded from the image's key, so a rerun sees the same pixels.

Format alignment (`jpeg:96` or `png`) re-encodes every test image of both classes before any
degradation: GenImage's reals are JPEG and its fakes PNG, and a detector that learned the
compression looks perfect until the formats are made equal (DESIGN.md, pitfall 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from fakescope import imageops
from fakescope.errors import UserError

CLEAN = "clean"


@dataclass(frozen=True)
class ConditionKind:
    """One kind of operation: how its parameter is read and checked, and what it does."""

    name: str
    parameter: str  # what the number means, for the protocol record
    parse: Callable[[str], float | int]
    valid: Callable[[float], bool]
    apply: Callable[[Image.Image, float, np.random.Generator], Image.Image]
    describe: Callable[[float], str]


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    return float(text)


KINDS: dict[str, ConditionKind] = {}


def register_kind(kind: ConditionKind) -> ConditionKind:
    if kind.name in KINDS:
        raise ValueError(f"condition kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind
    return kind


register_kind(ConditionKind(
    "resize", "shorter side in pixels", _int, lambda v: v >= 8,
    lambda im, v, rng: imageops.downsample_shorter(im, int(v), "bilinear"),
    lambda v: f"down-sample the shorter side to {int(v)} px (bilinear; never up-samples)",
))
register_kind(ConditionKind(
    "jpeg", "JPEG quality", _int, lambda v: 1 <= v <= 100,
    lambda im, v, rng: imageops.jpeg_reencode(im, int(v)),
    lambda v: f"re-encode as JPEG quality {int(v)} (4:2:0)",
))
register_kind(ConditionKind(
    "blur", "Gaussian sigma in pixels", _float, lambda v: v > 0,
    lambda im, v, rng: imageops.gaussian_blur(im, float(v)),
    lambda v: f"Gaussian blur, sigma {v:g} px",
))
register_kind(ConditionKind(
    "noise", "Gaussian noise sigma in 0-255 units", _float, lambda v: v > 0,
    lambda im, v, rng: imageops.add_gaussian_noise(im, float(v), rng),
    lambda v: f"additive Gaussian noise, sigma {v:g} (0-255 scale), seeded per image key",
))
register_kind(ConditionKind(
    "crop", "crop side in pixels", _int, lambda v: v >= 8,
    lambda im, v, rng: imageops.center_crop(im, int(v)),
    lambda v: f"centre crop {int(v)}x{int(v)} (smaller images reflect-padded)",
))

# GenImage Table 5: down-sampling to 112 and 64 px, JPEG quality 65 and 30, blur sigma 3 and 5.
PRESETS: dict[str, tuple[str, ...]] = {
    "genimage": ("resize:112", "resize:64", "jpeg:65", "jpeg:30", "blur:3", "blur:5"),
}


def _seed(key: str, condition: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{condition}\0{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class Condition:
    """A parsed condition: `name` is canonical ("jpeg:65", "blur:3"), `value` its parameter."""

    name: str
    kind: str | None  # None for clean
    value: float | None = None

    def apply(self, im: Image.Image, key: str) -> Image.Image:
        if self.kind is None:
            return im
        return KINDS[self.kind].apply(im, self.value, _seed(key, self.name))

    def record(self) -> dict[str, Any]:
        if self.kind is None:
            return {"name": self.name, "operation": "none (the images as stored)"}
        kind = KINDS[self.kind]
        return {"name": self.name, "kind": self.kind, "parameter": kind.parameter, "value": self.value,
                "operation": kind.describe(self.value)}


def parse_condition(text: str) -> Condition:
    """`kind:param` -> Condition; UserError naming the known kinds when it is not one."""
    raw = text.strip()
    if raw.lower() == CLEAN:
        return Condition(CLEAN, None)
    kind_name, sep, param = raw.partition(":")
    kind = KINDS.get(kind_name.strip().lower())
    if kind is None or not sep:
        known = ", ".join(f"{k}:N" for k in KINDS)
        raise UserError(f"unknown condition {text!r} (known: clean, {known}; presets: {', '.join(PRESETS)})")
    try:
        value = kind.parse(param.strip())
    except ValueError:
        raise UserError(f"condition {text!r}: {param!r} is not a valid {kind.parameter}") from None
    if not kind.valid(value):
        raise UserError(f"condition {text!r}: {kind.parameter} {value} is out of range")
    return Condition(f"{kind.name}:{value:g}", kind.name, value)


def parse_conditions(specs: Iterable[str]) -> list[Condition]:
    """`clean` first, then each listed condition once, in order. Items may be comma-separated
    lists and preset names ("genimage" = GenImage Table 5's six)."""
    names: list[str] = []
    for spec in specs:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            names.extend(PRESETS.get(part.lower(), (part,)))
    out = [Condition(CLEAN, None)]
    for name in names:
        cond = parse_condition(name)
        if cond.name not in {c.name for c in out}:
            out.append(cond)
    return out


@dataclass(frozen=True)
class Alignment:
    """Re-encode every test image the same way before any degradation (format alignment)."""

    format: str  # "JPEG" or "PNG"
    quality: int | None = None
    name: str = field(default="")

    def apply(self, im: Image.Image) -> Image.Image:
        if self.format == "JPEG":
            return imageops.jpeg_reencode(im, int(self.quality or 96))
        return imageops.png_reencode(im)

    def encode(self, im: Image.Image) -> bytes:
        """The bytes the alignment produces (what the model's input was decoded from)."""
        if self.format == "JPEG":
            return imageops.jpeg_bytes(im, int(self.quality or 96))
        return imageops.png_bytes(im)

    def record(self) -> dict[str, Any]:
        what = f"JPEG quality {self.quality} (4:2:0)" if self.format == "JPEG" else "PNG (lossless)"
        return {"enabled": True, "spec": self.name, "format": self.format, "quality": self.quality,
                "operation": f"every image of both classes re-encoded as {what} before any degradation"}


def parse_alignment(text: str | None) -> Alignment | None:
    """`jpeg:Q` or `png` (None/"none": no alignment)."""
    if text is None or text.strip().lower() in ("", "none", "off"):
        return None
    raw = text.strip().lower()
    if raw == "png":
        return Alignment("PNG", None, "png")
    kind, sep, q = raw.partition(":")
    if kind == "jpeg":
        try:
            quality = int(q) if sep else 96
        except ValueError:
            raise UserError(f"--align-format {text!r}: quality {q!r} is not an integer") from None
        if not 1 <= quality <= 100:
            raise UserError(f"--align-format {text!r}: JPEG quality must be 1-100")
        return Alignment("JPEG", quality, f"jpeg:{quality}")
    raise UserError(f"--align-format must be jpeg:QUALITY (e.g. jpeg:96) or png, not {text!r}")


NO_ALIGNMENT: dict[str, Any] = {"enabled": False, "operation": "none: images scored in their stored formats"}
