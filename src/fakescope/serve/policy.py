"""Who may call the service and how much: the access policy beside the body limits (`ServiceLimits`).

    ServicePolicy(api_keys=load_api_keys("keys.txt"), rate=parse_rate("5/s"), burst=10,
                  max_in_flight=64, request_timeout=60)

Every refusal it causes is the service's one JSON error shape (fakescope.serve.errors):
401 `unauthorized`, 429 `rate_limited` (+ Retry-After), 503 `busy` (+ Retry-After), 504
`request_timeout`. The routes it guards are in `needs_key` / `is_limited`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakescope.errors import UserError

from .access import ApiKeys
from .ratelimit import Rate, default_burst

# Always open: liveness and readiness probes, the page and its files, the API documentation.
# Liveness and metrics are also exempt from the in-flight limit: an overloaded instance must
# still say it is alive and be observable.
NOT_LIMITED = frozenset({"/healthz", "/metrics"})


@dataclass(frozen=True)
class ServicePolicy:
    api_keys: ApiKeys = field(default_factory=lambda: ApiKeys([]))
    rate: Rate | None = None  # per key (per client address without keys), over /v1/*
    burst: int | None = None  # token-bucket size; default: one period's worth of the rate
    max_in_flight: int | None = None  # requests handled at once before 503 busy
    request_timeout: float | None = None  # seconds before 504 request_timeout
    metrics_public: bool = False  # /metrics without a key even when keys are set
    request_log: bool = True  # one JSON line per request on stderr

    def __post_init__(self) -> None:
        if self.burst is not None and self.rate is None:
            raise UserError("--burst sizes the rate limit's bucket: give --rate-limit too")
        if self.burst is not None and self.burst < 1:
            raise UserError(f"--burst must be at least 1, not {self.burst}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise UserError(f"--max-connections must be at least 1, not {self.max_in_flight}")
        if self.request_timeout is not None and self.request_timeout <= 0:
            raise UserError(f"--request-timeout must be positive, not {self.request_timeout}")

    @property
    def bucket_size(self) -> int | None:
        if self.rate is None:
            return None
        return self.burst if self.burst is not None else default_burst(self.rate)

    def needs_key(self, path: str) -> bool:
        if not self.api_keys:
            return False
        if path == "/metrics":
            return not self.metrics_public
        return is_api(path)

    def is_limited(self, path: str) -> bool:
        """Paths the rate limit counts: the API itself (the page and probes are cheap)."""
        return self.rate is not None and is_api(path)


def is_api(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")
