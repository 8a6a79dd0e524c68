"""The web page end to end: a real `fakescope serve`, driven in Debian's headless Chromium.

Uploads real images from ../shared/data with the page's file input and by drag-and-drop, reads the
verdict, score and generators from the page and checks them against the API's answer for the same
bytes, turns explanations on, and checks the page's error display, that nothing is loaded from
outside the server, and that the console stays clean. Without chromium these tests skip, except
under CI=true, where a missing browser is a failure (scripts/test.sh installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from conftest import SHARED
from fakescope.testing.browser import chromium_path
from fakescope.testing.server import ServerProcess

pytestmark = pytest.mark.browser

GENIMAGE = SHARED / "genimage-tree"


@pytest.fixture(scope="module")
def playwright_browser():
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright Python package is not installed"
    if problem is None and chromium_path() is None:
        problem = "Debian's chromium is not installed (scripts/test.sh installs it)"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {problem}")
        pytest.skip(problem)
    from fakescope.testing.browser import launch_chromium

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(genimage_both: Path):
    with ServerProcess(["--model", str(genimage_both), "--no-access-log"]) as running:
        yield running


class PageWatch:
    """Everything a page asked for and complained about."""

    def __init__(self, page, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught: {exc}"))

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.origin + "/", "data:", "blob:"))]


def api_result(server: ServerProcess, name: str, data: bytes) -> dict:
    response = httpx.post(server.url + "/v1/detect", files={"file": (name, data)}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def card_for(page, name: str):
    return page.locator(".card", has=page.locator(".filename", has_text=name))


def test_upload_verdict_explanation_and_errors(playwright_browser, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = playwright_browser.new_page(viewport={"width": 1000, "height": 900})
    watch = PageWatch(page, server.url)
    page.goto(server.url + "/")
    info = httpx.get(server.url + "/v1/model").json()
    expect(page.locator("#model-info")).to_contain_text(f"Model {info['name']} · spectral · 128 px")
    expect(page.locator("#model-info")).to_contain_text("AUROC")

    # 1. choose a real GenImage fake with the file input; the page shows what the API says
    image = sorted((GENIMAGE / "Midjourney").rglob("ai/*.*"))[0]
    expected = api_result(server, image.name, image.read_bytes())
    page.set_input_files("#file-input", str(image))
    card = card_for(page, image.name)
    expect(card).to_have_attribute("data-state", "done", timeout=60_000)
    assert card.locator(".verdict-label").text_content() == expected["verdict"]
    assert card.locator(".reason").text_content() == expected["reason"]
    assert card.get_attribute("data-label") == expected["label"]
    assert card.locator(".score-value").text_content() == f"{expected['score'] * 100:.1f}%"
    assert float(card.locator(".score-value").get_attribute("data-score")) == pytest.approx(expected["score"], abs=1e-12)
    assert card.locator(".meta").text_content().startswith(f"{expected['width']}×{expected['height']}")
    names = card.locator(".generator-name").all_text_contents()
    assert names == [g["label"] for g in expected["generator"][:3]]
    width = card.locator(".bar-fill").evaluate("el => el.style.width")
    assert float(width.rstrip("%")) == pytest.approx(expected["score"] * 100, abs=0.01)

    # 2. turning explanations on explains the card already shown: Grad-CAM/saliency overlay + spectrum
    page.check("#explain-toggle")
    expect(card).to_have_attribute("data-explained", "true", timeout=60_000)
    overlay = card.locator("img.overlay")
    expect(overlay).to_be_visible()
    assert overlay.get_attribute("src").startswith("data:image/png;base64,")
    expect(card.locator("img.spectrum")).to_be_visible()  # spectral model: the spectrum it reads
    page.wait_for_load_state("networkidle")
    assert overlay.evaluate("el => el.complete && el.naturalWidth") >= 256  # the PNG decoded in the browser

    # 3. a file that is not an image shows the server's reason on its card; the rest carries on
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a photo\n" * 8)
    page.set_input_files("#file-input", str(bad))
    bad_card = card_for(page, "holiday.jpg")
    expect(bad_card).to_have_attribute("data-state", "error", timeout=60_000)
    expect(bad_card.locator(".error")).to_contain_text("not a recognised image format")
    expect(bad_card.locator(".error")).to_contain_text("HTTP 415")

    # 4. drag and drop a CIFAKE image onto the zone (a real DataTransfer carrying the file)
    dropped = sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[3]
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
            return dt;
        }""",
        [dropped.name, list(dropped.read_bytes())],
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    drop_card = card_for(page, dropped.name)
    expect(drop_card).to_have_attribute("data-state", "done", timeout=60_000)
    assert drop_card.locator(".verdict-label").text_content() == api_result(server, dropped.name, dropped.read_bytes())["verdict"]
    expect(drop_card).to_have_attribute("data-explained", "true", timeout=60_000)  # the toggle is still on

    # 5. a hostile file name is shown as text, never parsed as HTML
    evil = '<img src=x onerror="document.title=1">.png'
    png = sorted((SHARED / "genimage_biggan_fixtures").rglob("*.png"))[0]
    page.set_input_files("#file-input", {"name": evil, "mimeType": "image/png", "buffer": png.read_bytes()})
    evil_card = card_for(page, "onerror")
    expect(evil_card).to_have_attribute("data-state", "done", timeout=60_000)
    assert evil_card.locator(".filename").text_content() == evil
    assert page.locator("img[src=x]").count() == 0 and page.title() != "1"

    expect(page.locator("#summary")).to_contain_text("1 not usable")
    shot = tmp_path / "web.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000

    assert watch.external() == [], watch.external()
    # the only console error allowed is Chromium's own note about the refused upload's 415
    unexpected = [m for m in watch.console_errors if "status of 415" not in m]
    assert unexpected == [], unexpected
    page.close()


def test_docs_page_renders_offline(playwright_browser, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    page = playwright_browser.new_page()
    watch = PageWatch(page, server.url)
    page.goto(server.url + "/docs")
    expect(page.locator(".endpoint h2", has_text="/v1/detect")).to_be_visible()
    expect(page.locator(".endpoint h2", has_text="/v1/model")).to_be_visible()
    expect(page.locator("#schemas")).to_contain_text("DetectionResult")
    expect(page.locator(".endpoint", has_text="/v1/detect").first).to_contain_text("multipart/form-data")
    assert watch.external() == [] and watch.console_errors == [], (watch.external(), watch.console_errors)
    page.close()


def test_page_shows_verdict_reason_and_evidence_first(playwright_browser, tmp_path: Path) -> None:
    """The shipped pipeline: Adobe's C2PA-signed Firefly image is `fake` by its evidence, and the
    card leads with that verdict and its reason, then the evidence (signer, validation, generator);
    a ComfyUI output's prompt is folded away; an image no model may judge is `uncertain`, shown as
    an answer (not an error)."""
    from playwright.sync_api import expect

    provenance = SHARED / "provenance"
    firefly = provenance / "c2pa" / "Firefly_tabby_cat.jpg"
    comfy = provenance / "comfyui" / "sdxl__sdxl_simple_example.png"
    with ServerProcess(["--no-access-log"], env={"FAKESCOPE_MODEL": ""}) as server:
        page = playwright_browser.new_page(viewport={"width": 1000, "height": 900})
        watch = PageWatch(page, server.url)
        page.goto(server.url + "/")
        expect(page.locator("#model-info")).to_contain_text("Pipeline fakescope-default: evidence → models")
        expected = api_result(server, firefly.name, firefly.read_bytes())
        page.set_input_files("#file-input", [str(firefly), str(comfy)])
        card = card_for(page, firefly.name)
        expect(card).to_have_attribute("data-state", "done", timeout=120_000)
        assert card.get_attribute("data-verdict") == "fake" == expected["verdict"]
        assert card.locator(".verdict-label").text_content() == "fake"
        assert card.locator(".reason").text_content() == expected["reason"]
        assert card.locator(".answered-by").text_content() == "answered by the file's c2pa evidence"
        # the verdict comes before the evidence, and the evidence before the model's raw score
        tops = [card.locator(sel).bounding_box()["y"] for sel in (".verdict", ".reason", ".evidence", ".model-score")]
        assert tops == sorted(tops), tops
        item = card.locator(".evidence-item[data-source=c2pa][data-claim=generated]")
        expect(item).to_have_count(1)
        c2pa = next(i for i in expected["evidence"] if i["source"] == "c2pa" and i["claim"] == "generated")
        assert item.locator(".evidence-signer").text_content() == c2pa["signer"] and "Adobe" in c2pa["signer"]
        assert item.locator(".evidence-validation").text_content() == c2pa["validation"]
        assert item.locator(".evidence-generator").text_content() == c2pa["generator"]
        # the result's generators as the API gives them: the encoder model, whose domain holds this image, has a
        # generator head, so its top generators with their probabilities (a model without one shows the evidence's)
        shown = [g["label"] for g in expected["generator"]][:3]  # the page lists the top three (GENERATORS_SHOWN)
        assert card.locator(".generator-name").all_text_contents() == shown
        assert expected["generator"][0]["score"] is not None
        assert len(card.locator(".generator-score").all_text_contents()) == len(shown)

        comfy_card = card_for(page, comfy.name)
        expect(comfy_card).to_have_attribute("data-state", "done", timeout=120_000)
        assert comfy_card.get_attribute("data-verdict") == "fake"
        prompt = comfy_card.locator(".evidence-prompt").first
        expect(prompt).to_be_attached()
        assert prompt.get_attribute("open") is None  # folded away until the reader opens it
        expect(prompt.locator("p")).not_to_be_visible()
        prompt.locator("summary").click()
        expect(prompt.locator("p")).to_be_visible()

        shot = tmp_path / "verdicts.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        assert watch.external() == [] and watch.console_errors == [], (watch.external(), watch.console_errors)
        page.close()


def test_page_asks_for_the_api_key_of_a_keyed_service(playwright_browser, genimage_both: Path, tmp_path: Path) -> None:
    """A service started with keys: the page shows the key prompt (GET /v1/model answers 401), a
    wrong key is refused and asked for again, and with the right key a real GenImage image is scored
    as the API scores it; the key lives in sessionStorage and goes out as the Bearer header."""
    from playwright.sync_api import expect

    key = "fs-page-" + os.urandom(12).hex()
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# page test\n{key}\n")
    with ServerProcess(["--model", str(genimage_both), "--api-key-file", str(key_file)]) as keyed:
        page = playwright_browser.new_page(viewport={"width": 1000, "height": 800})
        watch = PageWatch(page, keyed.url)
        sent: list[str | None] = []
        page.on("request", lambda r: sent.append(r.headers.get("authorization")) if "/v1/detect" in r.url else None)
        page.goto(keyed.url + "/")
        expect(page.locator("#key-form")).to_be_visible()
        expect(page.locator("#model-info")).to_contain_text("API key")
        expect(page.locator(".key-label")).to_have_text("This service needs an API key.")
        page.screenshot(path=str(tmp_path / "key-prompt.png"), full_page=True)

        page.fill("#key-input", key + "-wrong")
        page.click("#key-button")
        expect(page.locator(".key-label")).to_contain_text("not accepted", timeout=30_000)
        assert page.evaluate("sessionStorage.getItem('fakescope.apiKey')") is None  # a refused key is forgotten

        page.fill("#key-input", key)
        page.click("#key-button")
        info = httpx.get(keyed.url + "/v1/model", headers={"Authorization": f"Bearer {key}"}).json()
        expect(page.locator("#model-info")).to_contain_text(f"Model {info['name']}", timeout=30_000)
        expect(page.locator("#key-form")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('fakescope.apiKey')") == key

        image = sorted((GENIMAGE / "Midjourney").rglob("ai/*.*"))[1]
        expected = httpx.post(keyed.url + "/v1/detect", files={"file": (image.name, image.read_bytes())},
                              headers={"Authorization": f"Bearer {key}"}, timeout=60).json()["results"][0]
        page.set_input_files("#file-input", str(image))
        card = card_for(page, image.name)
        expect(card).to_have_attribute("data-state", "done", timeout=60_000)
        assert card.locator(".verdict-label").text_content() == expected["verdict"]
        assert card.locator(".score-value").text_content() == f"{expected['score'] * 100:.1f}%"
        assert sent == [f"Bearer {key}"]
        shot = tmp_path / "keyed.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        assert watch.external() == []
        # the only console errors: Chromium's notes on the two 401 answers the prompt was shown for
        assert [m for m in watch.console_errors if "status of 401" not in m] == [], watch.console_errors
        page.close()
        log = keyed.log()
    assert key not in log
