"""`fakescope evaluate` through the real CLI on real data, checked against independent computations:
scikit-learn on the predictions file, conditions re-applied by hand, content hashes, resumption."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

from conftest import REPO, fakescope_bin, run_cli, run_cli_json
from fakescope import imageops
from fakescope.data import open_source
from fakescope.data.decode import decode_image
from fakescope.eval.predictions import recover_log
from fakescope.eval.scoring import SUBSET_SALT
from fakescope.inference import TorchBackend, score_items
from fakescope.models import load_model, read_config
from fakescope.testing.badfiles import BAD_EXPECTED
from fakescope.data.selection import key_hash

FAST = ("--threads", "1", "--no-progress")


def _table(path: Path) -> dict[str, list]:
    return pq.read_table(path).to_pydict()


def _rescore(model_dir: Path, samples: list, transform=None) -> list[float]:
    """Scores computed here, outside the evaluation pipeline: decode, optional transform, model."""
    model, config = load_model(model_dir)
    load = (lambda s: transform(s.image())) if transform else (lambda s: s.image())
    return [r.score for r in score_items(TorchBackend(model, config), samples, load, batch_size=16)]


@pytest.fixture(scope="module")
def cifake_eval(cifake_spectral: Path, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("eval_cifake")
    proc = run_cli("evaluate", "--model", cifake_spectral, "--data", shared / "cifake", "--out", out, "--max-samples", "400",
                   "--degrade", "jpeg:30,resize:16", "--degrade", "noise:5", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout), proc.stderr


def test_metrics_match_scikit_learn_on_the_predictions_file(cifake_eval: tuple[Path, dict, str], cifake_spectral: Path,
                                                            shared: Path) -> None:
    out, doc, _ = cifake_eval
    assert doc == json.loads((out / "metrics.json").read_text())  # stdout is exactly the metrics document
    assert list(doc["conditions"]) == ["clean", "jpeg:30", "resize:16", "noise:5"]
    pred = _table(out / "predictions.parquet")
    assert len(pred["key"]) == 400 and len(set(pred["key"])) == 400
    assert {"path", "label", "generator", "score:clean", "score:jpeg:30", "score:resize:16", "score:noise:5"} <= set(pred)
    y = np.asarray(pred["label"])
    assert doc["data"]["split"] == "test" and all(p.startswith(str(shared / "cifake" / "test")) for p in pred["path"])
    threshold = read_config(cifake_spectral).threshold
    assert doc["protocol"]["threshold"] == {"value": threshold, "source": "the model's config.json"}
    for cond, res in doc["conditions"].items():
        s = np.asarray(pred[f"score:{cond}"], dtype=float)
        m = res["overall"]
        assert (m["n"], m["n_real"], m["n_fake"]) == (400, int((y == 0).sum()), int((y == 1).sum()))
        assert m["accuracy"] == pytest.approx(accuracy_score(y, s >= threshold))
        assert m["real_accuracy"] == pytest.approx(((s < threshold) & (y == 0)).sum() / (y == 0).sum())
        assert m["fake_accuracy"] == pytest.approx(((s >= threshold) & (y == 1)).sum() / (y == 1).sum())
        assert m["auroc"] == pytest.approx(roc_auc_score(y, s))
        assert m["ap"] == pytest.approx(average_precision_score(y, s))
        assert m["accuracy_ci95"]["low"] <= m["accuracy"] <= m["accuracy_ci95"]["high"]
        assert m["auroc_ci95"]["low"] <= m["auroc"] <= m["auroc_ci95"]["high"]
        for key in ("eer", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "ece"):
            assert 0.0 <= m[key] <= 1.0
        # CIFAKE's fakes are all SD14: the per-generator row is its fakes against all reals = the whole set
        assert res["per_generator"]["SD14"]["auroc"] == pytest.approx(m["auroc"])
    clean = doc["conditions"]["clean"]["overall"]
    assert 0.6 < clean["auroc"] <= 1.0  # a real, if small, detector on held-out CIFAKE test images
    assert doc["published"][0]["value"] == pytest.approx(0.9298) and doc["published"][0]["label"] == "published, not ours"


def test_conditions_reach_the_model_as_specified(cifake_eval: tuple[Path, dict, str], cifake_spectral: Path, shared: Path) -> None:
    out, doc, _ = cifake_eval
    pred = _table(out / "predictions.parquet")
    by_key = {s.key: s for s in open_source(shared / "cifake", split="test")}
    keys = pred["key"][:12]
    samples = [by_key[k] for k in keys]
    for cond, transform in (("clean", None), ("jpeg:30", lambda im: imageops.jpeg_reencode(im, 30)),
                            ("resize:16", lambda im: imageops.downsample_shorter(im, 16))):
        expected = _rescore(cifake_spectral, samples, transform)
        assert pred[f"score:{cond}"][:12] == pytest.approx(expected, abs=1e-5), cond
    clean, jpeg = np.asarray(pred["score:clean"]), np.asarray(pred["score:jpeg:30"])
    assert np.mean(np.abs(clean - jpeg) > 1e-6) > 0.9  # JPEG 30 changed nearly every input
    proto = {c["name"]: c for c in doc["protocol"]["conditions"]}
    assert proto["jpeg:30"]["value"] == 30 and proto["resize:16"]["parameter"] == "shorter side in pixels"
    assert proto["noise:5"]["operation"].endswith("seeded per image key")
    assert doc["protocol"]["encoder"] == imageops.encoder_description()


def test_protocol_is_recorded(cifake_eval: tuple[Path, dict, str], cifake_spectral: Path, shared: Path) -> None:
    out, doc, _ = cifake_eval
    proto, model, data = doc["protocol"], doc["model"], doc["data"]
    assert data["fingerprint"] == open_source(shared / "cifake", split="test").fingerprint()
    assert model["weights_sha256"] == read_config(cifake_spectral).card["weights_sha256"]
    assert model["architecture"] == "spectral" and model["preprocess"]["input_size"] == 32
    assert proto["alignment"]["enabled"] is False
    assert proto["max_samples"] == 400 and proto["samples"]["outside_subset"] == 2000 - 400
    assert proto["environment"]["torch"] and proto["date"] and proto["bootstrap"]["n_resamples"] == 1000
    assert proto["skipped"]["n"] == 0 and proto["ece_bins"] == 15
    # the subset is the uniform one promised: the 400 smallest key hashes of the split
    keys = sorted((s.key for s in open_source(shared / "cifake", split="test")), key=lambda k: key_hash(k, SUBSET_SALT))[:400]
    assert set(_table(out / "predictions.parquet")["key"]) == set(keys)
    assert {p.name for p in (out / "figures").iterdir()} >= {"roc.png", "pr.png", "score_histogram.png", "calibration.png",
                                                            "robustness.png", "per_generator.png"}
    assert not (out / ".partial").exists()


@pytest.fixture(scope="module")
def genimage_eval(genimage_both: Path, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("eval_genimage")
    doc = run_cli_json("evaluate", "--model", genimage_both, "--data", shared / "tiny-genimage-sample", "--out", out,
                       "--degrade", "jpeg:65,blur:3", *FAST)
    return out, doc


def test_task_b_and_per_generator_against_scikit_learn(genimage_eval: tuple[Path, dict], genimage_both: Path) -> None:
    out, doc = genimage_eval
    assert doc["data"]["split"] == "validation" and doc["data"]["n_scored"] == 35
    pred = _table(out / "predictions.parquet")
    y = np.asarray(pred["label"])
    vocab = read_config(genimage_both).generators
    true = ["Real" if lab == 0 else g for lab, g in zip(pred["label"], pred["generator"])]
    att = doc["attribution"]
    assert att["top1_accuracy"] == pytest.approx(accuracy_score(true, pred["pred_generator:clean"]))
    present = sorted(set(true))
    assert att["macro_f1"] == pytest.approx(f1_score(true, pred["pred_generator:clean"], labels=present, average="macro"))
    assert att["labels"] == vocab and np.asarray(att["confusion_matrix"]).sum() == 35
    assert np.asarray(att["confusion_matrix"])[0].sum() == int((y == 0).sum())  # row "Real" = every real
    per_gen = doc["conditions"]["clean"]["per_generator"]
    assert sorted(per_gen) == sorted(["ADM", "BigGAN", "GLIDE", "Midjourney", "SD14", "SD15", "VQDM", "Wukong"])
    s = np.asarray(pred["score:clean"])
    for g, m in per_gen.items():
        mask = (y == 0) | (np.asarray(pred["generator"], dtype=object) == g)
        assert (m["n_real"], m["n_fake"]) == (7, int(((y == 1) & mask).sum()))
        assert m["auroc"] == pytest.approx(roc_auc_score(y[mask], s[mask]))
    assert doc["conditions"]["jpeg:65"]["attribution"]["n"] == 35


def test_per_family_and_mean_ap_on_community_forensics(cifake_spectral: Path, shared: Path, tmp_path: Path) -> None:
    doc = run_cli_json("evaluate", "--model", cifake_spectral, "--data", shared / "commfor-sample", "--out", tmp_path / "e",
                       "--bootstrap", "0", "--no-report", *FAST)
    pred = _table(tmp_path / "e" / "predictions.parquet")
    y, s = np.asarray(pred["label"]), np.asarray(pred["score:clean"])
    fam = np.asarray(pred["family"], dtype=object)
    assert set(fam[y == 0]) == {"real"} and set(fam[y == 1]) == {"gan"}
    clean = doc["conditions"]["clean"]
    assert list(clean["per_family"]) == ["gan"]  # the reals' "real" is not a generator family
    assert clean["per_family"]["gan"]["ap"] == pytest.approx(average_precision_score(y, s))
    assert clean["mean_ap_over_families"] == {"value": pytest.approx(clean["per_family"]["gan"]["ap"]), "n_families": 1,
                                              "families": ["gan"]}
    assert len(clean["per_generator"]) == 13 and all(m["n_real"] == 146 for m in clean["per_generator"].values())
    ref = next(r for r in doc["published"] if r["metric"] == "ap")
    assert ref["value"] == 0.943 and ref["compare_with"] == "conditions.clean.mean_ap_over_families"
    assert doc["protocol"]["format_check"]["format_differs"] is False


def test_format_bias_warning_and_alignment(cifake_spectral: Path, shared: Path, tmp_path: Path) -> None:
    """Reals JPEG 356 px, fakes PNG 128 px: evaluate says so; --align-format re-encodes both classes."""
    data = tmp_path / "mixed"
    (data / "0_real").mkdir(parents=True)
    (data / "1_fake").mkdir()
    for f in sorted((shared / "cnndetection_ranking" / "biggan" / "0_real").glob("*.jpg")):
        shutil.copy(f, data / "0_real" / f.name)
    for f in sorted((shared / "genimage_biggan_fixtures" / "tests" / "fixtures").glob("*.png")):
        shutil.copy(f, data / "1_fake" / f.name)
    plain = run_cli("evaluate", "--model", cifake_spectral, "--data", data, "--out", tmp_path / "plain", "--bootstrap", "100", *FAST)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "warning: the classes differ in file format (real: 100% JPEG, median 356x356; fake: 100% PNG, median 128x128)" in plain.stderr
    assert "differ in image size" in plain.stderr
    doc = json.loads(plain.stdout)
    check = doc["protocol"]["format_check"]
    assert check["format_differs"] and check["size_differs"] and check["real"]["formats"] == {"JPEG": 1.0}
    assert doc["protocol"]["alignment"]["enabled"] is False and len(doc["protocol"]["warnings"]) == 2

    aligned = run_cli_json("evaluate", "--model", cifake_spectral, "--data", data, "--out", tmp_path / "aligned",
                           "--align-format", "jpeg:96", "--predictions", "csv", "--bootstrap", "100", *FAST)
    assert aligned["protocol"]["alignment"] == {**aligned["protocol"]["alignment"], "enabled": True, "format": "JPEG", "quality": 96}
    assert "alignment jpeg:96 is on" in aligned["protocol"]["warnings"][0]
    assert "Format alignment" in (tmp_path / "aligned" / "report.html").read_text()
    import csv

    rows = list(csv.DictReader(open(tmp_path / "aligned" / "predictions.csv")))
    assert len(rows) == 15 and not (tmp_path / "aligned" / "predictions.parquet").exists()
    samples = {s.key: s for s in open_source(data)}
    # independently: every image of both classes, re-encoded as JPEG 96 bytes, decoded and scored
    expected = _rescore(cifake_spectral, [samples[r["key"]] for r in rows],
                        lambda im: decode_image(imageops.jpeg_bytes(im, 96)))
    assert [float(r["score:clean"]) for r in rows] == pytest.approx(expected, abs=1e-5)
    plain_pred = _table(tmp_path / "plain" / "predictions.parquet")
    before = dict(zip(plain_pred["key"], plain_pred["score:clean"]))
    changed = {lab: sum(abs(float(r["score:clean"]) - before[r["key"]]) > 1e-7 for r in rows if r["label"] == lab) for lab in ("0", "1")}
    assert changed["0"] >= 5 and changed["1"] >= 5  # both classes were re-encoded, not only the PNG fakes


def test_dedup_against_training_split(cifake_spectral: Path, shared: Path, tmp_path: Path) -> None:
    pq_dir = shared / "cifake-parquet"
    doc = run_cli_json("evaluate", "--model", cifake_spectral, "--data", pq_dir, "--out", tmp_path / "e", "--max-samples", "600",
                       "--dedup-against", f"{pq_dir}:train", "--bootstrap", "0", "--no-report", *FAST)
    train_hashes = set()
    for f in sorted((pq_dir / "data").glob("train-*.parquet")):
        for cell in pq.read_table(f, columns=["image"]).column("image").to_pylist():
            train_hashes.add(hashlib.sha256(cell["bytes"]).hexdigest())
    test = [s for s in open_source(pq_dir, split="test")]
    subset = sorted(test, key=lambda s: key_hash(s.key, SUBSET_SALT))[:600]
    dups = {s.key for s in subset if hashlib.sha256(s.read_bytes()).hexdigest() in train_hashes}
    scored = set(_table(tmp_path / "e" / "predictions.parquet")["key"])
    assert len(dups) > 0 and doc["protocol"]["dedup"]["dropped"] == len(dups)
    assert scored == {s.key for s in subset} - dups
    assert doc["protocol"]["dedup"]["reference_images"] == len(train_hashes)
    assert doc["data"]["n_scored"] == 600 - len(dups) and not (tmp_path / "e" / "report.html").exists()


def test_bad_files_are_skipped_with_reasons(cifake_spectral: Path, awkward_folder: Path, tmp_path: Path) -> None:
    proc = run_cli("evaluate", "--model", cifake_spectral, "--data", awkward_folder, "--out", tmp_path / "e", "--degrade", "jpeg:30",
                   "--bootstrap", "50", *FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    skipped = {Path(s["path"]).name: s["reason"] for s in doc["protocol"]["skipped"]["examples"]}
    assert set(skipped) == set(BAD_EXPECTED)
    for name, fragment in BAD_EXPECTED.items():
        assert fragment in skipped[name], (name, skipped[name])
    n_files = sum(1 for p in awkward_folder.rglob("*") if p.is_file() and p.suffix != ".txt")
    assert doc["data"]["n_rows"] == n_files and doc["data"]["n_scored"] == n_files - len(BAD_EXPECTED)
    pred = _table(tmp_path / "e" / "predictions.parquet")
    errors = {Path(p).name: e for p, e in zip(pred["path"], pred["error"]) if e}
    assert set(errors) == set(BAD_EXPECTED)
    assert all(s is None for s, e in zip(pred["score:jpeg:30"], pred["error"]) if e)


def test_interrupted_evaluation_resumes(cifake_spectral: Path, shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "e"
    args = [fakescope_bin(), "evaluate", "--model", str(cifake_spectral), "--data", str(shared / "cifake-parquet"), "--out", str(out),
            "--max-samples", "3000", "--degrade", "jpeg:30,blur:3", "--batch-size", "16", "--bootstrap", "0", "--no-report", *FAST]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    log = out / ".partial" / "rows.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (log.exists() and log.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"the run was not interrupted mid-way (exit {proc.returncode}): {err[-2000:]}"
    assert "interrupted:" in err and "run the same command again to resume" in err
    done = recover_log(log)
    assert 0 < len(done) < 3000 and not (out / "metrics.json").exists()

    again = run_cli(*args[1:])
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"resuming: {len(done):,} image(s)" in again.stderr
    doc = json.loads(again.stdout)
    assert doc["protocol"]["samples"]["resumed"] == len(done)
    assert doc["protocol"]["samples"]["scored_this_run"] == 3000 - len(done)
    pred = _table(out / "predictions.parquet")
    assert len(pred["key"]) == 3000 and len(set(pred["key"])) == 3000
    by_key = {s.key: s for s in open_source(shared / "cifake-parquet", split="test")}
    resumed = [k for k in pred["key"] if k in done][:8]
    fresh = [k for k in pred["key"] if k not in done][:8]
    index = {k: i for i, k in enumerate(pred["key"])}
    for keys in (resumed, fresh):
        expected = _rescore(cifake_spectral, [by_key[k] for k in keys], lambda im: imageops.jpeg_reencode(im, 30))
        assert [pred["score:jpeg:30"][index[k]] for k in keys] == pytest.approx(expected, abs=1e-5)
    assert not (out / ".partial").exists()


def test_torn_last_row_is_dropped_on_resume(tmp_path: Path) -> None:
    log = tmp_path / "rows.jsonl"
    log.write_text('{"key": "a", "label": 0}\n{"key": "b", "label": 1}\n{"key": "c", "la')
    assert recover_log(log) == {"a", "b"}
    assert log.read_text() == '{"key": "a", "label": 0}\n{"key": "b", "label": 1}\n'


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--degrade", "sharpen:3"], "unknown condition"),
        (["--degrade", "jpeg:0"], "out of range"),
        (["--align-format", "gif"], "--align-format"),
        (["--split", "nosuch"], "no split 'nosuch'"),
        (["--predictions", "xlsx"], "--predictions"),
        (["--threshold", "1.5"], "threshold"),
        (["--model", "/nonexistent/model"], "not a model directory"),
        (["--data", "/nonexistent/data"], "no such file"),
        (["--dedup-against", "/nonexistent/ref:train"], "no such file"),
        (["--tta", "rotate"], "unknown test-time augmentation"),
    ],
)
def test_bad_evaluate_arguments_exit_2(args: list[str], fragment: str, cifake_spectral: Path, shared: Path, tmp_path: Path) -> None:
    base = {"--model": str(cifake_spectral), "--data": str(shared / "cifake")}
    for i in range(0, len(args), 2):
        base.pop(args[i], None)
    flat = [x for kv in base.items() for x in kv]
    proc = run_cli("evaluate", *flat, "--out", tmp_path / "e", *args, "--no-progress")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_tta_override_reaches_the_scores(cifake_cnn: Path, shared: Path, tmp_path: Path) -> None:
    """--tta hflip scores with the mirror view and says so; --tta none restores a TTA model's plain scores."""
    args = ("--data", shared / "cifake", "--max-samples", "120", "--bootstrap", "0", "--no-report", *FAST)
    plain = run_cli_json("evaluate", "--model", cifake_cnn, "--out", tmp_path / "plain", *args)
    flip = run_cli_json("evaluate", "--model", cifake_cnn, "--out", tmp_path / "flip", "--tta", "hflip", *args)
    assert plain["model"]["tta"] == [] and flip["model"]["tta"] == ["hflip"]
    p, f = _table(tmp_path / "plain" / "predictions.parquet"), _table(tmp_path / "flip" / "predictions.parquet")
    assert p["key"] == f["key"] and len(p["key"]) == 120
    assert np.mean(np.abs(np.array(p["score:clean"]) - np.array(f["score:clean"])) > 1e-4) > 0.5

    tta_model = tmp_path / "tta_model"
    shutil.copytree(cifake_cnn, tta_model, ignore=shutil.ignore_patterns("checkpoint", "best"))
    config = json.loads((tta_model / "config.json").read_text())
    (tta_model / "config.json").write_text(json.dumps({**config, "tta": ["hflip"]}))
    own = run_cli_json("evaluate", "--model", tta_model, "--out", tmp_path / "own", *args)
    off = run_cli_json("evaluate", "--model", tta_model, "--out", tmp_path / "off", "--tta", "none", *args)
    assert own["model"]["tta"] == ["hflip"] and off["model"]["tta"] == []
    assert _table(tmp_path / "own" / "predictions.parquet")["score:clean"] == pytest.approx(f["score:clean"], abs=1e-6)
    assert _table(tmp_path / "off" / "predictions.parquet")["score:clean"] == pytest.approx(p["score:clean"], abs=1e-6)


@pytest.mark.browser
def test_report_opens_in_chromium_with_every_figure(genimage_eval: tuple[Path, dict], tmp_path: Path) -> None:
    from browserhelpers import inspect_page

    out, doc = genimage_eval
    shot = Path(os.environ.get("FAKESCOPE_SCREENSHOTS", tmp_path)) / "evaluate_report.png"
    page = inspect_page(out / "report.html", shot)
    assert page["errors"] == [] and page["external"] == []
    figures = {name: (complete, width) for name, complete, width in page["images"]}
    expected = {"roc", "pr", "score_histogram", "calibration", "robustness", "per_generator", "confusion_matrix",
                "risk_coverage"}
    assert set(figures) == expected and set(doc["outputs"]["figures"]) == {f"figures/{n}.png" for n in expected}
    assert all(complete and width > 0 for complete, width in figures.values()), figures
    for text in ("Task A: real vs fake", "Protocol", "Format alignment", "Task B: generator attribution", "95% CI",
                 "Verdicts: answering only inside the domain", "wrong-verdict rate",
                 "published, not ours", doc["model"]["weights_sha256"]):
        assert text in page["text"], text
    assert shot.stat().st_size > 50_000


def test_duplicate_rows_in_the_log_are_not_counted_twice(tmp_path: Path) -> None:
    log = tmp_path / "rows.jsonl"
    log.write_text('{"key": "a"}\n{"key": "b"}\n{"key": "a"}\n')
    assert recover_log(log) == {"a", "b"}
    assert log.read_text() == '{"key": "a"}\n{"key": "b"}\n'
