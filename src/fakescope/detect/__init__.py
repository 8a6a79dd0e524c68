"""Detection for users: model runners, backends, explanations, export and batch engines.

`fakescope.detect.Detector` is the verdict pipeline's detector (`fakescope.verdict.detector`),
re-exported for compatibility; `ModelDetector` runs one model directory and returns raw scores.
Both are imported on first use: `fakescope inspect` uses detect.collect/inputs without loading
torch (7 s on a busy 2-core machine), and the pipeline sits above this layer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Detector", "ModelDetector"]


def __getattr__(name: str) -> Any:
    if name == "Detector":
        from fakescope.verdict.detector import Detector

        return Detector
    if name == "ModelDetector":
        from .runner import ModelDetector

        return ModelDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
