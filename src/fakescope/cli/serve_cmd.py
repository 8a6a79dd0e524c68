"""`fakescope serve`: the HTTP service and its web page for one model."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Optional

import typer

from .app import UsageProblem, app, user_errors

MIB = 1024 * 1024


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so that a busy port is a one-line error (exit 2)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageProblem(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    # The protocol must be IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets
    # whose proto says TCP, and without it Nagle + delayed ACK add ~40 ms to keep-alive responses.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


@app.command("serve")
@user_errors
def serve(
    model: Optional[str] = typer.Option(None, "--model", help="One model alone (a directory, a shipped name or hf:OWNER/NAME[@REVISION]), with its domain check and operating point (default: the shipped pipeline)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="A pipeline file (JSON or TOML) instead of the shipped one."),
    watermarks: bool = typer.Option(False, "--watermarks", help="Also decode invisible watermarks as evidence (slower)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 exposes the service)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free port)."),
    backend: str = typer.Option("torch", "--backend", help="Inference backend: torch or onnx."),
    threads: int = typer.Option(
        1, "--threads", min=1,
        help="Intra-op threads per forward pass. Requests already run in parallel on worker threads, so 1 "
             "avoids oversubscribing cores (measured: benchmarks/RESULTS.md); raise it for big models and few clients."),
    max_file_mb: float = typer.Option(20.0, "--max-file-mb", min=0.001, help="Largest accepted file (MiB): 413 over it."),
    max_request_mb: float = typer.Option(64.0, "--max-request-mb", min=0.001, help="Largest request body (MiB): 413."),
    max_files: int = typer.Option(16, "--max-files", min=1, help="Images per request: 413 over it."),
    max_pixels: int = typer.Option(40_000_000, "--max-pixels", min=1, help="Decoded pixels per image: 413 over it."),
    max_connections: Optional[int] = typer.Option(
        None, "--max-connections", min=1,
        help="Requests handled at once before answering 503 busy (JSON, Retry-After: 1); /healthz and /metrics are exempt (default: unlimited)."),
    api_key_file: Optional[Path] = typer.Option(
        None, "--api-key-file",
        help="File of API keys, one per line (# comments): /v1/* then needs Authorization: Bearer KEY (401 otherwise). Also $FAKESCOPE_API_KEYS (comma-separated)."),
    rate_limit: Optional[str] = typer.Option(
        None, "--rate-limit", help="Requests per key (per client address without keys) to /v1/*, e.g. 5/s or 100/min: 429 + Retry-After over it."),
    burst: Optional[int] = typer.Option(None, "--burst", help="Requests allowed at once before the rate applies (token bucket; default: one period's worth)."),
    request_timeout: float = typer.Option(60.0, "--request-timeout", min=0, help="Seconds before a request is answered 504 request_timeout (0: no time-out)."),
    shutdown_timeout: float = typer.Option(20.0, "--shutdown-timeout", min=0, help="On SIGTERM/SIGINT: seconds to let requests in flight finish before stopping."),
    metrics_public: bool = typer.Option(False, "--metrics-public", help="Serve /metrics without a key even when keys are set (default: it needs one)."),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-For/-Proto are trusted for the client address (uvicorn's; default 127.0.0.1, or $FORWARDED_ALLOW_IPS)."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="One JSON line per request on stderr (request id, route, status, duration, files, client; never a key)."),
) -> None:
    """Serve the verdict pipeline over HTTP: POST /v1/detect, GET /v1/model, /healthz, /readyz, /metrics, the web page at /, docs at /docs."""
    from fakescope.serve.access import load_api_keys
    from fakescope.serve.limits import ServiceLimits  # light: the heavy imports wait for a bound port
    from fakescope.serve.policy import ServicePolicy
    from fakescope.serve.ratelimit import parse_rate

    if backend not in ("torch", "onnx"):
        raise UsageProblem(f"--backend must be torch or onnx, not {backend!r}")
    if model is not None and pipeline is not None:
        raise UsageProblem("--model serves one model alone and --pipeline a pipeline file: give one of them")
    limits = ServiceLimits(
        max_file_bytes=int(max_file_mb * MIB), max_request_bytes=int(max_request_mb * MIB),
        max_files=max_files, max_pixels=max_pixels,
    )
    policy = ServicePolicy(
        api_keys=load_api_keys(api_key_file), rate=parse_rate(rate_limit) if rate_limit is not None else None,
        burst=burst, max_in_flight=max_connections, request_timeout=request_timeout or None,
        metrics_public=metrics_public, request_log=access_log,
    )
    sock = _bind(host, port)  # before the slow imports and model load: a busy port fails fast
    from fakescope.serve import create_app

    def load() -> object:
        from fakescope.verdict.detector import Detector

        try:
            detector = Detector.load(model, pipeline=pipeline, backend=backend, threads=threads,
                                     watermarks=watermarks or None)
        except ImportError as exc:
            raise UsageProblem(f"--backend {backend} needs an optional dependency: {exc}") from None
        _warm_up(detector)
        return detector

    # The server listens while the pipeline loads: /healthz answers at once, /readyz once it is loaded.
    application = create_app(load, limits=limits, policy=policy)
    _run(application, sock, policy=policy, shutdown_timeout=shutdown_timeout, forwarded_allow_ips=forwarded_allow_ips)


def _warm_up(detector: object) -> None:
    """One forward pass before accepting requests, so the first client does not pay for lazy set-up."""
    from PIL import Image

    size = detector.config.preprocess.input_size  # type: ignore[attr-defined]
    detector.predict(Image.new("RGB", (size, size), (128, 128, 128)))  # type: ignore[attr-defined]


def _run(application: object, sock: socket.socket, *, policy: object, shutdown_timeout: float,
         forwarded_allow_ips: Optional[str]) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    # uvicorn's own logs stay at warnings: the request log is the app's JSON lines (fakescope.serve.observe),
    # and a pipeline that fails to load leaves exactly one line, the error.
    config = uvicorn.Config(application, log_level="warning", access_log=False,  # type: ignore[arg-type]
                            timeout_graceful_shutdown=shutdown_timeout, forwarded_allow_ips=forwarded_allow_ips)
    server = uvicorn.Server(config)
    service = application.state.service  # type: ignore[attr-defined]

    def stop(_exc: BaseException) -> None:
        server.should_exit = True

    service.on_failure = stop

    def announce() -> None:
        if service.wait():
            keys = len(policy.api_keys)  # type: ignore[attr-defined]
            access = f"{keys} API key{'s' * (keys != 1)}" if keys else "no API keys: open to all"
            typer.echo(f"fakescope serve: {service.detector!r} on http://{host}:{port}/ (API docs: /docs; {access})",
                       err=True)

    import signal
    import threading

    service.start_loading()  # now, not at app start-up: announce() waits on it
    threading.Thread(target=announce, daemon=True).start()
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully, with the handler
    # it found installed; with Python's defaults the process would then die of SIGTERM (or raise
    # KeyboardInterrupt). A graceful stop is a clean exit: status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run(sockets=[sock])
    if service.error is not None:
        raise service.error
