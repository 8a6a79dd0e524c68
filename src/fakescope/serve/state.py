"""Readiness: the service answers at once, and scores once its pipeline is loaded.

`fakescope serve` starts listening before the (slow) model load, so a probe can tell "alive"
(`/healthz`, 200 at once) from "ready" (`/readyz`, 503 until the pipeline is loaded and warmed up,
then 200). Until then `/v1/detect` and `/v1/model` answer 503 `not_ready` with `Retry-After`.
The app is given either a loaded Detector (ready at once) or a function that loads one, run on
a background thread when the app starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import ApiError
from .limits import ServiceLimits
from .metrics import ServiceMetrics
from .scoring import Scorer

Loader = Callable[[], Any]  # () -> fakescope.verdict.detector.Detector


class ServiceState:
    def __init__(self, source: Any, limits: ServiceLimits, metrics: ServiceMetrics) -> None:
        self.limits = limits
        self.metrics = metrics
        self.detector: Any = None
        self._name: str | None = None
        self.scorer: Scorer | None = None
        self.error: BaseException | None = None
        self.on_failure: Callable[[BaseException], None] | None = None  # the CLI stops the server
        self._loader: Loader | None = None
        self._thread: threading.Thread | None = None
        if callable(source) and not hasattr(source, "predict"):
            self._loader = source
        else:
            self._set(source, 0.0)

    @property
    def ready(self) -> bool:
        return self.scorer is not None

    @property
    def name(self) -> str | None:
        return self._name

    def _set(self, detector: Any, seconds: float) -> None:
        self.detector = detector
        self._name = str(detector.info()["name"])
        self.scorer = Scorer(detector, self.limits)
        self.metrics.model_load.set(seconds)
        self.metrics.ready.set(1)

    def load(self) -> None:
        """Run the loader (blocking); afterwards the service is ready or `error` says why not."""
        if self._loader is None:
            return
        t0 = time.perf_counter()
        try:
            detector = self._loader()
        except BaseException as exc:  # reported by the CLI after the server stops
            self.error = exc
            if self.on_failure is not None:
                self.on_failure(exc)
            return
        self._set(detector, time.perf_counter() - t0)

    def start_loading(self) -> None:
        if self._loader is not None and self._thread is None and not self.ready:
            self._thread = threading.Thread(target=self.load, name="fakescope-load", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def require(self) -> Scorer:
        """The scorer, or 503 not_ready while loading (load_failed if loading failed)."""
        if self.scorer is not None:
            return self.scorer
        if self.error is not None:
            raise ApiError(503, "load_failed", "the pipeline failed to load; see the server's log")
        raise ApiError(503, "not_ready", "the pipeline is still loading; retry shortly", headers={"Retry-After": "1"})
