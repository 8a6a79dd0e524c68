"""`fakescope serve`: the HTTP service and its web page for one model."""

from __future__ import annotations

import socket
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
        None, "--max-connections", min=1, help="Concurrent connections before answering 503 (default: unlimited)."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log one line per request on stderr."),
) -> None:
    """Serve the verdict pipeline over HTTP: POST /v1/detect, GET /v1/model, GET /healthz, the web page at /, docs at /docs."""
    from fakescope.serve.limits import ServiceLimits  # light: the heavy imports wait for a bound port

    if backend not in ("torch", "onnx"):
        raise UsageProblem(f"--backend must be torch or onnx, not {backend!r}")
    if model is not None and pipeline is not None:
        raise UsageProblem("--model serves one model alone and --pipeline a pipeline file: give one of them")
    limits = ServiceLimits(
        max_file_bytes=int(max_file_mb * MIB), max_request_bytes=int(max_request_mb * MIB),
        max_files=max_files, max_pixels=max_pixels,
    )
    sock = _bind(host, port)  # before the slow imports and model load: a busy port fails fast
    from fakescope.serve import create_app
    from fakescope.verdict.detector import Detector

    try:
        detector = Detector.load(model, pipeline=pipeline, backend=backend, threads=threads,
                                 watermarks=watermarks or None)
    except ImportError as exc:
        raise UsageProblem(f"--backend {backend} needs an optional dependency: {exc}") from None
    application = create_app(detector, limits=limits)
    _warm_up(detector)
    _run(application, sock, max_connections=max_connections, access_log=access_log, detector=detector)


def _warm_up(detector: object) -> None:
    """One forward pass before accepting requests, so the first client does not pay for lazy set-up."""
    from PIL import Image

    size = detector.config.preprocess.input_size  # type: ignore[attr-defined]
    detector.predict(Image.new("RGB", (size, size), (128, 128, 128)))  # type: ignore[attr-defined]


def _run(application: object, sock: socket.socket, *, max_connections: Optional[int], access_log: bool,
         detector: object) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(application, log_level="info", access_log=access_log,  # type: ignore[arg-type]
                            limit_concurrency=max_connections, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    typer.echo(f"fakescope serve: {detector!r} on http://{host}:{port}/ (API docs: /docs)", err=True)
    server.run(sockets=[sock])
