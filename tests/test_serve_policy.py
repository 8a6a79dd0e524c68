"""The access policy's parts in-process: key files, the token bucket (with a clock the test moves),
and readiness while a pipeline loads (Starlette's TestClient around the real app and Detector)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import SHARED
from fakescope.errors import UserError
from fakescope.serve.access import load_api_keys, read_key_file
from fakescope.serve.ratelimit import RateLimiter, default_burst, parse_rate


def test_key_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# ops team\n\n  alpha-1  \nbeta-2\n#gamma-3\n")
    assert read_key_file(path) == ["alpha-1", "beta-2"]
    keys = load_api_keys(path, environ={"FAKESCOPE_API_KEYS": " delta-4,, epsilon-5 "})
    assert len(keys) == 4 and "alpha" not in repr(keys)
    assert keys.identify("Bearer alpha-1") == "key#1" and keys.identify("bearer   beta-2") == "key#2"
    assert keys.identify("Bearer epsilon-5") == "key#4"
    for header in (None, "", "Bearer", "Bearer ", "Basic alpha-1", "Bearer alpha-", "Bearer alpha-1x", "alpha-1"):
        assert keys.identify(header) is None, header
    assert not load_api_keys(None, environ={"FAKESCOPE_API_KEYS": " , "})
    path.write_text("# only comments\n")
    with pytest.raises(UserError, match="holds no key"):
        read_key_file(path)


def test_rate_parsing() -> None:
    assert parse_rate("5/s").per_second == 5 and parse_rate("120/min").per_second == 2
    assert parse_rate("1.5 / second").per_second == 1.5 and parse_rate("36/h").per_second == pytest.approx(0.01)
    assert default_burst(parse_rate("100/min")) == 100 and default_burst(parse_rate("0.5/s")) == 1
    for bad in ("5", "0/s", "-1/s", "5/week", "five/s", "5/s/s"):
        with pytest.raises(UserError):
            parse_rate(bad)


def test_token_bucket_burst_refill_and_retry_after() -> None:
    now = [1000.0]
    limiter = RateLimiter(parse_rate("2/s"), burst=3, clock=lambda: now[0], max_clients=2)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]  # the burst
    assert limiter.take("a") == 1  # empty: half a second to the next token, rounded up to whole seconds
    assert limiter.take("b") == 0  # another client has its own bucket
    now[0] += 0.5
    assert limiter.take("a") == 0 and limiter.take("a") == 1
    now[0] += 10  # refills to the burst, never beyond
    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 1]
    slow = RateLimiter(parse_rate("1/min"), burst=1, clock=lambda: now[0])
    assert slow.take("x") == 0 and slow.take("x") == 60
    now[0] += 15.2
    assert slow.take("x") == 45  # ceil(44.8)
    # bounded memory: a third client evicts the least recently seen one, which then starts full
    limiter.take("c")
    assert set(limiter._buckets) == {"a", "c"}


def test_readiness_while_the_pipeline_loads(cifake_cnn: Path) -> None:
    from fakescope import Detector
    from fakescope.serve import create_app

    release = threading.Event()

    def slow_load():
        release.wait(30)
        return Detector.load(cifake_cnn)

    app = create_app(slow_load)
    image = sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[0]
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "model": None}
        for path in ("/readyz", "/v1/model"):
            response = client.get(path)
            assert response.status_code == 503 and response.json()["error"]["code"] == "not_ready"
            assert response.headers["retry-after"] == "1"
        refused = client.post("/v1/detect", files={"file": (image.name, image.read_bytes())})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "not_ready"
        assert "fakescope_ready 0.0" in client.get("/metrics").text
        release.set()
        assert app.state.service.wait(60)
        assert client.get("/readyz").json() == {"status": "ready", "model": cifake_cnn.name}
        assert client.post("/v1/detect", files={"file": (image.name, image.read_bytes())}).status_code == 200
        text = client.get("/metrics").text
        load = next(float(line.split()[1]) for line in text.splitlines() if line.startswith("fakescope_model_load_seconds "))
        assert "fakescope_ready 1.0" in text and load > 0.0

    def broken_load():
        raise UserError("not a model directory: /nowhere")

    failed = create_app(broken_load)
    with TestClient(failed) as client:
        failed.state.service.wait(10)
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["error"]["code"] == "load_failed"
        assert "/nowhere" not in response.text  # the reason is in the server's log, not the answer
    assert isinstance(failed.state.service.error, UserError)


def test_metrics_public_opens_only_metrics() -> None:
    from fakescope.serve import create_app
    from fakescope.serve.access import ApiKeys
    from fakescope.serve.policy import ServicePolicy

    def never_loaded():
        raise AssertionError("the gate answers these before any pipeline is needed")

    for public, metrics_status in ((True, 200), (False, 401)):
        policy = ServicePolicy(api_keys=ApiKeys(["fs-k1"]), metrics_public=public)
        client = TestClient(create_app(never_loaded, policy=policy))  # no lifespan: nothing loads
        assert client.get("/metrics").status_code == metrics_status
        assert client.get("/v1/model").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer fs-k1"}).status_code == 200
        assert client.get("/healthz").json() == {"status": "ok", "model": None}
