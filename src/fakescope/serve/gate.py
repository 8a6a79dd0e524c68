"""The access policy as one pure ASGI middleware, in the order a request meets it:

1. in-flight limit (`--max-connections`): over it, 503 `busy` with `Retry-After: 1`. Counted in
   the app, per request being handled, so the answer is the service's JSON (uvicorn's own
   `limit_concurrency` answers plain text before the app sees the request). /healthz and /metrics
   are exempt: an overloaded instance still reports that it is alive.
2. API key (`/v1/*`, and `/metrics` unless public): 401 `unauthorized` with `WWW-Authenticate: Bearer`.
3. rate limit (`/v1/*`), one bucket per key or per client address: 429 `rate_limited` + `Retry-After`.
4. time-out (`--request-timeout`): a request not answered in time gets 504 `request_timeout`
   (a gateway-style time-out: the service took too long, retrying may help; 503 stays the answer
   for "not ready" and "busy"). The work already handed to a worker thread finishes in the
   background (a forward pass cannot be interrupted); its late result is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response
from .observe import request_info
from .policy import NOT_LIMITED, ServicePolicy
from .ratelimit import RateLimiter

CHALLENGE = 'Bearer realm="fakescope"'


def _authorization(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            return value.decode("latin-1")
    return None


class Gate:
    def __init__(self, app: ASGIApp, *, policy: ServicePolicy) -> None:
        self.app = app
        self.policy = policy
        size = policy.bucket_size
        self.limiter = RateLimiter(policy.rate, size) if policy.rate is not None and size is not None else None
        self.in_flight = 0  # touched only on the event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.policy.max_in_flight
        counted = limit is not None and path not in NOT_LIMITED
        if counted and self.in_flight >= limit:
            await self._refuse(ApiError(503, "busy", f"the service is handling {limit} requests already; retry shortly",
                                        headers={"Retry-After": "1"}), scope, receive, send)
            return
        if counted:
            self.in_flight += 1
        try:
            refusal = self._check(scope, path)
            if refusal is not None:
                await self._refuse(refusal, scope, receive, send)
            elif self.policy.request_timeout is not None:
                await self._with_timeout(scope, receive, send, self.policy.request_timeout)
            else:
                await self.app(scope, receive, send)
        finally:
            if counted:
                self.in_flight -= 1

    def _check(self, scope: Scope, path: str) -> ApiError | None:
        info = request_info(scope)
        if self.policy.needs_key(path):
            authorization = _authorization(scope)
            name = self.policy.api_keys.identify(authorization)
            if name is None:
                # The two cases are told apart, the key never repeated (RFC 6750's error="invalid_token").
                if authorization:
                    return ApiError(401, "unauthorized", "the API key is not valid",
                                    headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
                return ApiError(401, "unauthorized", "this service needs an API key: send Authorization: Bearer KEY",
                                headers={"WWW-Authenticate": CHALLENGE})
            if info is not None:
                info.key = name
        if self.limiter is not None and self.policy.is_limited(path):
            who = (info.key if info is not None and info.key else None) or f"address:{_client(scope)}"
            wait = self.limiter.take(who)
            if wait:
                rate = self.limiter.rate.text
                return ApiError(429, "rate_limited",
                                f"rate limit of {rate} (burst {self.limiter.burst}) reached; retry in {wait} s",
                                headers={"Retry-After": str(wait)})
        return None

    @staticmethod
    async def _refuse(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(error)(scope, receive, send)

    async def _with_timeout(self, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
        started = False
        abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return  # the client already has its 504
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        # The handler runs as its own task: waiting on it with a deadline works even while it
        # awaits a worker thread, which cancellation alone would wait out.
        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            done, _ = await asyncio.wait({task}, timeout=seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done or started:  # answered in time, or an answer already under way: let it finish
            await task
            return
        abandoned = True
        task.cancel()
        task.add_done_callback(_retrieve)
        await error_response(ApiError(504, "request_timeout",
                                      f"the request was not answered within {seconds:g} s"))(scope, receive, send)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _retrieve(task: asyncio.Task) -> None:
    """Collect an abandoned handler's outcome so asyncio does not report it as never retrieved."""
    with contextlib.suppress(BaseException):
        task.result()
