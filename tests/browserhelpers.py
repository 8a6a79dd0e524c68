"""Open a report in Debian's Chromium through Playwright (never a downloaded browser) and inspect it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FAKESCOPE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def require_chromium() -> str:
    """The browser's path; in CI a missing browser fails the test, elsewhere it skips it with the reason."""
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        message = f"Debian's chromium is not installed ({CHROMIUM}); scripts/test.sh installs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the playwright package is missing (pip install -e .[test])")
        pytest.skip("the playwright package is missing")
    return path


def inspect_page(page_path: Path, screenshot: Path | None = None) -> dict:
    """Load the page; return console errors, failed requests, every <img> (figure name, natural width), text."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => [i.dataset.figure, i.complete, i.naturalWidth])")
            text = page.inner_text("body")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    return {"errors": errors, "images": images, "text": text, "external": external}
