"""The deployable service: API keys, rate limit, in-flight limit, time-out, metrics, request log,
readiness and graceful shutdown, through one real `fakescope serve` process on 127.0.0.1.

The server runs with four random keys (two from a key file with comments and blank lines, two
from $FAKESCOPE_API_KEYS), `--rate-limit 2/min --burst 4`, `--max-connections 2` and
`--request-timeout 3`. Each test spends its own key's rate budget, so the tests do not starve each
other. The last test stops the server with SIGTERM while an upload is in flight.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import SHARED, run_cli
from fakescope.testing.server import ServerProcess, free_port

CIFAKE = SHARED / "cifake" / "test"
KEYS = [f"fs-{name}-{secrets.token_urlsafe(18)}" for name in ("one", "two", "three", "four")]
TIMEOUT_S = 3


@pytest.fixture(scope="module")
def keyed(cifake_cnn: Path, tmp_path_factory: pytest.TempPathFactory):
    key_file = tmp_path_factory.mktemp("keys") / "keys.txt"
    key_file.write_text(f"# the service's keys\n\n{KEYS[0]}\n   {KEYS[1]}  \n# retired: fs-old\n")
    args = ["--model", str(cifake_cnn), "--api-key-file", str(key_file), "--rate-limit", "2/min", "--burst", "4",
            "--max-connections", "2", "--request-timeout", str(TIMEOUT_S), "--shutdown-timeout", "15"]
    with ServerProcess(args, env={"FAKESCOPE_API_KEYS": f"{KEYS[2]}, {KEYS[3]}"}) as server:
        yield server


SEEN: list[httpx.Response] = []  # every response of this module: none may carry a key


def call(method: str, server: ServerProcess, path: str, key: str | None = None, **kw) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    response = httpx.request(method, server.url + path, headers=headers, timeout=60, **kw)
    SEEN.append(response)
    return response


def image(i: int = 0) -> tuple[str, bytes]:
    path = sorted((CIFAKE / ("REAL" if i % 2 == 0 else "FAKE")).glob("*.jpg"))[i]
    return path.name, path.read_bytes()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


def multipart(name: str, data: bytes, boundary: str = "fsboundary") -> bytes:
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


def start_upload(server: ServerProcess, body: bytes, sent: int, key: str | None) -> socket.socket:
    """A POST /v1/detect whose headers and first `sent` body bytes are on the wire, the rest held back."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = ("POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=fsboundary\r\n"
            f"Content-Length: {len(body)}\r\n" + (f"Authorization: Bearer {key}\r\n" if key else "") + "\r\n")
    sock.sendall(head.encode() + body[:sent])
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# ---------------------------------------------------------------- keys

def test_v1_needs_a_key_and_probes_stay_open(keyed: ServerProcess) -> None:
    for path in ("/v1/model", "/v1/nothing"):
        error = assert_problem(call("GET", keyed, path), 401, "unauthorized")
        assert "Bearer" in error["message"]
    missing = call("GET", keyed, "/v1/model")
    assert missing.headers["www-authenticate"] == 'Bearer realm="fakescope"'
    wrong = call("GET", keyed, "/v1/model", key=KEYS[0][:-1] + "x")
    assert_problem(wrong, 401, "unauthorized")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert_problem(call("GET", keyed, "/v1/model", headers={"Authorization": f"Basic {KEYS[0]}"}), 401, "unauthorized")
    name, data = image()
    assert_problem(call("POST", keyed, "/v1/detect", files={"file": (name, data)}), 401, "unauthorized")
    assert_problem(call("GET", keyed, "/metrics"), 401, "unauthorized")  # not --metrics-public

    # each key works: from the file (surrounding spaces stripped) and from the environment
    info = call("GET", keyed, "/v1/model", key=KEYS[0])
    assert info.status_code == 200 and info.json()["architecture"] == "cnn-small"
    response = call("POST", keyed, "/v1/detect", key=KEYS[1], files={"file": (name, data)})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["verdict"] in ("fake", "real", "uncertain")
    assert call("GET", keyed, "/v1/model", key=KEYS[2]).status_code == 200
    assert call("GET", keyed, "/v1/model", headers={"authorization": f"bearer {KEYS[2]}"}).status_code == 200

    # open without a key: liveness, readiness, the page and its files, the API documentation
    assert call("GET", keyed, "/healthz").json() == {"status": "ok", "model": info.json()["name"]}
    assert call("GET", keyed, "/readyz").json() == {"status": "ready", "model": info.json()["name"]}
    for path in ("/", "/static/app.js", "/static/style.css", "/docs", "/openapi.json"):
        assert call("GET", keyed, path).status_code == 200, path


def test_rate_limit_answers_429_with_retry_after(keyed: ServerProcess) -> None:
    # burst 4 for this key, then 2 per minute: the 5th request at once is refused for ~30 s
    statuses = [call("GET", keyed, "/v1/model", key=KEYS[3]).status_code for _ in range(4)]
    assert statuses == [200] * 4
    refused = call("GET", keyed, "/v1/model", key=KEYS[3])
    error = assert_problem(refused, 429, "rate_limited")
    assert refused.headers["retry-after"] == "30", refused.headers  # ceil((1 - ~0 tokens) / (2/60 s))
    assert "2/min" in error["message"] and "burst 4" in error["message"]
    # per key: another key still has its budget; probes are never limited
    assert call("GET", keyed, "/v1/model", key=KEYS[0]).status_code == 200
    assert all(call("GET", keyed, "/readyz").status_code == 200 for _ in range(6))


def test_max_connections_is_json_503_and_slow_requests_time_out(keyed: ServerProcess) -> None:
    name, data = image(2)
    body = multipart(name, data)
    stalled = [start_upload(keyed, body, 200, KEYS[2]) for _ in range(2)]  # the two slots, held
    try:
        time.sleep(0.5)
        busy = call("GET", keyed, "/v1/model", key=KEYS[0])
        assert_problem(busy, 503, "busy")
        assert busy.headers["retry-after"] == "1"
        assert call("GET", keyed, "/healthz").status_code == 200  # liveness is exempt
        t0 = time.monotonic()
        for sock in stalled:  # the held uploads get the JSON time-out once --request-timeout passes
            status, headers, raw = read_response(sock)
            assert status == 504 and headers["content-type"].startswith("application/json")
            assert json.loads(raw)["error"]["code"] == "request_timeout"
            assert len(headers["x-request-id"]) == 32
        assert time.monotonic() - t0 < TIMEOUT_S + 2
    finally:
        for sock in stalled:
            sock.close()
    assert call("GET", keyed, "/readyz").status_code == 200  # the slots are free again


# ---------------------------------------------------------------- metrics and request ids

def test_metrics_count_requests_verdicts_and_refusals(keyed: ServerProcess) -> None:
    before = metric_samples(call("GET", keyed, "/metrics", key=KEYS[1]).text)
    name, data = image(1)
    assert call("POST", keyed, "/v1/detect", key=KEYS[1], files={"file": (name, data)}).status_code == 200
    bad = call("POST", keyed, "/v1/detect", key=KEYS[1], files={"file": ("notes.jpg", b"plain text, not a photo\n" * 4)})
    assert_problem(bad, 415, "not_an_image")
    page = call("GET", keyed, "/metrics", key=KEYS[1])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    after = metric_samples(page.text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("fakescope_requests_total", route="/v1/detect", status="200") == 1
    assert delta("fakescope_requests_total", route="/v1/detect", status="415") == 1
    assert delta("fakescope_request_duration_seconds_count", route="/v1/detect") == 2
    assert sum(delta("fakescope_verdicts_total", verdict=v) for v in ("fake", "real", "uncertain")) == 1
    assert delta("fakescope_files_refused_total", reason="not_an_image") == 1
    assert after[("fakescope_requests_total", (("route", "/v1/model"), ("status", "401")))] >= 3
    assert after[("fakescope_requests_total", (("route", "/v1/model"), ("status", "429")))] >= 1
    assert after[("fakescope_requests_total", (("route", "/v1/model"), ("status", "503")))] >= 1
    assert after[("fakescope_requests_total", (("route", "/v1/detect"), ("status", "504")))] >= 2
    assert after[("fakescope_model_load_seconds", ())] > 0 and after[("fakescope_ready", ())] == 1


def test_every_response_has_a_request_id(keyed: ServerProcess) -> None:
    for response in (call("GET", keyed, "/healthz"), call("GET", keyed, "/v1/model"), call("GET", keyed, "/nowhere")):
        rid = response.headers["x-request-id"]
        assert len(rid) == 32 and int(rid, 16) >= 0
    assert call("GET", keyed, "/healthz", headers={"X-Request-ID": "trace-42.a:b"}).headers["x-request-id"] == "trace-42.a:b"
    for insane in ("x" * 200, "no spaces please", "<script>"):
        assert len(call("GET", keyed, "/healthz", headers={"X-Request-ID": insane}).headers["x-request-id"]) == 32


# ---------------------------------------------------------------- shutdown, and what the log holds

def test_sigterm_lets_the_request_in_flight_finish(keyed: ServerProcess) -> None:
    name, data = image(3)
    body = multipart(name, data)
    sock = start_upload(keyed, body, len(body) // 2, KEYS[0])
    try:
        time.sleep(0.3)
        keyed.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.TransportError):  # no new connections once it is shutting down
            httpx.get(keyed.url + "/healthz", timeout=2)
        sock.sendall(body[len(body) // 2:])
        status, headers, raw = read_response(sock)
    finally:
        sock.close()
    assert status == 200, raw
    assert json.loads(raw)["results"][0]["filename"] == name
    assert keyed.proc.wait(timeout=20) == 0
    log = keyed.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    done = [r for r in lines if r["request_id"] == headers["x-request-id"]]
    assert len(done) == 1 and done[0]["status"] == 200 and done[0]["files"] == 1 and done[0]["key"] == "key#1"
    assert {"ts", "method", "route", "path", "duration_ms", "client"} <= set(done[0])
    assert any(r["request_id"] == "trace-42.a:b" and r["route"] == "/healthz" for r in lines)
    assert any(r["status"] == 401 and r["key"] is None for r in lines)
    assert "4 API keys" in log and "Traceback" not in log


def test_keys_never_appear_in_logs_or_responses(keyed: ServerProcess) -> None:
    log = keyed.log()
    assert SEEN and log
    for key in KEYS:
        assert key not in log
        for response in SEEN:
            assert key not in response.text and key not in str(response.headers), response.url


# ---------------------------------------------------------------- the command line

def test_key_and_limit_options_are_checked(tmp_path: Path) -> None:
    empty = tmp_path / "keys.txt"
    empty.write_text("# no keys yet\n\n")
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("fs-secret-part fs-other-part\n")
    cases = [
        (["--api-key-file", str(empty)], "holds no key"),
        (["--api-key-file", str(tmp_path / "missing.txt")], "no such file"),
        (["--api-key-file", str(spaced)], "line 1: an API key cannot contain spaces"),
        (["--rate-limit", "5/fortnight"], "--rate-limit must look like 5/s"),
        (["--burst", "3"], "give --rate-limit too"),
    ]
    for args, message in cases:
        proc = run_cli("serve", *args, "--port", str(free_port()), timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr, proc.stderr
        assert "fs-secret" not in proc.stderr
