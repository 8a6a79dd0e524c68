"""Per-request bookkeeping, outermost in the app: request id, metrics, one JSON log line.

Every response carries `X-Request-ID`: the client's own when it is sane (1-128 characters of
letters, digits and `._:-`), else a fresh uuid4. Each answered request is counted in the app's
metrics (route template and status, latency) and, unless the log is off, written as one JSON
line on stderr:

    {"ts": "...", "event": "request", "request_id": "...", "method": "POST", "route": "/v1/detect",
     "path": "/v1/detect", "status": 200, "duration_ms": 12.3, "files": 1, "client": "127.0.0.1",
     "key": "key#1"}

`key` is the key's name (its position in the key file), never the key; the Authorization header
is never read here. A bug that escapes the app is answered here as the JSON 500 (with the request
id), and its traceback goes to the server's log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response
from .metrics import ServiceMetrics

INFO_KEY = "fakescope.request"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED = "unmatched"  # one label for every unknown path: metrics stay bounded

request_log = logging.getLogger("fakescope.serve.requests")
log = logging.getLogger("fakescope.serve")


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (pytest and servers swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a log line must never break a request
            self.handleError(record)


def enable_request_log() -> None:
    if not any(isinstance(h, _StderrHandler) for h in request_log.handlers):
        request_log.addHandler(_StderrHandler())
    request_log.setLevel(logging.INFO)
    request_log.propagate = False


@dataclass
class RequestInfo:
    """What the layers below learn about a request and the log line reports."""

    id: str
    route: str
    client: str | None
    key: str | None = None  # the key's name once authenticated
    files: int | None = None  # file parts of an upload, once read


def request_info(scope: Scope) -> RequestInfo | None:
    return scope.get(INFO_KEY)


def note_files(scope: Scope, count: int) -> None:
    info = request_info(scope)
    if info is not None:
        info.files = count


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    return given if given is not None and SANE_REQUEST_ID.match(given) else uuid.uuid4().hex


def route_of(routes: list[BaseRoute], scope: Scope) -> str:
    """The route template a request goes to (a path with the wrong method counts for its route)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
        if match == Match.PARTIAL and partial is None:
            partial = str(getattr(route, "path", UNMATCHED))
    return partial or UNMATCHED


class RequestObserver:
    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics, routes: list[BaseRoute], log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the app's own list: routes added after this middleware still count
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        info = RequestInfo(id=request_id(scope), route=route_of(self.routes, scope),
                           client=client[0] if client else None)
        scope[INFO_KEY] = info
        status: int | None = None
        rid = info.id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        t0 = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s (request %s)", scope.get("method"), scope.get("path"), info.id)
            if status is not None:  # the response had begun: nothing sane can follow it
                raise
            await error_response(ApiError(500, "internal_error", "internal server error (logged on the server)"))(
                scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - t0
            final = status if status is not None else 499  # cancelled before answering (client gone, shutdown)
            self.metrics.observe(info.route, final, seconds)
            if self.log_requests:
                request_log.info(json.dumps(self._line(scope, info, final, seconds), ensure_ascii=False))

    @staticmethod
    def _line(scope: Scope, info: RequestInfo, status: int, seconds: float) -> dict[str, Any]:
        return {
            "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "event": "request",
            "request_id": info.id,
            "method": scope.get("method"),
            "route": info.route,
            "path": str(scope.get("path", ""))[:200],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "files": info.files,
            "client": info.client,
            "key": info.key,
        }
