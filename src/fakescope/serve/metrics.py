"""Prometheus metrics of one service instance (`GET /metrics`, text exposition format).

Each app has its own `CollectorRegistry` (never prometheus_client's global one), so that several
apps in one process (the tests create many) count separately. Label values are bounded: routes are
the app's route templates (an unknown path counts as `unmatched`), verdicts the three kinds, and
refusal reasons the service's stable error codes.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

VERDICTS = ("fake", "real", "uncertain")
# Seconds; from a cached health check to a large batch with explanations on CPU.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("fakescope_requests", "HTTP requests answered, by route template and status.",
                                ["route", "status"], registry=r)
        self.latency = Histogram("fakescope_request_duration_seconds", "Time to answer a request, by route template.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.verdicts = Counter("fakescope_verdicts", "Images answered by POST /v1/detect, by verdict.",
                                ["verdict"], registry=r)
        self.files_refused = Counter("fakescope_files_refused", "Uploaded files refused, by reason (error code).",
                                     ["reason"], registry=r)
        self.in_flight = Gauge("fakescope_requests_in_flight", "Requests being handled now.", registry=r)
        self.model_load = Gauge("fakescope_model_load_seconds",
                                "Seconds the service took to load its pipeline and warm it up (0 until loaded, "
                                "and when the app was given a loaded detector).", registry=r)
        self.ready = Gauge("fakescope_ready", "1 once the pipeline is loaded and requests are served.", registry=r)
        for verdict in VERDICTS:  # present from the start, so a rate over them is defined
            self.verdicts.labels(verdict)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def count_verdicts(self, results: list[dict]) -> None:
        for r in results:
            self.verdicts.labels(str(r.get("verdict"))).inc()

    def count_refused(self, files: list[dict]) -> None:
        for f in files:
            self.files_refused.labels(str(f.get("code"))).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
