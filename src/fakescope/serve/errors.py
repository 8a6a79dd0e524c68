"""Every error the service returns is JSON: `{"error": {"code", "message"[, "files"]}}`.

`ApiError` carries an HTTP status and a stable machine code; the handlers installed by
`install_error_handlers` turn it, Starlette's HTTP errors (404, 405), request validation errors
and any unexpected exception into that one shape, so a client never sees an HTML error page or
a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("fakescope.serve")

# Starlette's own HTTP errors get the same stable codes as ours.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
    504: "request_timeout",
}


class ApiError(Exception):
    """A refused request: HTTP status, stable code, one-line message, optional per-file problems."""

    def __init__(self, status: int, code: str, message: str, files: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.files = files
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.files is not None:
            error["files"] = self.files
        return {"error": error}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None and exc.files:
            metrics.count_refused(exc.files)  # files refused, by reason (fakescope_files_refused)
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no such resource: {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        return error_response(ApiError(exc.status_code, code, message, headers=getattr(exc, "headers", None)))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors())
        return error_response(ApiError(422, "invalid_request", problems or "invalid request"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the client's fault: log the traceback here, never send it to the client.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal_error", "internal server error (logged on the server)"))
