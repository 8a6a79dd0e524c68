"""Per-client rate limit: one token bucket per API key (or per client address without keys).

`--rate-limit 5/s --burst 10`: a client may send 10 requests at once, then 5 per second; a request
finding its bucket empty is refused with 429 and `Retry-After` (whole seconds, rounded up) saying
when the next token arrives. A token bucket is a few lines; what the rate-limit libraries add
(storage back-ends, sliding windows) this single-process service does not need, and none of them
reports the wait a client must be told in `Retry-After`.

Memory is bounded: at most `max_clients` buckets are kept; when a new client would exceed that,
the least recently seen bucket is dropped (a dropped client starts again with a full bucket,
which is what its bucket would hold after `burst / rate` idle seconds anyway).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fakescope.errors import UserError

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    """Requests per `period` seconds, as the user wrote it (`5/s`, `100/min`)."""

    count: float
    period: float
    text: str

    @property
    def per_second(self) -> float:
        return self.count / self.period


def parse_rate(text: str) -> Rate:
    match = _RATE.match(text.lower())
    if not match or match.group(2) not in _UNITS or float(match.group(1)) <= 0:
        raise UserError(f"--rate-limit must look like 5/s or 100/min (a positive number per s, min or h), not {text!r}")
    return Rate(float(match.group(1)), _UNITS[match.group(2)], text.strip())


def default_burst(rate: Rate) -> int:
    """One period's worth of requests (at least 1): `100/min` may come all at once, then wait."""
    return max(1, math.ceil(rate.count))


class RateLimiter:
    """`take(client)` -> 0 if the request may go ahead, else the seconds to wait (Retry-After)."""

    def __init__(self, rate: Rate, burst: int, *, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1:
            raise UserError(f"--burst must be at least 1, not {burst}")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> int:
        now = self._clock()
        per_second = self.rate.per_second
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * per_second)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0
            else:
                wait = max(1, math.ceil((1.0 - tokens) / per_second))
            self._buckets[client] = (tokens, now)  # most recently seen last
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
