"""Detection for users: the `Detector` API, backends, explanations, export and batch engines."""

from __future__ import annotations

from typing import Any

__all__ = ["Detector"]


def __getattr__(name: str) -> Any:
    # Lazy: `fakescope inspect` uses detect.collect/inputs without loading torch (7 s on a busy
    # 2-core machine); `from fakescope.detect import Detector` works as before.
    if name == "Detector":
        from .detector import Detector

        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
