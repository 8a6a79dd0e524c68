"""The model contract: what `config.json` beside `model.safetensors` says about a detector.

Everything needed to rebuild the network and to feed it exactly as it was trained lives here:
architecture and its arguments, the preprocessing (size, resize/crop policy, interpolation,
normalisation, decoder), the label and generator vocabularies, the decision threshold, and the
record of how it was trained (seed, data fingerprint, options, library versions, metrics).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from fakescope.errors import UserError

FORMAT_VERSION = 1
TASKS = ("binary", "generator", "both")

# How an image of any size becomes the network's square input. Resizing leaves interpolation
# traces that correlate with the class (DESIGN.md, pitfall 2), so the policy is explicit and recorded.
RESIZE_POLICIES = {
    "resize": "resize the whole image to input_size x input_size (aspect not kept)",
    "resize_crop": "resize the shorter side to input_size / crop_pct, then centre-crop input_size",
    "crop": "centre-crop input_size at native resolution, no resampling (reflect-pad smaller images)",
    "views": "a column of 1 + native_crops squares: the whole image (shorter side resized, centre crop), then "
             "native-resolution crops on an even grid over it (models/views.py)",
}
# Test-time views a config may ask for (implemented in models/tta.py; named here so configs are
# checked without importing torch).
TTA_VIEWS = ("hflip",)
# How the resize/crop arithmetic rounds: fakescope's own, or torchvision's (Resize truncates the longer
# side, CenterCrop rounds its offset half-to-even and pads small images with black) - the transforms
# published detectors were tested with, kept exactly for converted models.
GEOMETRIES = ("fakescope", "torchvision")
# Multi-crop inference (models/multicrop.py): where the K crops sit inside the preprocessed canvas,
# and how their logits become one score.
MULTICROP_HOW = ("grid", "random")
MULTICROP_COMBINE = ("mean-logit",)
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box")


def check_tta(views: list[str], what: str = "test-time augmentation") -> list[str]:
    """`views` as a list, or a UserError naming `what` (the config key or the CLI flag) when one is unknown."""
    if unknown := [v for v in views if v not in TTA_VIEWS]:
        raise UserError(f"unknown {what} {unknown}; known: {list(TTA_VIEWS)}")
    return list(views)


@dataclass
class PreprocessConfig:
    input_size: int = 224
    resize: str = "resize_crop"
    crop_pct: float = 1.0
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    decoder: str = "pillow-rgb8"  # fakescope.data.decode: EXIF transpose, alpha over white, 16->8 bit
    geometry: str = "fakescope"  # GEOMETRIES; omitted from config.json when default (older readers keep working)
    native_crops: int = 0  # policy "views": native crops below the whole view; omitted from config.json when 0

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise UserError(f"resize policy {self.resize!r} not in {sorted(RESIZE_POLICIES)}")
        if self.geometry not in GEOMETRIES:
            raise UserError(f"geometry {self.geometry!r} not in {GEOMETRIES}")
        if self.interpolation not in INTERPOLATIONS:
            raise UserError(f"interpolation {self.interpolation!r} not in {INTERPOLATIONS}")
        if self.input_size < 8:
            raise UserError(f"input_size {self.input_size} is too small")
        self.native_crops = int(self.native_crops)
        if (self.resize == "views") != (self.native_crops > 0):
            raise UserError("policy 'views' takes native_crops >= 1, and native_crops needs policy 'views'")
        if self.native_crops and math.isqrt(self.native_crops) ** 2 != self.native_crops:
            raise UserError(f"native_crops must be a square number (1, 4, 9, ...), not {self.native_crops}")
        self.mean = tuple(float(v) for v in self.mean)  # type: ignore[assignment]
        self.std = tuple(float(v) for v in self.std)  # type: ignore[assignment]

    @property
    def views(self) -> int:
        """Squares in the canvas: 1, or the whole view plus the native crops (policy "views")."""
        return 1 + self.native_crops

    @property
    def canvas_shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of the uint8 array preprocessing gives one image."""
        return (self.input_size * self.views, self.input_size, 3)

    def describe(self) -> str:
        how = "" if self.geometry == "fakescope" else f", {self.geometry} rounding"
        crops = f" + {self.native_crops} native crops" if self.native_crops else ""
        return (f"{self.input_size}px, {self.resize}{crops} ({self.interpolation}{how}), mean {list(self.mean)}, "
                f"std {list(self.std)}")


@dataclass
class MultiCropConfig:
    """Judge an image from K crops of `size` px taken from the preprocessed canvas (input_size), at
    native resolution; the network trains on single `size` px crops. "grid": an even n x n grid
    (K = n * n, corners included); "random": K positions drawn from `seed` (the same on every run)."""

    crops: int = 4
    size: int = 128
    how: str = "grid"
    seed: int = 0
    combine: str = "mean-logit"

    def __post_init__(self) -> None:
        self.crops, self.size, self.seed = int(self.crops), int(self.size), int(self.seed)
        if self.how not in MULTICROP_HOW:
            raise UserError(f"multicrop how {self.how!r} not in {MULTICROP_HOW}")
        if self.combine not in MULTICROP_COMBINE:
            raise UserError(f"multicrop combine {self.combine!r} not in {MULTICROP_COMBINE}")
        if self.crops < 1:
            raise UserError("multicrop needs at least one crop")
        if self.how == "grid" and round(self.crops ** 0.5) ** 2 != self.crops:
            raise UserError(f"a multicrop grid needs a square number of crops (1, 4, 9, 16, ...), not {self.crops}")
        if self.size < 8:
            raise UserError(f"multicrop size {self.size} is too small")

    def describe(self) -> str:
        return f"{self.crops} crops of {self.size}px ({self.how}{', seed %d' % self.seed if self.how == 'random' else ''}), {self.combine}"


@dataclass
class ModelConfig:
    architecture: str
    task: str = "binary"
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    arch_args: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=lambda: ["real", "fake"])
    generators: list[str] = field(default_factory=list)  # Task B classes, "Real" first
    threshold: float = 0.5
    tta: list[str] = field(default_factory=list)  # test-time views averaged in eval mode (models/tta.py)
    multicrop: MultiCropConfig | None = None  # K native crops per image in eval mode (models/multicrop.py)
    name: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    # What the model was trained on and its OOD threshold (models/domain.py, models/ood.py), and the
    # thresholds for stated error rates (models/operating.py); written by training and `calibrate`.
    domain: dict[str, Any] = field(default_factory=dict)
    operating_point: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UserError(f"task {self.task!r} not in {TASKS}")
        if isinstance(self.preprocess, dict):
            self.preprocess = PreprocessConfig(**self.preprocess)
        self.tta = check_tta(self.tta)
        if isinstance(self.multicrop, dict):
            self.multicrop = MultiCropConfig(**self.multicrop)
        if self.multicrop is not None and self.multicrop.size > self.preprocess.input_size:
            raise UserError(f"multicrop size {self.multicrop.size} exceeds the canvas (input_size {self.preprocess.input_size})")
        if self.task in ("generator", "both") and len(self.generators) < 2:
            raise UserError("a generator head needs at least two classes (Real and one generator)")

    @property
    def network_input_size(self) -> int:
        """The side of what the network itself sees: the crop size with multi-crop, else the input size."""
        return self.multicrop.size if self.multicrop is not None else self.preprocess.input_size

    @property
    def has_binary(self) -> bool:
        return self.task in ("binary", "both")

    @property
    def has_generator(self) -> bool:
        return self.task in ("generator", "both")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preprocess"]["mean"] = list(self.preprocess.mean)
        d["preprocess"]["std"] = list(self.preprocess.std)
        if d["preprocess"]["geometry"] == "fakescope":
            del d["preprocess"]["geometry"]
        if not d["preprocess"]["native_crops"]:
            del d["preprocess"]["native_crops"]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        version = int(d.get("format_version", FORMAT_VERSION))
        if version > FORMAT_VERSION:
            raise UserError(f"config format_version {version} is newer than this fakescope ({FORMAT_VERSION})")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
