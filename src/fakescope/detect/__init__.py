"""Detection for users: model runners, backends, explanations, export and batch engines.

`fakescope.detect.Detector` is the verdict pipeline's detector (`fakescope.verdict.detector`),
re-exported here for compatibility and imported on first use (the pipeline sits above this layer);
`ModelDetector` runs one model directory and returns raw scores.
"""

from typing import Any

from .detector import ModelDetector

__all__ = ["Detector", "ModelDetector"]


def __getattr__(name: str) -> Any:
    if name == "Detector":
        from fakescope.verdict.detector import Detector

        return Detector
    raise AttributeError(f"module 'fakescope.detect' has no attribute {name!r}")
