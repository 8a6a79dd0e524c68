"""Headless Chromium for the web-page test and the screenshot script: the distribution's browser
driven by Playwright (Playwright's own browser downloads are unreachable on offline machines)."""

from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """$FAKESCOPE_CHROMIUM, else Debian's chromium on PATH (or /usr/bin/chromium)."""
    for candidate in (os.environ.get("FAKESCOPE_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def launch_chromium(playwright: Any) -> Any:
    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium found (apt-get install chromium, or set FAKESCOPE_CHROMIUM)")
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
