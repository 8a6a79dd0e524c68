"""Screenshot the web page with verdicts shown, from a real server and headless Chromium.

    python scripts/screenshot_web.py [--model MODEL_DIR | --pipeline FILE] [--out benchmarks/figures/web.png]

Starts `fakescope serve` (default: the shipped pipeline), opens the page and uploads real files
from ../shared/data, one per verdict branch: Adobe's C2PA-signed Firefly image (fake by its
evidence; the evidence panel shows signer and validation), a ComfyUI SDXL output (fake by its
generation record; the prompt folded away), a CIFAKE image (answered by the CIFAKE model), a large
photograph (outside the CIFAKE model's domain) and a non-image (an error). It waits for every
card and saves a screenshot (palette-quantised so the committed PNG stays small).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data"))
PROVENANCE = SHARED / "provenance"


def take(server_args: list[str], out: Path, width: int = 1000) -> Path:
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from fakescope.testing.browser import launch_chromium
    from fakescope.testing.server import ServerProcess

    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "notes.jpg"
        bad.write_text("meeting notes, not a photo\n" * 10)
        images = [PROVENANCE / "c2pa" / "Firefly_tabby_cat.jpg", PROVENANCE / "comfyui" / "sdxl__sdxl_simple_example.png",
                  sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[0], PROVENANCE / "c2pa" / "crater-lake.jpeg",
                  bad]
        with ServerProcess([*server_args, "--no-access-log"]) as server, sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": width, "height": 800}, device_scale_factor=1)
            page.goto(server.url + "/")
            expect(page.locator("#model-info")).to_contain_text("Pipeline ")
            for image in images:  # one at a time, so the cards come out in this order (newest on top)
                count = page.locator(".card").count()
                page.set_input_files("#file-input", str(image))
                expect(page.locator(".card")).to_have_count(count + 1)
                expect(page.locator(".card[data-state=pending]")).to_have_count(0, timeout=120_000)
            raw = Path(tmp) / "raw.png"
            page.screenshot(path=str(raw), full_page=True)
            browser.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        shot = Image.open(raw).convert("RGB")
        shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="serve this model directory alone (default: the shipped pipeline)")
    which.add_argument("--pipeline", help="serve this pipeline file")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "figures" / "web.png"))
    args = parser.parse_args()
    server_args = ["--model", args.model] if args.model else ["--pipeline", args.pipeline] if args.pipeline else []
    path = take(server_args, Path(args.out))
    print(f"{path} ({path.stat().st_size // 1024} KB)", file=sys.stderr)


if __name__ == "__main__":
    main()
