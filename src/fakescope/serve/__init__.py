"""The HTTP service (`fakescope serve`): a FastAPI app around one `Detector`, with a web page.

    from fakescope.serve import ServiceLimits, create_app
    app = create_app(Detector.load(DIR), limits=ServiceLimits(max_files=4))

`create_app` is imported on first use (it pulls in FastAPI and torch), so reading the limits stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .limits import ServiceLimits

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app

__all__ = ["ServiceLimits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'fakescope.serve' has no attribute {name!r}")
