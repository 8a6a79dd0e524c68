"""fakescope: tell whether an image was made by an AI generator, and which one.

Heavy modules (torch, timm) are imported on first use, so `import fakescope` and the CLI's
`--help` stay fast, and nothing touches CUDA at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .verdict.detector import Detector

__all__ = ["Detector", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Detector":
        from .verdict.detector import Detector

        return Detector
    raise AttributeError(f"module 'fakescope' has no attribute {name!r}")
