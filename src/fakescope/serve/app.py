"""The FastAPI application: `create_app(detector, limits=..., policy=...)`.

Routes: `POST /v1/detect`, `GET /v1/model`, `GET /healthz` (alive), `GET /readyz` (pipeline
loaded), `GET /metrics` (Prometheus), the web page at `/` (files under `/static/`, served only
from the package's own folder), and offline API docs at `/docs` rendered from `/openapi.json` by a
page of our own (FastAPI's default docs load Swagger UI from a CDN, which these machines cannot
reach). The access policy (keys, rate limit, in-flight limit, time-out: `policy.py`, `gate.py`)
and the request log and metrics (`observe.py`) wrap every route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakescope.version import __version__
from fakescope.verdict.detector import Detector

from .errors import ApiError, install_error_handlers
from .gate import Gate
from .limits import ServiceLimits
from .metrics import ServiceMetrics
from .observe import RequestObserver, enable_request_log
from .policy import ServicePolicy
from .schemas import API_RESPONSES, ERROR_RESPONSES, PROBE_RESPONSES, DetectResponse, Health, ModelInfo, Ready
from .state import ServiceState
from .upload import read_upload, refuse_unknown_fields

STATIC_DIR = Path(__file__).resolve().parent / "static"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}
FORM_FIELDS = {"explain"}  # the text fields POST /v1/detect reads; DETECT_BODY lists them

# The page and the docs load nothing from elsewhere; the policy makes a browser enforce that.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

DETECT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    # minItems: a request without a file is refused (400 no_files), so the document says so
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                             "description": "One or more images (repeat the field; a file part under another "
                                            "field name is accepted too)."},
                    # a form field is text: the document lists the exact words the service accepts
                    "explain": {"type": "string", "enum": sorted(TRUE_WORDS | FALSE_WORDS),
                                "description": "Same as the explain query parameter (1/true/yes/on: explain)."},
                },
                # any other text field is refused (400 unknown_field): a typo never passes silently
                "additionalProperties": False,
            }
        }
    },
}


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering): add SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _flag(value: str, name: str) -> bool:
    word = value  # exactly the words DETECT_BODY lists, so the document and the service agree
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ApiError(400, "bad_field", f"{name} must be true or false, not {value[:40]!r}")


def model_info(detector: Detector, limits: ServiceLimits) -> dict[str, Any]:
    """detector.info() (the first model, and `pipeline`: its stages and every model's domain and
    operating point) plus the first model's card and the service limits (the page checks sizes with
    them). The training record is left out: it holds server-side paths; so is the pipeline file's path.
    """
    info = detector.info()
    info["pipeline"] = {k: v for k, v in info["pipeline"].items() if k != "file"}
    return {**info, "card": dict(detector.config.card), "limits": limits.to_dict(), "fakescope": __version__}


def create_app(detector: Detector | Callable[[], Detector], *, limits: ServiceLimits | None = None,
               policy: ServicePolicy | None = None) -> FastAPI:
    """The service for one detector: a loaded one (ready at once) or a function that loads it
    (run on a background thread when the app starts; /readyz answers 503 until it is done)."""
    limits = limits or ServiceLimits()
    policy = policy or ServicePolicy()
    metrics = ServiceMetrics()
    service = ServiceState(detector, limits, metrics)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start_loading()
        yield

    app = FastAPI(
        title="fakescope",
        version=__version__,
        description="Detect AI-generated images (P(fake)) and attribute them to their generator.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.limits = limits
    app.state.policy = policy
    app.state.metrics = metrics
    install_error_handlers(app)
    # Added last = outermost: the observer sees (and logs, counts, tags) every answer, refusals included.
    app.add_middleware(Gate, policy=policy)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestObserver, metrics=metrics, routes=app.router.routes, log_requests=policy.request_log)
    if policy.request_log:
        enable_request_log()

    @app.post("/v1/detect", response_model=DetectResponse, responses=ERROR_RESPONSES,
              openapi_extra={"requestBody": DETECT_BODY}, summary="Score one or several images")
    async def detect(request: Request, explain: bool = Query(False, description="Add explanation heatmaps.")):
        """Multipart upload of one or more images -> one verdict (fake, real, uncertain) with its reason
        and the file's evidence per image, in upload order.

        A request is all or nothing: if any file is too large, not an image or corrupt, the whole
        request is refused with that file's status and every problem listed under `error.files`.
        """
        scorer = service.require()
        upload = await read_upload(request, limits)
        refuse_unknown_fields(upload, FORM_FIELDS)
        if "explain" in upload.fields:  # validated even when the query already asks: a bad field is a 400
            explain = _flag(upload.fields["explain"], "explain") or explain
        results = await run_in_threadpool(scorer.detect, upload, explain)
        metrics.count_verdicts(results)
        return {"model": service.name, "pipeline": service.detector.pipeline.name, "results": results}

    @app.get("/v1/model", response_model=ModelInfo, responses=API_RESPONSES,
             summary="The pipeline and models behind the verdicts")
    async def model() -> dict[str, Any]:
        """The pipeline (stages; each model's domain and operating point), the first model's name,
        version, labels, generators, preprocessing, threshold, card metrics, and the limits."""
        service.require()
        return model_info(service.detector, limits)

    @app.get("/healthz", response_model=Health, responses=PROBE_RESPONSES, summary="Liveness check")
    async def healthz() -> dict[str, Any]:
        """Answers as soon as the process serves, also while the pipeline loads (`model` is then null)."""
        return {"status": "ok", "model": service.name}

    @app.get("/readyz", response_model=Ready, responses=PROBE_RESPONSES, summary="Readiness check")
    async def readyz() -> dict[str, Any]:
        """200 once the pipeline is loaded and warmed up; 503 (not_ready) before."""
        service.require()
        return {"status": "ready", "model": service.name}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    from .inspect_route import inspect_router

    app.include_router(inspect_router(limits))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
