"""Run the real `fakescope serve` console script on a free local port (tests, benchmark, screenshot)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def fakescope_command() -> list[str]:
    """The installed console script beside this interpreter, else `python -m fakescope`."""
    script = Path(sys.executable).with_name("fakescope")
    if script.exists():
        return [str(script)]
    found = shutil.which("fakescope")
    return [found] if found else [sys.executable, "-m", "fakescope"]


class ServerProcess:
    """`with ServerProcess(["--model", DIR]) as server: httpx.get(server.url + "/v1/model")`.

    Starts the server, waits until /readyz answers 200 (the pipeline is loaded), and stops it (SIGTERM, then SIGKILL) on exit.
    Its stderr goes to a temporary file, readable as `server.log()` (for failure messages).
    """

    def __init__(self, args: list[str], *, host: str = "127.0.0.1", port: int | None = None,
                 env: dict[str, str] | None = None, startup_timeout: float = 120.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.args = [*fakescope_command(), "serve", *args, "--host", host, "--port", str(self.port)]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="fakescope-serve-", suffix=".log", delete=False)

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def start(self) -> "ServerProcess":
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakescope serve exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"fakescope serve was not ready (/readyz) within {self.startup_timeout} s:\n{self.log()[-4000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
