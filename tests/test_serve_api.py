"""`fakescope serve` through a real server: the console script on 127.0.0.1, spoken to over HTTP.

Real images from ../shared/data (CIFAKE JPEG, GenImage tree JPEG, Community Forensics JPEG+PNG bytes,
CNNDetection JPEG, GenImage BigGAN PNG); the service's answers are checked against the Python API
(`Detector.predict`, `explain`) on the same images. Bad inputs: every limit and refusal the service
promises, each with its status and JSON error, and the server must still be alive afterwards.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import SHARED, run_cli
from fakescope.data import open_source
from fakescope.data.decode import sniff_format
from fakescope.testing.badfiles import bomb_png
from fakescope.testing.server import ServerProcess, free_port

CIFAKE = SHARED / "cifake" / "test"
LIMITS = ["--max-file-mb", "1", "--max-request-mb", "3", "--max-files", "4", "--max-pixels", "1000000"]
MIB = 1024 * 1024


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def cnn_server(cifake_cnn: Path):
    with ServerProcess(["--model", str(cifake_cnn), *LIMITS]) as server:
        yield server
        log = server.log()
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture(scope="module")
def gen_server(genimage_both: Path):
    with ServerProcess(["--model", str(genimage_both), "--no-access-log"]) as server:
        yield server


@pytest.fixture(scope="module")
def cnn_detector(cifake_cnn: Path):
    from fakescope import Detector

    return Detector.load(cifake_cnn)


@pytest.fixture(scope="module")
def commfor_bytes() -> dict[str, bytes]:
    """The first JPEG and the first PNG of the Community Forensics sample, as raw bytes."""
    found: dict[str, bytes] = {}
    for sample in open_source(SHARED / "commfor-sample"):
        data = sample.read_bytes()
        fmt = sniff_format(data)
        if fmt in ("JPEG", "PNG") and fmt not in found:
            found[fmt] = data
        if len(found) == 2:
            return found
    raise AssertionError("commfor-sample lacks a JPEG or a PNG")


def cifake_files(n: int) -> list[Path]:
    real = sorted((CIFAKE / "REAL").glob("*.jpg"))
    fake = sorted((CIFAKE / "FAKE").glob("*.jpg"))
    return [p for pair in zip(real, fake) for p in pair][:n]


def post(server: ServerProcess, files: list[tuple[str, bytes]], *, params: dict | None = None,
         data: dict | None = None, timeout: float = 60) -> httpx.Response:
    return httpx.post(server.url + "/v1/detect", files=[("file", (name, body)) for name, body in files],
                      params=params, data=data, timeout=timeout)


def assert_error(response: httpx.Response, status: int, code: str, fragment: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert fragment in error["message"], error
    return error


def png_of(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


def jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ---------------------------------------------------------------- the API on real images

def test_health_model_and_openapi(cnn_server: ServerProcess, cifake_cnn: Path) -> None:
    assert httpx.get(cnn_server.url + "/healthz").json() == {"status": "ok", "model": cifake_cnn.name}
    info = httpx.get(cnn_server.url + "/v1/model").json()
    config = json.loads((cifake_cnn / "config.json").read_text())
    assert info["name"] == cifake_cnn.name and info["architecture"] == "cnn-small" and info["task"] == "binary"
    assert info["input_size"] == 32 and info["preprocess"] == config["preprocess"]
    assert info["labels"] == ["real", "fake"] and info["generators"] == [] and info["threshold"] == 0.5
    assert info["metrics"] == config["metrics"]  # the model card's metrics, as trained
    assert info["version"] == config["card"]["weights_sha256"][:12] and info["card"] == config["card"]
    assert info["limits"] == {"max_file_bytes": MIB, "max_request_bytes": 3 * MIB, "max_files": 4,
                              "max_pixels": 1_000_000, "max_fields": 8, "max_field_bytes": 1024}
    # the training record (server-side paths) is not published
    assert "training" not in info and str(cifake_cnn) not in json.dumps(info)
    # the pipeline behind the verdicts: evidence, this one model (with its domain and thresholds), fallback
    stages = info["pipeline"]["stages"]
    assert [s["stage"] for s in stages] == ["evidence", "models", "fallback"]
    assert [m["model"] for m in stages[1]["models"]] == [f"{cifake_cnn.name}@{info['version']}"]
    assert {"fake_at", "real_below"} <= set(stages[1]["models"][0])

    spec = httpx.get(cnn_server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "fakescope"
    detect = spec["paths"]["/v1/detect"]["post"]
    assert "multipart/form-data" in detect["requestBody"]["content"]
    assert {"200", "400", "413", "415", "422"} <= set(detect["responses"])
    assert {"/v1/model", "/healthz"} <= set(spec["paths"])
    refs = [v for v in _walk(spec) if isinstance(v, str) and v.startswith("#/")]
    for ref in refs:  # every $ref resolves inside the document
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    docs = httpx.get(cnn_server.url + "/docs")
    assert docs.status_code == 200 and "/static/docs.js" in docs.text
    assert "http://" not in docs.text and "https://" not in docs.text  # offline: no CDN
    assert httpx.get(cnn_server.url + "/redoc").status_code == 404


def _walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_single_images_match_the_python_api(cnn_server: ServerProcess, cnn_detector, commfor_bytes) -> None:
    cases = [(p.name, p.read_bytes()) for p in cifake_files(2)]
    cases += [("genimage.jpg", next(iter(sorted((SHARED / "genimage-tree").rglob("ai/*.*")))).read_bytes()),
              ("commfor.jpg", commfor_bytes["JPEG"]), ("commfor.png", commfor_bytes["PNG"])]
    for name, data in cases:
        response = post(cnn_server, [(name, data)])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model"] == cnn_detector.info()["name"]
        (result,) = body["results"]
        expected = cnn_detector.predict(data)
        assert result["filename"] == name
        assert result["label"] == expected["label"] and result["generator"] is None
        assert result["score"] == pytest.approx(expected["score"], abs=1e-6)
        assert (result["verdict"], result["reason"], result["answered_by"]) == (
            expected["verdict"], expected["reason"], expected["answered_by"])
        assert result["verdict"] in ("fake", "real", "uncertain") and result["evidence"] == expected["evidence"]
        assert (result["width"], result["height"]) == Image.open(io.BytesIO(data)).size
        assert result["explanation"] is None


def test_several_files_in_one_request_keep_their_order(cnn_server: ServerProcess, cnn_detector, commfor_bytes) -> None:
    files = [("a_cifake_fake.jpg", (CIFAKE / "FAKE").glob("*.jpg").__next__().read_bytes()),
             ("b_cnndetection.jpg", sorted((SHARED / "cnndetection_ranking" / "gaugan" / "1_fake").glob("*.jpg"))[0].read_bytes()),
             ("c_commfor.png", commfor_bytes["PNG"]),
             ("d_biggan.png", sorted((SHARED / "genimage_biggan_fixtures").rglob("*.png"))[0].read_bytes())]
    response = post(cnn_server, files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["filename"] for r in results] == [name for name, _ in files]
    expected = cnn_detector.predict([data for _, data in files])
    for r, e, (_, data) in zip(results, expected, files):
        assert r["label"] == e["label"]
        assert r["score"] == pytest.approx(e["score"], abs=1e-5)
        assert (r["width"], r["height"]) == Image.open(io.BytesIO(data)).size
    assert {(r["width"], r["height"]) for r in results} == {(32, 32), (356, 356), (256, 256), (128, 128)}


def test_generators_and_spectrum_explanation(gen_server: ServerProcess, genimage_both: Path) -> None:
    from fakescope import Detector
    from fakescope.detect.explain import explain
    from fakescope.models import load_model

    path = sorted((SHARED / "genimage-tree" / "Midjourney").rglob("ai/*.*"))[0]
    response = post(gen_server, [(path.name, path.read_bytes())], params={"explain": "true"})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    expected = Detector.load(genimage_both).predict(path)
    assert result["score"] == pytest.approx(expected["score"], abs=1e-6)
    vocab = json.loads((genimage_both / "config.json").read_text())["generators"]
    assert [g["label"] for g in result["generator"]] == [g["label"] for g in expected["generator"]]
    assert all(g["label"] in vocab for g in result["generator"]) and len(result["generator"]) == 5
    scores = [g["score"] for g in result["generator"]]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-6
    for got, want in zip(scores, [g["score"] for g in expected["generator"]]):
        assert got == pytest.approx(want, abs=1e-6)
    # the explanation is the library's, pixel for pixel: a spectral detector gets saliency + its spectrum
    model, config = load_model(genimage_both)
    ex = explain(model, config, Image.open(path).convert("RGB"))
    ex_json = result["explanation"]
    assert ex_json["kind"] == ex.kind == "saliency"
    assert np.array_equal(np.asarray(png_of(ex_json["overlay"]).convert("RGB")), np.asarray(ex.overlay))
    assert np.array_equal(np.asarray(png_of(ex_json["spectrum"]).convert("RGB")), np.asarray(ex.spectrum))


def test_gradcam_explanation_via_form_field(cnn_server: ServerProcess, cifake_cnn: Path) -> None:
    from fakescope.detect.explain import explain
    from fakescope.models import load_model

    path = cifake_files(1)[0]
    response = post(cnn_server, [(path.name, path.read_bytes())], data={"explain": "yes"})
    assert response.status_code == 200, response.text
    ex_json = response.json()["results"][0]["explanation"]
    assert ex_json["kind"] == "gradcam" and ex_json["spectrum"] is None
    overlay = png_of(ex_json["overlay"])
    assert overlay.size == (256, 256)  # the 32 px input view, enlarged for display
    model, config = load_model(cifake_cnn)
    assert np.array_equal(np.asarray(overlay.convert("RGB")), np.asarray(explain(model, config, Image.open(path).convert("RGB")).overlay))
    assert_error(post(cnn_server, [(path.name, path.read_bytes())], data={"explain": "perhaps"}), 400, "bad_field", "explain")


def test_concurrent_requests_do_not_mix_results(cnn_server: ServerProcess) -> None:
    paths = cifake_files(16)
    reference = {}
    for p in paths:
        response = post(cnn_server, [(p.name, p.read_bytes())])
        assert response.status_code == 200, response.text
        reference[p.name] = response.json()["results"][0]["score"]
    ordered = sorted(reference.values())
    assert min(b - a for a, b in zip(ordered, ordered[1:])) > 1e-6, "images must score apart for the check to bite"

    jobs = [(p, i % 4 == 0) for _ in range(3) for i, p in enumerate(paths)]  # 48 requests, some explained

    def one(job: tuple[Path, bool]) -> tuple[str, httpx.Response]:
        path, explain = job
        return path.name, post(cnn_server, [(path.name, path.read_bytes())], params={"explain": str(explain).lower()})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, jobs))
    for (name, response), (_, explain) in zip(answers, jobs):
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["filename"] == name
        assert result["score"] == pytest.approx(reference[name], abs=1e-6), name
        assert (result["explanation"] is not None) == explain


# ---------------------------------------------------------------- refusals: content, size, count, shape

def test_images_are_judged_by_content_not_name(cnn_server: ServerProcess, shared: Path) -> None:
    from fakescope.testing.badfiles import make_awkward_files

    base = Image.open(shared / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    awkward = {name: path.read_bytes() for name, path in make_awkward_files(Path(_tmp()), base).items()}
    assert_error(post(cnn_server, [("text_named.jpg", awkward["text_named.jpg"])]), 415, "not_an_image", "content looks like text")
    assert_error(post(cnn_server, [("empty.jpg", b"")]), 415, "not_an_image", "empty")
    assert_error(post(cnn_server, [("truncated.jpg", awkward["truncated.jpg"])]), 422, "corrupt_image", "truncated")
    assert_error(post(cnn_server, [("truncated.png", awkward["truncated.png"])]), 422, "corrupt_image", "truncated")
    # a real PNG named .txt is an image; awkward modes (CMYK, 16-bit, palette+alpha, EXIF) are served too
    for name in ("cmyk.jpg", "gray16.png", "palette_alpha.png", "rgba.png", "exif_rotated.jpg"):
        response = post(cnn_server, [(name.replace(".", "_") + ".txt", awkward[name])])
        assert response.status_code == 200, (name, response.text)
    assert post(cnn_server, [("x.txt", awkward["exif_rotated.jpg"])]).json()["results"][0]["width"] == 48


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="fakescope-serve-awkward-")


def test_pixel_limits_and_bombs_are_413(cnn_server: ServerProcess, shared: Path) -> None:
    assert_error(post(cnn_server, [("bomb.png", bomb_png())]), 413, "image_too_large", "image too large")
    # a real photo upscaled past the server's 1 MP limit, small as a file (JPEG)
    big = Image.open(shared / "cnndetection_ranking" / "stylegan" / "0_real" /
                     sorted(p.name for p in (shared / "cnndetection_ranking" / "stylegan" / "0_real").glob("*.jpg"))[0])
    data = jpeg(big.convert("RGB").resize((1100, 1000)))
    assert len(data) < MIB
    error = assert_error(post(cnn_server, [("big.jpg", data)]), 413, "image_too_large", "1100x1000")
    assert error["files"] == [{"filename": "big.jpg", "status": 413, "code": "image_too_large",
                               "message": error["files"][0]["message"]}]


def test_file_request_and_count_limits(cnn_server: ServerProcess) -> None:
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    big_file = buf.getvalue()
    assert MIB < len(big_file) < 3 * MIB
    assert_error(post(cnn_server, [("noise.png", big_file)]), 413, "file_too_large", f"{len(big_file)} bytes")
    small = cifake_files(1)[0].read_bytes()
    assert_error(post(cnn_server, [("x.jpg", small)] * 5), 413, "too_many_files", "5 files")
    assert post(cnn_server, [("x.jpg", small)] * 4).status_code == 200
    # a declared body over 3 MiB: refused (the body is read and dropped so the client sees the 413)
    assert_error(post(cnn_server, [("a.png", big_file), ("b.png", big_file), ("c.png", big_file)]),
                 413, "request_too_large", "exceeds the limit of 3145728 bytes")
    # a chunked body (no Content-Length) is cut off while streaming
    boundary = "fakescopeboundary"

    def chunks():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.jpg\"\r\n"
               "Content-Type: image/jpeg\r\n\r\n").encode()
        for _ in range(64):
            yield b"\0" * (64 * 1024)  # 4 MiB in all, never announced

    response = httpx.post(cnn_server.url + "/v1/detect", content=chunks(), timeout=60,
                          headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert_error(response, 413, "request_too_large", "exceeds the limit")


def test_a_ten_gigabyte_claim_is_refused_before_reading(cnn_server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", cnn_server.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: 10000000000\r\n\r\n--b\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), reply[:300]
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_malformed_requests_get_json_errors(cnn_server: ServerProcess) -> None:
    url = cnn_server.url
    good = cifake_files(1)[0].read_bytes()
    assert_error(httpx.post(url + "/v1/detect", json={"image": "x"}), 415, "unsupported_media_type", "multipart/form-data")
    assert_error(httpx.post(url + "/v1/detect", content=b"\xff\xd8", headers={"content-type": "image/jpeg"}),
                 415, "unsupported_media_type")
    assert_error(httpx.post(url + "/v1/detect", data={"explain": "true"}), 415, "unsupported_media_type")
    assert_error(httpx.post(url + "/v1/detect", files={"explain": (None, "true")}), 400, "no_files")
    assert_error(httpx.post(url + "/v1/detect", content=b"garbage", headers={"content-type": "multipart/form-data"}),
                 400, "bad_multipart", "boundary")
    assert_error(httpx.post(url + "/v1/detect", content=b"not multipart at all\r\n",
                            headers={"content-type": "multipart/form-data; boundary=zz"}), 400, "bad_multipart", "malformed")
    cut_off = b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n' + good
    assert_error(httpx.post(url + "/v1/detect", content=cut_off, headers={"content-type": "multipart/form-data; boundary=zz"}),
                 400, "bad_multipart", "closing boundary")
    assert httpx.post(url + "/v1/detect", content=cut_off + b"\r\n--zz--\r\n",
                      headers={"content-type": "multipart/form-data; boundary=zz"}).status_code == 200
    assert_error(httpx.post(url + "/v1/detect", files=[("file", ("a.jpg", good))], data={"explain": "x" * 5000}),
                 400, "field_too_large")
    # one bad file refuses the whole request, naming that file and only that file
    error = assert_error(post(cnn_server, [("good.jpg", good), ("notes.jpg", b"plain text\n" * 20)]), 415, "not_an_image",
                         "1 of 2 files cannot be used; first: notes.jpg")
    assert [f["filename"] for f in error["files"]] == ["notes.jpg"]
    # no route, wrong method: JSON too
    assert_error(httpx.get(url + "/v1/nothing"), 404, "not_found", "/v1/nothing")
    assert_error(httpx.get(url + "/v1/detect"), 405, "method_not_allowed")
    assert_error(httpx.get(url + "/v1/detect", params={"explain": "maybe"}), 405, "method_not_allowed")
    assert_error(post(cnn_server, [("a.jpg", good)], params={"explain": "maybe"}), 422, "invalid_request", "explain")


def test_nothing_reads_files_outside_the_static_folder(cnn_server: ServerProcess, cifake_cnn: Path) -> None:
    url = cnn_server.url
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2ferrors.py",
                 "/static/", "/../../etc/passwd", "/static/../../../../etc/passwd", "/static//etc/passwd"):
        with httpx.Client() as client:
            # send the path exactly as written: no client-side normalisation of the dots
            request = client.build_request("GET", url)
            request.url = request.url.copy_with(raw_path=path.encode())
            response = client.send(request)
        assert response.status_code in (404, 405), (path, response.status_code)
        assert "root:" not in response.text and "def create_app" not in response.text, path
        assert response.headers["content-type"].startswith("application/json"), path
    # a hostile file name is only ever echoed back, never used as a path
    name = "../../../../tmp/fakescope-evil-<script>.jpg"
    response = post(cnn_server, [(name, cifake_files(1)[0].read_bytes())])
    assert response.json()["results"][0]["filename"] == name
    assert not Path("/tmp/fakescope-evil-<script>.jpg").exists()
    # the page, its assets and the docs are served, with a policy that forbids loading anything external
    page = httpx.get(url + "/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg", "/favicon.ico"):
        assert httpx.get(url + asset).status_code == 200, asset


def test_keep_alive_responses_are_not_delayed(cnn_server: ServerProcess) -> None:
    # Without TCP_NODELAY on accepted sockets, Nagle + delayed ACK hold every keep-alive response's
    # body ~40 ms; the fastest of ten requests on one connection shows it regardless of machine load.
    import time

    with httpx.Client() as client:
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            assert client.get(cnn_server.url + "/healthz").status_code == 200
            times.append(time.perf_counter() - t0)
    assert min(times[1:]) < 0.02, times


def test_server_survived_everything(cnn_server: ServerProcess) -> None:
    assert cnn_server.alive()
    assert httpx.get(cnn_server.url + "/healthz").json()["status"] == "ok"
    assert post(cnn_server, [("x.jpg", cifake_files(1)[0].read_bytes())]).status_code == 200


# ---------------------------------------------------------------- the command line

def test_serve_command_line_errors(cifake_cnn: Path, tmp_path: Path) -> None:
    proc = run_cli("serve", "--model", tmp_path / "missing", "--port", str(free_port()), timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "not a model directory" in proc.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        proc = run_cli("serve", "--model", cifake_cnn, "--port", str(busy.getsockname()[1]), timeout=120)
    assert proc.returncode == 2 and "cannot listen on 127.0.0.1:" in proc.stderr, proc.stderr
    proc = run_cli("serve", "--model", cifake_cnn, "--backend", "tensorflow", timeout=120)
    assert proc.returncode == 2 and "--backend must be torch or onnx" in proc.stderr
    proc = run_cli("serve", "--model", cifake_cnn, "--max-file-mb", "10", "--max-request-mb", "1", timeout=120)
    assert proc.returncode == 2 and "cannot exceed max_request_bytes" in proc.stderr
    proc = run_cli("serve", "--help", timeout=120)
    assert proc.returncode == 0 and "--max-pixels" in proc.stdout and "/v1/detect" in proc.stdout


def test_explanations_without_a_torch_backend(cifake_cnn: Path, tmp_path: Path) -> None:
    """The ONNX backend has no torch graph: explanations then load the torch model from the model
    directory, a copy of their own. In-process (Starlette's TestClient)."""
    from fastapi.testclient import TestClient

    from fakescope import Detector
    from fakescope.serve import ServiceLimits, create_app

    # a private copy: the export writes model.onnx beside the weights, and the shared fixture must
    # stay as it is (tests/test_onnx.py copies it and changes its config)
    private = tmp_path / "model"
    shutil.copytree(cifake_cnn, private)
    torch_detector = Detector.load(private)
    detector = Detector.load(private, backend="onnx")
    assert type(detector.backend).__name__ == "OnnxBackend"
    path = cifake_files(1)[0]
    with TestClient(create_app(detector, limits=ServiceLimits(max_files=2))) as client:
        response = client.post("/v1/detect?explain=true", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["score"] == pytest.approx(torch_detector.predict(path)["score"], abs=1e-6)
    assert result["explanation"]["kind"] == "gradcam" and png_of(result["explanation"]["overlay"]).size == (256, 256)
    assert client.app.state.service.scorer._explain_model is not torch_detector.primary.net


def test_an_internal_failure_is_a_json_500_without_details(cifake_cnn: Path) -> None:
    from fastapi.testclient import TestClient

    from fakescope import Detector
    from fakescope.serve import create_app

    def broken_forward_pass(arrays):
        raise RuntimeError("secret internal state /srv/models/x")

    detector = Detector.load(cifake_cnn)
    detector.primary._run = broken_forward_pass  # the model fails inside, as a bug would
    path = cifake_files(1)[0]
    with TestClient(create_app(detector), raise_server_exceptions=False) as client:
        response = client.post("/v1/detect", files={"file": (path.name, path.read_bytes())})
        assert_error(response, 500, "internal_error", "internal server error")
        assert "secret" not in response.text and "Traceback" not in response.text
        assert client.get("/healthz").status_code == 200  # and it keeps serving
