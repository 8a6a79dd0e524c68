"""`fakescope detect` through the installed console script, on real images from ../shared/data."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, SHARED, fakescope_bin, run_cli, run_cli_json
from fakescope.models.io import file_sha256
from fakescope.testing.badfiles import BAD_EXPECTED, ODD_EXPECTED_SIZE

CIFAKE_REAL = SHARED / "cifake" / "test" / "REAL"
ROW_KEYS = {"path", "label", "score", "generator", "error", "verdict", "reason", "answered_by", "evidence", "width",
            "height"}


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def detect_jsonl(model: Path, *args: str, **kw) -> list[dict]:
    proc = run_cli("detect", "--model", model, "--format", "jsonl", "--no-progress", *args, **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return jsonl(proc.stdout)


def test_awkward_folder_every_file_gets_a_row(cifake_cnn: Path, awkward_folder: Path) -> None:
    rows = detect_jsonl(cifake_cnn, awkward_folder, "--recursive")
    by_name = {Path(r["path"]).name: r for r in rows if "0_real" in r["path"]}
    # README.txt is not an image name: folders yield image files only
    assert not any(r["path"].endswith("README.txt") for r in rows)
    assert len(rows) == 10 + len(BAD_EXPECTED) + len(ODD_EXPECTED_SIZE)
    for name, fragment in BAD_EXPECTED.items():
        r = by_name[name]
        assert r["label"] is None and r["score"] is None and fragment in r["error"], r
        assert r["verdict"] is None, r
    for name in [*ODD_EXPECTED_SIZE, "good_0.jpg"]:
        r = by_name[name]
        assert r["error"] is None and r["label"] in ("real", "fake") and 0 <= r["score"] <= 1, r
        assert r["verdict"] in ("real", "fake", "uncertain") and r["reason"], r
    sha = file_sha256(cifake_cnn / "model.safetensors")[:12]
    assert all(set(r) == ROW_KEYS | {"model", "input_size", "pipeline"} for r in rows)
    assert {r["model"] for r in rows} == {f"model@{sha}"} and {r["input_size"] for r in rows} == {32}
    # folders come out sorted, so runs are comparable line by line
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)


def test_scores_equal_the_python_api(cifake_cnn: Path) -> None:
    from fakescope import Detector

    files = sorted(CIFAKE_REAL.glob("*.jpg"))[:10]
    rows = detect_jsonl(cifake_cnn, *files, "--batch-size", "4")
    expected = Detector.load(cifake_cnn).predict(files)
    assert [r["path"] for r in rows] == [str(f) for f in files]
    assert [r["score"] for r in rows] == pytest.approx([e["score"] for e in expected], abs=1e-5)
    assert [r["label"] for r in rows] == [e["label"] for e in expected]
    assert [(r["verdict"], r["reason"], r["answered_by"]) for r in rows] == [
        (e["verdict"], e["reason"], e["answered_by"]) for e in expected]


def test_json_is_one_document_with_model_and_summary(cifake_cnn: Path, awkward_folder: Path) -> None:
    doc = run_cli_json("detect", "--model", cifake_cnn, "--format", "json", awkward_folder / "1_fake",
                       awkward_folder / "0_real" / "empty.jpg")
    model = doc["model"]
    assert model["architecture"] == "cnn-small" and model["input_size"] == 32 and model["backend"] == "torch"
    assert model["version"] == file_sha256(cifake_cnn / "model.safetensors")[:12] and model["threshold"] == 0.5
    results = doc["results"]
    assert len(results) == 6 and all(set(r) == ROW_KEYS for r in results)
    s = doc["summary"]
    assert (s["images"], s["errors"], s["fake"] + s["real"] + s["uncertain"]) == (6, 1, 5)
    for verdict in ("fake", "real", "uncertain"):  # the summary counts verdicts, not raw labels
        assert s[verdict] == sum(r["verdict"] == verdict for r in results)


def test_csv_and_table(cifake_cnn: Path, awkward_folder: Path) -> None:
    proc = run_cli("detect", "--model", cifake_cnn, "--format", "csv", awkward_folder / "1_fake", "missing.png")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 6 and rows[-1]["error"] == "file not found" and rows[-1]["score"] == ""
    assert all(0 <= float(r["score"]) <= 1 for r in rows[:5]) and rows[0]["input_size"] == "32"
    assert "image(s)" in proc.stderr  # the summary goes to stderr, stdout stays CSV

    table = run_cli("detect", "--model", cifake_cnn, awkward_folder / "1_fake", "missing.png")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].startswith("pipeline single model: model:") and "evidence -> models model@" in lines[0]
    assert lines[1].split()[:3] == ["verdict", "P(fake)", "generator"]
    # each image: its verdict first, then the reason on the next line
    for verdict_line, reason_line in zip(lines[2:12:2], lines[3:13:2]):
        assert verdict_line.split()[0] in ("fake", "real", "uncertain"), verdict_line
        assert reason_line.startswith(" ") and len(reason_line.strip()) > 20, reason_line
    assert lines[-2].startswith("error") and "missing.png: file not found" in lines[-2]
    assert lines[-1].startswith("6 image(s):") and "1 error(s)" in lines[-1]


def test_generator_attribution_columns(genimage_both: Path) -> None:
    rows = detect_jsonl(genimage_both, SHARED / "tiny-genimage-sample", "--split", "validation", "--top-k", "2")
    assert len(rows) == 35  # a parquet dataset is read row by row
    assert all("#row=" in r["path"] and r["path"].startswith(str(SHARED / "tiny-genimage-sample")) for r in rows)
    for r in rows:
        assert r["error"] is None and len(r["generator"]) == 2
        assert r["generator"][0]["score"] >= r["generator"][1]["score"]
    proc = run_cli("detect", "--model", genimage_both, "--format", "csv", "--no-progress",
                   SHARED / "tiny-genimage-sample", "--split", "validation")
    first = next(csv.DictReader(io.StringIO(proc.stdout)))
    assert first["generator"] == rows[0]["generator"][0]["label"] and first["generators"].count("=") == 3


def test_stdin_globs_and_recursion(cifake_cnn: Path, tmp_path: Path) -> None:
    tree = tmp_path / "photos"
    (tree / "a" / "b").mkdir(parents=True)
    srcs = sorted(CIFAKE_REAL.glob("*.jpg"))[:3]
    shutil.copy(srcs[0], tree / "top.jpg")
    shutil.copy(srcs[1], tree / "a" / "mid.jpg")
    shutil.copy(srcs[2], tree / "a" / "b" / "deep.jpg")

    flat = detect_jsonl(cifake_cnn, tree)
    assert [Path(r["path"]).name for r in flat] == ["top.jpg"]
    deep = detect_jsonl(cifake_cnn, tree, "-r")
    assert [Path(r["path"]).relative_to(tree).as_posix() for r in deep] == ["top.jpg", "a/mid.jpg", "a/b/deep.jpg"]
    nested = tmp_path / "nested"
    (nested / "inner").mkdir(parents=True)
    shutil.copy(srcs[0], nested / "inner" / "x.jpg")
    empty = detect_jsonl(cifake_cnn, nested)  # a folder whose images are all deeper: one error row
    assert len(empty) == 1 and empty[0]["path"] == str(nested) and empty[0]["score"] is None
    assert empty[0]["error"] == "no image files in this folder (it has 1 subfolder(s): add --recursive)"

    # globs are expanded by fakescope (quoted: the shell did not), ** only with --recursive
    assert [Path(r["path"]).name for r in detect_jsonl(cifake_cnn, f"{tree}/*/*.jpg")] == ["mid.jpg"]
    starstar = detect_jsonl(cifake_cnn, f"{tree}/**/*.jpg", "-r")
    assert sorted(Path(r["path"]).name for r in starstar) == ["deep.jpg", "mid.jpg", "top.jpg"]
    nomatch = detect_jsonl(cifake_cnn, f"{tree}/*.png")
    assert len(nomatch) == 1 and nomatch[0]["error"] == "no files match this pattern" and nomatch[0]["score"] is None

    listing = f"{tree / 'top.jpg'}\n\n{tree / 'a'}\n{tmp_path / 'gone.jpg'}\n"
    rows = detect_jsonl(cifake_cnn, "-", input=listing)
    assert [(Path(r["path"]).name, r["error"]) for r in rows] == [("top.jpg", None), ("mid.jpg", None),
                                                                   ("gone.jpg", "file not found")]
    # relative paths stay as given
    rel = detect_jsonl(cifake_cnn, "photos/top.jpg", cwd=tmp_path)
    assert rel[0]["path"] == "photos/top.jpg" and rel[0]["error"] is None


def test_every_format_pillow_reads(cifake_cnn: Path, tmp_path: Path) -> None:
    base = Image.open(sorted(CIFAKE_REAL.glob("*.jpg"))[0]).convert("RGB")
    saves = {"png": {}, "bmp": {}, "tiff": {}, "ppm": {}, "tga": {}, "webp": {"lossless": True}, "gif": {},
             "jpg": {"quality": 90}, "jp2": {}, "ico": {}, "pcx": {}, "sgi": {}, "dib": {}, "qoi": {}}
    written = []
    for ext, kw in saves.items():
        try:
            base.save(tmp_path / f"img.{ext}", **kw)
            written.append(ext)
        except (OSError, KeyError, ValueError):
            continue  # a codec this Pillow build lacks cannot be written either
    (tmp_path / "no_extension").write_bytes((tmp_path / "img.png").read_bytes())
    assert {"png", "bmp", "tiff", "webp", "gif", "jpg"} <= set(written)
    rows = {Path(r["path"]).name: r for r in detect_jsonl(cifake_cnn, tmp_path, tmp_path / "no_extension")}
    assert set(rows) == {f"img.{e}" for e in written} | {"no_extension"}  # named files need no extension
    assert all(r["error"] is None for r in rows.values()), rows
    lossless = [rows[f"img.{e}"]["score"] for e in ("png", "bmp", "tiff", "webp", "ppm", "tga") if e in written]
    assert lossless == pytest.approx([rows["no_extension"]["score"]] * len(lossless), abs=1e-6)


def test_output_file_is_written_whole(cifake_cnn: Path, awkward_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "res" / "out.json"
    proc = run_cli("detect", "--model", cifake_cnn, "-f", "json", "-o", out, awkward_folder / "1_fake")
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(out.read_text())["summary"]["images"] == 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.json"]  # no temporary left behind
    lines = tmp_path / "out.jsonl"
    run_cli("detect", "--model", cifake_cnn, "-f", "jsonl", "-o", lines, awkward_folder / "1_fake")
    assert len(jsonl(lines.read_text())) == 5


def test_jsonl_streams_each_verdict_as_it_is_scored(cifake_cnn: Path) -> None:
    """With paths arriving one by one on stdin, each line comes out before the next path goes in,
    even with the default batch size: a batch is scored early when the input pauses."""
    files = sorted(CIFAKE_REAL.glob("*.jpg"))[:3]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([fakescope_bin(), "detect", "--model", str(cifake_cnn), "-f", "jsonl",
                             "--no-progress", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        for f in files:
            proc.stdin.write(f"{f}\n")
            proc.stdin.flush()
            line = json.loads(proc.stdout.readline())  # blocks until this image's verdict is out
            assert line["path"] == str(f) and line["error"] is None
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0 and proc.stdout.read() == ""
    finally:
        proc.kill()
        proc.wait()


def test_threshold_progress_and_exit_codes(cifake_cnn: Path, awkward_folder: Path, tmp_path: Path) -> None:
    folder = awkward_folder / "1_fake"
    assert {r["label"] for r in detect_jsonl(cifake_cnn, folder, "--threshold", "0")} == {"fake"}
    assert {r["label"] for r in detect_jsonl(cifake_cnn, folder, "--threshold", "1")} <= {"real", "fake"}

    many = run_cli("detect", "--model", cifake_cnn, "-f", "jsonl", awkward_folder, "-r")
    assert "detect:" in many.stderr and "img" in many.stderr  # a progress bar for more than a few images
    few = run_cli("detect", "--model", cifake_cnn, "-f", "jsonl", folder / "good_0.jpg")
    assert "detect:" not in few.stderr

    strict = run_cli("detect", "--model", cifake_cnn, "-f", "jsonl", "--fail-on-error", awkward_folder, "-r")
    assert strict.returncode == 1 and len(jsonl(strict.stdout)) > 10
    assert run_cli("detect", "--model", cifake_cnn, "--fail-on-error", folder).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--format", "xml"], "--format must be one of table, json, jsonl, csv"),
    (["--threshold", "1.5"], "--threshold is a probability in [0, 1]"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--backend", "tensorrt"], "unknown backend 'tensorrt'"),
    (["--engine", "spark"], "--engine must be one of local, ray"),
    (["--engine", "ray"], "give the output folder with --output DIR"),
    (["--engine", "ray", "--output", "x", "--explain", "y"], "does not explain"),
    (["-", "-"], "'-' (paths on stdin) can be given once"),
    (["--split", "test"], "--split test applies to datasets"),
    ([str(SHARED / "cifake-parquet"), "--split", "validation"], "no split 'validation' (available: train, test)"),
])
def test_bad_arguments_exit_2_with_one_line(cifake_cnn: Path, args: list[str], message: str) -> None:
    proc = run_cli("detect", "--model", cifake_cnn, str(CIFAKE_REAL), *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_missing_models_exit_2(tmp_path: Path) -> None:
    image = sorted(CIFAKE_REAL.glob("*.jpg"))[0]
    proc = run_cli("detect", image, env={"FAKESCOPE_MODEL": str(tmp_path / "nowhere")})
    assert proc.returncode == 2 and "FAKESCOPE_MODEL=" in proc.stderr and "not a model directory" in proc.stderr
    proc = run_cli("detect", "--model", tmp_path, image)
    assert proc.returncode == 2 and "not a model directory" in proc.stderr


def test_local_engine_never_imports_ray(cifake_cnn: Path) -> None:
    image = sorted(CIFAKE_REAL.glob("*.jpg"))[0]
    code = ("import sys\nfrom fakescope.cli.app import build_app\n"
            f"build_app()(['detect', '--model', {str(cifake_cnn)!r}, '-f', 'jsonl', {str(image)!r}], standalone_mode=False)\n"
            "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO-RAY')\n")
    proc = subprocess.run([str(Path(fakescope_bin()).with_name("python")), "-c", code], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "NO-RAY" and json.loads(proc.stdout.splitlines()[0])["error"] is None
