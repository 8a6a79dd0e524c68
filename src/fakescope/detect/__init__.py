"""Detection for users: the one-model runner, backends, explanations, export and input handling.

`ModelRunner` (detect/runner.py) runs one model directory and returns raw scores; the public
`fakescope.Detector` is the verdict pipeline above this layer (fakescope/verdict/detector.py).
It is imported on first use: `fakescope inspect` uses detect.collect/inputs without loading
torch (7 s on a busy 2-core machine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelRunner"]


def __getattr__(name: str) -> Any:
    if name == "ModelRunner":
        from .runner import ModelRunner

        return ModelRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
