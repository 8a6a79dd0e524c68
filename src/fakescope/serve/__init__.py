"""The HTTP service (`fakescope serve`): a FastAPI app around one `Detector`, with a web page.

    from fakescope.serve import ServiceLimits, ServicePolicy, create_app
    app = create_app(Detector.load(DIR), limits=ServiceLimits(max_files=4),
                     policy=ServicePolicy(api_keys=load_api_keys("keys.txt"), rate=parse_rate("5/s")))

(`load_api_keys`: fakescope.serve.access; `parse_rate`: fakescope.serve.ratelimit; deployment: docs/deploy.md.)

`create_app` is imported on first use (it pulls in FastAPI and torch), so reading the limits stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .limits import ServiceLimits
from .policy import ServicePolicy

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app

__all__ = ["ServiceLimits", "ServicePolicy", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'fakescope.serve' has no attribute {name!r}")
