"""Screenshot the web page with verdicts shown, from a real server and headless Chromium.

    python scripts/screenshot_web.py --model MODEL_DIR [--out benchmarks/figures/web.png]

Starts `fakescope serve`, opens the page, turns explanations on, uploads real images from
../shared/data (two GenImage fakes and a real ImageNet photo) plus one non-image, waits for every
verdict, and saves a screenshot (palette-quantised so the committed PNG stays small). The real
photo is the first GenImage `nature` image the served model calls real, so that the screenshot
shows both verdict styles; the fakes are fixed picks, whatever the model says about them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data"))
GENIMAGE = SHARED / "genimage-tree"


def real_photo_called_real(url: str) -> Path:
    import httpx

    photos = sorted(GENIMAGE.rglob("nature/*.*"))
    for photo in photos:
        response = httpx.post(url + "/v1/detect", files={"file": (photo.name, photo.read_bytes())}, timeout=60)
        if response.json()["results"][0]["label"] == "real":
            return photo
    return photos[0]


def take(model: str, out: Path, width: int = 1000) -> Path:
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from fakescope.testing.browser import launch_chromium
    from fakescope.testing.server import ServerProcess

    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "notes.jpg"
        bad.write_text("meeting notes, not a photo\n" * 10)
        with ServerProcess(["--model", model, "--no-access-log"]) as server, sync_playwright() as pw:
            images = [sorted((GENIMAGE / "Midjourney").rglob("ai/*.*"))[0], real_photo_called_real(server.url),
                      sorted((GENIMAGE / "BigGAN").rglob("ai/*.*"))[0]]
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": width, "height": 800}, device_scale_factor=1)
            page.goto(server.url + "/")
            expect(page.locator("#model-info")).to_contain_text("Model ")
            page.check("#explain-toggle")
            page.set_input_files("#file-input", [str(p) for p in images[:2]])
            expect(page.locator(".card[data-explained=true]")).to_have_count(2, timeout=60_000)
            page.uncheck("#explain-toggle")
            page.set_input_files("#file-input", [str(images[2]), str(bad)])
            expect(page.locator(".card")).to_have_count(4)
            expect(page.locator(".card[data-state=pending]")).to_have_count(0, timeout=60_000)
            raw = Path(tmp) / "raw.png"
            page.screenshot(path=str(raw), full_page=True)
            browser.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        shot = Image.open(raw).convert("RGB")
        shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model directory to serve")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "figures" / "web.png"))
    args = parser.parse_args()
    path = take(args.model, Path(args.out))
    print(f"{path} ({path.stat().st_size // 1024} KB)", file=sys.stderr)


if __name__ == "__main__":
    main()
