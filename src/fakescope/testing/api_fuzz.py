"""Run schemathesis (the `st` command) against a live `fakescope serve`: every operation of its own
/openapi.json, all checks. Used by the test-suite (bounded) and `benchmarks/bench_fuzz.py` (longer).

One deliberate setting: `positive_data_acceptance` also accepts 413, 415 and 422 for requests that
match the schema. An upload is a schema-valid binary string whether or not its bytes are an image;
the document cannot say "these bytes must decode" (it lists those answers, with their JSON body,
instead), so refusing random bytes is the contract, not a violation of it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "413", "415", "422"]
"""


def st_command() -> list[str]:
    """The `st` console script beside this interpreter, else on PATH."""
    script = Path(sys.executable).with_name("st")
    if script.exists():
        return [str(script)]
    found = shutil.which("st")
    if found is None:
        raise RuntimeError("schemathesis is not installed (pip install 'fakescope[test]')")
    return [found]


def operations(base_url: str) -> list[str]:
    """`METHOD /path` of every operation the server's OpenAPI document lists."""
    spec = httpx.get(base_url + "/openapi.json", timeout=30).json()
    return sorted(f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
                  if method in {"get", "put", "post", "delete", "patch", "head", "options"})


def run_schemathesis(base_url: str, *, max_examples: int, seed: int, max_time: float | None = None,
                     workers: int = 1, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`st run BASE/openapi.json --checks all`; returns the finished process (exit 0: no failure)."""
    with tempfile.TemporaryDirectory(prefix="fakescope-st-") as tmp:
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(CONFIG)
        args = [*st_command(), "--config-file", str(config), "--no-color", "run", base_url + "/openapi.json",
                "--checks", "all", "--max-examples", str(max_examples), "--seed", str(seed),
                "--workers", str(workers), "--generation-database", "none", "--request-timeout", "60"]
        if max_time is not None:
            args += ["--max-time", str(int(max_time))]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tmp)
