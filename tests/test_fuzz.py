"""No file can stop a run: the per-file boundary, the mutation fuzzer through decode, `Detector.predict`,
`fakescope detect` and the real service, and schemathesis against the service's own OpenAPI document.

Failures reproduce: hypothesis runs derandomized and prints the falsifying (seed, mutators, rng)
example; the seeded cases are named `seed=M case=i` (`fakescope.testing.fuzz.make_case`).
"""

from __future__ import annotations

import io
import json
import random
import shutil
from functools import lru_cache
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import SHARED, run_cli
from fakescope.data import ImageDecodeError, decode_image, guard_file
from fakescope.testing.api_fuzz import operations, run_schemathesis
from fakescope.testing.badfiles import BAD_EXPECTED, bomb_png, icns_with_png, make_awkward_files
from fakescope.testing.fuzz import MUTATORS, load_seeds, make_cases, mutate, write_cases
from fakescope.testing.server import ServerProcess

MASTER_SEED = 20261128
N_CASES = 48
MAX_PIXELS = 1_000_000  # the CLI (FAKESCOPE_MAX_PIXELS) and the server (--max-pixels) refuse alike


@lru_cache(maxsize=1)
def seeds():
    return load_seeds(SHARED)


# ---------------------------------------------------------------- the boundary itself

def test_guard_file_turns_any_exception_into_the_per_file_error() -> None:
    with pytest.raises(ImageDecodeError) as info:
        with guard_file("cannot decode image"):
            raise NotImplementedError("Unimplemented DXGI format 93")
    assert info.value.reason == "cannot decode image: NotImplementedError: Unimplemented DXGI format 93"
    with pytest.raises(ImageDecodeError, match=r"^image too large \(decompression bomb check\): DecompressionBombError"):
        with guard_file():
            raise Image.DecompressionBombError("Image size (10000000000 pixels) exceeds limit")
    with pytest.raises(ImageDecodeError, match=r"^image too large \(out of memory while decoding\)"):
        with guard_file():
            raise MemoryError()
    with pytest.raises(ImageDecodeError, match="^empty file"):  # the data layer's own reasons pass unchanged
        with guard_file():
            raise ImageDecodeError("empty file (0 bytes)")


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_ctrl_c_and_exit_still_stop_the_run(monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]) -> None:
    def interrupted(*args, **kwargs):
        raise stop()

    monkeypatch.setattr(Image, "open", interrupted)
    with pytest.raises(stop):
        decode_image(seeds()[0].data)


@pytest.mark.parametrize("side", [10_000, 100_000])
def test_bombs_found_only_in_load_are_refused(side: int) -> None:
    # An ICNS icon reports its 512x512 slot at open; Pillow learns the embedded PNG's size in load().
    # 10,000^2 is between Pillow's warning and error limits (a warning, made an error here);
    # 100,000^2 is over both.
    with pytest.raises(ImageDecodeError, match=r"^image too large \(decompression bomb check\)"):
        decode_image(icns_with_png(bomb_png(side, side)))


def test_an_icon_whose_embedded_png_disagrees_is_a_per_file_error() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (600, 600), (10, 200, 30)).save(buf, format="PNG")
    with pytest.raises(ImageDecodeError, match=r"\(ICNS\)"):
        decode_image(icns_with_png(buf.getvalue()))
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (10, 200, 30)).save(buf, format="PNG")
    assert decode_image(icns_with_png(buf.getvalue())).size == (256, 256)  # a smaller slot image is fine


MEMORY_PROBE = r"""
import random, resource, sys
from pathlib import Path
from PIL import Image
from fakescope.data.decode import ImageDecodeError, decode_image
from fakescope.testing.badfiles import bomb_png, icns_with_png
from fakescope.testing.fuzz import huge_dimensions, load_seeds

def vm_size():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmSize:"))
    return int(line.split()[1]) * 1024

seeds = load_seeds(Path(sys.argv[1]))
cases = [huge_dimensions(s.data, s.fmt, random.Random(k)) for s in seeds for k in range(6)]
cases += [bomb_png(), bomb_png(9000, 9000), bomb_png(9400, 9400), icns_with_png(bomb_png(10000, 10000))]
limit = vm_size() + (1 << 30)  # 1 GiB of address space above what the interpreter holds now
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
def out_of_memory(max_pixels, cases):
    n = 0
    for data in cases:
        try:
            decode_image(data, max_pixels=max_pixels)
        except ImageDecodeError as exc:
            n += "out of memory" in exc.reason
    return n
print(len(cases), out_of_memory(89_478_485, cases))
Image.MAX_IMAGE_PIXELS = None  # the control: without the limits a header alone asks for 40 GB
print(out_of_memory(10**12, [bomb_png()]))
"""


def test_no_file_needs_more_than_a_bounded_amount_of_memory() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(SHARED)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (n_cases, limited), (unlimited,) = [list(map(int, line.split())) for line in proc.stdout.split("\n")[:2]]
    assert n_cases > 100
    assert limited == 0  # every bomb and huge header is refused (or decoded) within 1 GiB
    assert unlimited >= 1  # the probe is real: without the pixel limits the same files exhaust it


# ---------------------------------------------------------------- decode under mutation

@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0), mutators=st.lists(st.sampled_from(sorted(MUTATORS)), min_size=1, max_size=3),
       rng_seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_decode_never_lets_an_exception_out(seed: int, mutators: list[str], rng_seed: int) -> None:
    chosen = seeds()[seed % len(seeds())]
    data = mutate(chosen.data, chosen.fmt, tuple(mutators), random.Random(rng_seed))
    try:
        im = decode_image(data, max_pixels=MAX_PIXELS)
    except ImageDecodeError as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    assert im.mode == "RGB" and im.size[0] * im.size[1] <= MAX_PIXELS


def test_seeded_cases_reach_both_outcomes_and_reproduce() -> None:
    cases = list(make_cases(seeds(), MASTER_SEED, 200))
    assert [c.data for c in make_cases(seeds(), MASTER_SEED, 5, start=10)] == [c.data for c in cases[10:15]]
    outcomes = {"ok": 0, "error": 0}
    for case in cases:
        try:
            decode_image(case.data, max_pixels=MAX_PIXELS)
            outcomes["ok"] += 1
        except ImageDecodeError:
            outcomes["error"] += 1
    # a fuzzer whose cases all fail (or all pass) would test only one path
    assert outcomes["ok"] >= 10 and outcomes["error"] >= 50, outcomes
    assert {c.seed for c in cases} == {s.name for s in seeds()}


# ---------------------------------------------------------------- detect (CLI and library) and the service

@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Good files, every awkward failure class, and seeded fuzz cases, in nested folders.
    Returns the folder and file name -> what it is."""
    root = tmp_path_factory.mktemp("mixed")
    what: dict[str, str] = {}
    good = root / "good"
    good.mkdir()
    for src in sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[:3] + \
            sorted((SHARED / "native-pool" / "SD21").glob("*"))[:2]:
        shutil.copy(src, good / src.name)
        what[src.name] = "good"
    base = Image.open(SHARED / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    for name in make_awkward_files(root / "awkward", base):
        what[name] = "bad" if name in BAD_EXPECTED else "odd"
    for name, case in write_cases(list(make_cases(seeds(), MASTER_SEED, N_CASES)), root / "fuzz").items():
        what[name] = case.describe()
    return root, what


def _rows(root: Path) -> dict[str, dict]:
    proc = run_cli("detect", root, "-r", "--format", "jsonl", "--threads", "1",
                   env={"FAKESCOPE_MAX_PIXELS": str(MAX_PIXELS)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    return {Path(r["path"]).name: r for r in rows}


@pytest.fixture(scope="module")
def detect_rows(mixed_folder: tuple[Path, dict[str, str]]) -> dict[str, dict]:
    return _rows(mixed_folder[0])


def test_detect_gives_one_row_per_file_and_exits_0(mixed_folder: tuple[Path, dict[str, str]],
                                                   detect_rows: dict[str, dict]) -> None:
    root, what = mixed_folder
    assert set(detect_rows) == set(what)  # one row for every file, none lost after a bad one
    for name, row in detect_rows.items():
        assert (row["error"] is None) == (row["score"] is not None), (name, what[name], row)
        if what[name] == "good":
            assert row["error"] is None and 0 <= row["score"] <= 1
        if what[name] == "bad":
            assert BAD_EXPECTED[name] in row["error"], (name, row["error"])
    errors = [n for n, r in detect_rows.items() if r["error"] is not None and n.startswith("case-")]
    assert 0 < len(errors) < N_CASES  # the fuzz cases reach both outcomes here too


def test_detector_predict_agrees_with_the_cli(mixed_folder: tuple[Path, dict[str, str]],
                                              detect_rows: dict[str, dict]) -> None:
    from fakescope import Detector

    root, _ = mixed_folder
    files = sorted(p for p in root.rglob("*") if p.is_file())
    results = Detector.load(threads=1).predict(files)
    assert len(results) == len(files)
    for path, result in zip(files, results):
        row = detect_rows[path.name]
        if row["error"] is not None and row["error"].startswith("image too large:"):
            continue  # the CLI ran with a 1 MP limit, the library with its default
        assert (result.get("error") is None) == (row["error"] is None), (path.name, result.get("error"), row["error"])
        if row["error"] is None:
            assert result["score"] == pytest.approx(row["score"], abs=1e-5)
        else:
            assert result.get("error") == row["error"]


@pytest.fixture(scope="module")
def server():
    with ServerProcess(["--max-pixels", str(MAX_PIXELS), "--max-files", "4", "--no-access-log"]) as srv:
        yield srv


def test_service_answers_every_file_like_detect(server: ServerProcess, mixed_folder: tuple[Path, dict[str, str]],
                                                detect_rows: dict[str, dict]) -> None:
    root, _ = mixed_folder
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            response = client.post("/v1/detect", files=[("file", (path.name, path.read_bytes()))])
            assert response.status_code in (200, 413, 415, 422), (path.name, response.status_code, response.text[:300])
            body = response.json()
            if response.status_code == 200:
                assert detect_rows[path.name]["error"] is None, path.name
                assert body["results"][0]["score"] == pytest.approx(detect_rows[path.name]["score"], abs=1e-5)
            else:
                assert detect_rows[path.name]["error"] is not None, path.name
                (problem,) = body["error"]["files"]
                assert problem["status"] == response.status_code and problem["message"]
        # the service's all-or-nothing rule lists every bad file of a mixed request
        picks = [root / "good" / sorted(p.name for p in (root / "good").iterdir())[0],
                 root / "awkward" / "bomb_in_load.icns", root / "awkward" / "dxgi93.dds"]
        response = client.post("/v1/detect", files=[("file", (p.name, p.read_bytes())) for p in picks])
        assert response.status_code == 413  # the first problem's status: the bomb
        assert [f["filename"] for f in response.json()["error"]["files"]] == ["bomb_in_load.icns", "dxgi93.dds"]
    assert server.alive() and "Traceback" not in server.log()


# ---------------------------------------------------------------- the OpenAPI document and schemathesis

def test_openapi_states_what_the_service_does(server: ServerProcess) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    body = spec["paths"]["/v1/detect"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"] and body["properties"]["file"]["minItems"] == 1
    none = httpx.post(server.url + "/v1/detect", files={"explain": (None, "true")})
    assert none.status_code == 400 and none.json()["error"]["code"] == "no_files"
    # every error status of every operation comes with the JSON error body
    for path, item in spec["paths"].items():
        for method, op in item.items():
            errors = {code: r for code, r in op["responses"].items() if not code.startswith("2")}
            assert "500" in errors, (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)
    # a bad form field is refused even when the query already asks for explanations
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    bad = httpx.post(server.url + "/v1/detect?explain=true",
                     files=[("file", ("x.png", png.getvalue())), ("explain", (None, "{}"))])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_field"
    # the body schema allows no other text field, and the service refuses one (a typo never passes silently)
    assert body["additionalProperties"] is False
    typo = httpx.post(server.url + "/v1/detect", files=[("file", ("x.png", png.getvalue())), ("explian", (None, "1"))])
    assert typo.status_code == 400 and typo.json()["error"]["code"] == "unknown_field"
    renamed = httpx.post(server.url + "/v1/detect", files=[("image", ("x.png", png.getvalue()))])
    assert renamed.status_code == 200  # a file part under another name is still a file


def test_schemathesis_finds_no_server_error_or_schema_mismatch(server: ServerProcess) -> None:
    proc = run_schemathesis(server.url, max_examples=12, seed=MASTER_SEED, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    n = len(operations(server.url))
    assert n >= 3 and f"Selected: {n}/{n}" in out and f"Tested: {n}" in out, out[-3000:]
    assert server.alive() and "Traceback" not in server.log()
