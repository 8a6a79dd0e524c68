"""Models know their domain: size/format check, OOD statistics, operating points, `calibrate`, and the
verdict metrics of `evaluate`, on real images and the shipped CIFAKE model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from conftest import SHARED, run_cli, run_cli_json
from fakescope.data import open_source
from fakescope.data.decode import sniff_format
from fakescope.errors import UserError
from fakescope.models.domain import check_image
from fakescope.models.ood import OOD_FILE, OodModel
from fakescope.models.operating import choose_operating_point, rates_at
from fakescope.data.selection import Selection
from fakescope.verdict import GuardedModel

DEFAULT = Path(__file__).resolve().parents[1] / "src" / "fakescope" / "weights" / "default"
PHOTO = SHARED / "provenance" / "c2pa" / "XCA.jpg"  # a 1024x683 JPEG photograph
CIFAKE = SHARED / "cifake"


def facts_of(path: Path) -> tuple[Image.Image, dict]:
    data = path.read_bytes()
    im = Image.open(path).convert("RGB")
    return im, {"width": im.width, "height": im.height, "format": sniff_format(data)}


@pytest.fixture(scope="module")
def shipped() -> GuardedModel:
    return GuardedModel.load(DEFAULT)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The shipped model recalibrated on CIFAKE's folder train split, as if its training data were not here
    (half the split fits the OOD statistics, the other half sets the thresholds)."""
    model = tmp_path_factory.mktemp("cal") / "model"
    shutil.copytree(DEFAULT, model)
    (model / OOD_FILE).unlink(missing_ok=True)
    cfg = json.loads((model / "config.json").read_text())
    cfg["training"]["data"]["source"] = "/nonexistent/cifake-parquet"
    cfg.pop("domain", None), cfg.pop("operating_point", None)
    (model / "config.json").write_text(json.dumps(cfg))
    out = run_cli_json("calibrate", str(model), "--data", str(CIFAKE), "--split", "train", "--fpr", "0.01",
                       "--fnr", "0.01", "--threads", "1")
    return model, out


def test_shipped_model_rejects_a_large_photograph_by_size(shipped: GuardedModel) -> None:
    im, facts = facts_of(PHOTO)
    [j] = shipped.judge([im], [facts])
    assert j.decision == "out-of-domain" and not j.in_domain
    assert "1024x683 px; trained on 32x32" in j.reason
    assert j.score is not None and 0.0 <= j.score <= 1.0  # scored anyway, but not decisive
    assert j.model == shipped.name_version and "@" in j.model


def test_shipped_model_answers_cifake_images_inside_its_domain(shipped: GuardedModel) -> None:
    paths = sorted((CIFAKE / "test" / "REAL").glob("*.jpg"))[:20] + sorted((CIFAKE / "test" / "FAKE").glob("*.jpg"))[:20]
    pairs = [facts_of(p) for p in paths]
    js = shipped.judge([p[0] for p in pairs], [p[1] for p in pairs])
    truth = ["real"] * 20 + ["fake"] * 20
    decisive = [(j.decision, t) for j, t in zip(js, truth) if j.decision in ("fake", "real")]
    assert len(decisive) >= 34  # CIFAKE is its world: most answered
    assert sum(d == t for d, t in decisive) >= len(decisive) - 1
    for j in js:
        if j.decision in ("fake", "real"):
            assert j.in_domain and "inside this model's domain" in j.reason and "%" in j.reason


def test_domain_check_rules() -> None:
    cfg = json.loads((DEFAULT / "config.json").read_text())
    domain = cfg["domain"]
    assert domain["sizes"]["width"]["min"] == domain["sizes"]["width"]["max"] == 32
    outside = check_image(domain, 1024, 768, "JPEG")
    assert not outside.inside and outside.reason == "1024x768 px; trained on 32x32"
    assert check_image(domain, 32, 32, "JPEG").inside
    png = check_image(domain, 32, 32, "PNG")  # CIFAKE is all JPEG: another container is another domain
    assert not png.inside and "PNG" in png.reason
    assert not check_image(domain, 64, 64, "JPEG").inside  # beyond the 1.5x tolerance
    unknown = check_image({}, 4000, 3000, "PNG")
    assert unknown.inside and "unknown" in unknown.reason


def test_model_without_domain_still_judges_with_a_warning(tmp_path: Path) -> None:
    model = tmp_path / "bare"
    shutil.copytree(DEFAULT, model)
    cfg = json.loads((model / "config.json").read_text())
    cfg.pop("domain", None), cfg.pop("operating_point", None)
    (model / "config.json").write_text(json.dumps(cfg))
    gm = GuardedModel.load(model)
    assert gm.ood is None and not gm.calibrated and gm.fake_at == gm.real_below == cfg["threshold"]
    im, facts = facts_of(PHOTO)
    [j] = gm.judge([im], [facts])
    assert j.decision in ("fake", "real") and j.in_domain
    assert "no domain record" in j.reason and "no calibrated operating point" in j.reason


def test_ood_statistics_round_trip_and_checksum(shipped: GuardedModel, tmp_path: Path) -> None:
    from fakescope.models.features import embed
    from fakescope.models.preprocess import prepare, to_input

    paths = sorted((CIFAKE / "train" / "REAL").glob("*.jpg"))[:40] + sorted((CIFAKE / "train" / "FAKE").glob("*.jpg"))[:40]
    x = to_input(np.stack([prepare(Image.open(p).convert("RGB"), shipped.config.preprocess) for p in paths]),
                 shipped.config.preprocess)
    out = embed(shipped.net, x)
    labels = np.array([0] * 40 + [1] * 40)
    for method in ("mahalanobis", "mahalanobis-pca", "energy"):
        ood = OodModel.fit(method, out["features"], labels, out["logits"])
        path = ood.save(tmp_path / f"{method}.safetensors")
        back = OodModel.load(path)
        assert back.method == method
        # Stored as float32: equal to the fitted statistics to float32 rounding, and exactly on every reload.
        # The low-rank score divides float32 round-off outside the kept directions by the smallest kept
        # variance: on its own fitting images (80 images, 256 features: all inside the span) that is ~0.2 %.
        np.testing.assert_allclose(back.score(out["features"], out["logits"]), ood.score(out["features"], out["logits"]),
                                   rtol=5e-3 if method == "mahalanobis-pca" else 1e-5)
        np.testing.assert_array_equal(OodModel.load(path).score(out["features"], out["logits"]),
                                      back.score(out["features"], out["logits"]))
    # The low-rank score agrees with the full one on what is far: their rankings correlate strongly.
    full, low = (OodModel.fit(m, out["features"], labels, out["logits"]) for m in ("mahalanobis", "mahalanobis-pca"))
    shifted = out["features"] + np.random.default_rng(0).normal(0, 1, out["features"].shape) * out["features"].std(0)
    a, b = full.score(shifted, out["logits"]), low.score(shifted, out["logits"])
    assert np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1] > 0.5
    assert (low.score(shifted, out["logits"]) > np.quantile(low.score(out["features"], out["logits"]), 0.9)).mean() > 0.9
    # The shipped statistics: a large photograph's thumbnail scores beyond CIFAKE images on average.
    assert shipped.ood is not None and shipped.ood.stats["means"].shape == (2, out["features"].shape[1])
    model = tmp_path / "tampered"
    shutil.copytree(DEFAULT, model)
    stats = dict(shipped.ood.stats)
    stats["means"] = stats["means"] + 1.0
    OodModel(shipped.ood.method, stats).save(model / OOD_FILE)
    with pytest.raises(UserError, match="checksum"):
        GuardedModel.load(model)


def test_operating_point_meets_stated_rates_on_its_own_data() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 500 + [1] * 500)
    s = np.concatenate([rng.beta(3, 5, 500), rng.beta(5, 3, 500)])  # overlapping classes: a band between
    op = choose_operating_point(y, s, 0.01, 0.05, "synthetic")
    r = rates_at(y, s, op["fake_at"], op["real_below"])
    assert not op["thresholds_crossed"] and op["real_below"] < op["fake_at"]
    assert r["fpr"] <= 0.01 and r["fnr"] <= 0.05
    assert r["fpr"] >= 0.008 and r["fnr"] >= 0.048  # tight: the largest rate allowed, not a trivial one
    assert 0.0 < r["coverage"] < 1.0 and r == op["validation"]
    # Well separated classes: one threshold meets both rates, nothing is uncertain.
    s2 = np.concatenate([rng.beta(2, 30, 500), rng.beta(30, 2, 500)])
    op2 = choose_operating_point(y, s2, 0.01, 0.05, "synthetic")
    assert op2["thresholds_crossed"] and op2["real_below"] == op2["fake_at"]
    r2 = rates_at(y, s2, op2["fake_at"], op2["real_below"])
    assert r2["coverage"] == 1.0 and r2["fpr"] <= 0.01 and r2["fnr"] <= 0.05
    with pytest.raises(UserError):
        choose_operating_point(np.zeros(5, int), s[:5], 0.01, 0.05, "one class")


def test_calibrate_writes_thresholds_with_the_stated_fpr(calibrated: tuple[Path, dict]) -> None:
    model, out = calibrated
    cfg = json.loads((model / "config.json").read_text())
    op, domain = cfg["operating_point"], cfg["domain"]
    assert op == out["operating_point"] and op["target_fpr"] == 0.01 and op["target_fnr"] == 0.01
    assert not op["thresholds_crossed"] and op["real_below"] < op["fake_at"]
    assert 0.0 <= op["real_below"] <= op["fake_at"] <= 1.0
    assert domain["ood"]["sha256"] and (model / OOD_FILE).is_file() and domain["ood"]["method"] == "mahalanobis"
    assert "half of split 'train'" in op["fitted_on"]
    assert domain["sizes"]["width"]["max"] == 32 and domain["formats"] == {"JPEG": 1.0}
    # Re-score the validation half independently and check the rates at the written thresholds.
    gm = GuardedModel.load(model)
    val = [s for s in open_source(CIFAKE, split="train") if Selection(holdout_fraction=0.5, side="val")(s)]
    assert len(val) == op["n"]
    ims = [s.image() for s in val]
    js = gm.judge(ims, [{"width": 32, "height": 32, "format": "JPEG"}] * len(ims))
    y = np.array([s.label for s in val])
    scores = np.array([j.score for j in js])
    r = rates_at(y, scores, op["fake_at"], op["real_below"])
    assert r["fpr"] <= 0.01 and r["fnr"] <= 0.01
    assert r["fpr"] == pytest.approx(op["validation"]["fpr"], abs=1e-9)
    assert (domain["ood"]["threshold"] >= np.array([j.ood_score for j in js])).mean() >= 0.99


def test_image_between_thresholds_is_uncertain(calibrated: tuple[Path, dict]) -> None:
    model, _ = calibrated
    gm = GuardedModel.load(model)
    paths = sorted((CIFAKE / "test" / "REAL").glob("*.jpg"))[:300] + sorted((CIFAKE / "test" / "FAKE").glob("*.jpg"))[:300]
    pairs = [facts_of(p) for p in paths]
    js = gm.judge([p[0] for p in pairs], [p[1] for p in pairs])
    between = [j for j in js if j.in_domain and gm.real_below <= j.score < gm.fake_at]
    assert between, "no CIFAKE test image scored between the thresholds"
    for j in between:
        assert j.decision == "uncertain" and "between the thresholds" in j.reason
    assert all(j.decision == "fake" for j in js if j.in_domain and j.score >= gm.fake_at)
    assert all(j.decision == "real" for j in js if j.in_domain and j.score < gm.real_below)


def test_calibrate_refuses_a_test_split_and_bad_arguments(calibrated: tuple[Path, dict]) -> None:
    model, _ = calibrated
    before = (model / "config.json").read_bytes()
    proc = run_cli("calibrate", str(model), "--data", str(CIFAKE), "--split", "test")
    assert proc.returncode == 2 and "test" in proc.stderr and "dishonest" in proc.stderr
    proc = run_cli("calibrate", str(model), "--data", str(CIFAKE), "--fpr", "1.5")
    assert proc.returncode == 2 and "--fpr" in proc.stderr
    assert (model / "config.json").read_bytes() == before


def test_evaluate_verdict_metrics_match_a_hand_count(calibrated: tuple[Path, dict], tmp_path: Path) -> None:
    model, _ = calibrated
    out = tmp_path / "ev"
    doc = run_cli_json("evaluate", "--model", str(model), "--data", str(CIFAKE), "--split", "test", "--out", str(out),
                       "--max-samples", "120", "--no-progress", "--threads", "1", "--bootstrap", "200")
    v = doc["verdicts"]["overall"]
    table = pq.read_table(out / "predictions.parquet").to_pylist()
    rows = [r for r in table if r["score:clean"] is not None]
    assert len(rows) == v["n"] == 120
    answered = [r for r in rows if r["verdict"] in ("fake", "real")]
    wrong = [r for r in answered if (r["verdict"] == "fake") != (r["label"] == 1)]
    assert v["coverage"] == pytest.approx(len(answered) / len(rows))
    assert v["accuracy_answered"] == pytest.approx(1 - len(wrong) / len(answered))
    assert v["wrong_verdict_rate"] == pytest.approx(len(wrong) / len(rows))
    op = json.loads((model / "config.json").read_text())["operating_point"]
    for r in rows:  # every verdict follows from the score, the domain and the thresholds
        if r["verdict"] == "fake":
            assert r["score:clean"] >= op["fake_at"]
        elif r["verdict"] == "real":
            assert r["score:clean"] < op["real_below"]
        elif r["verdict"] == "uncertain":
            assert op["real_below"] <= r["score:clean"] < op["fake_at"]
    # AURC by hand: inside the domain, most confident first, risk at threshold 0.5, summed over all images.
    inside = sorted((r for r in rows if r["verdict"] != "out-of-domain"),
                    key=lambda r: -max(r["score:clean"], 1 - r["score:clean"]))
    errors, total = 0, 0.0
    for k, r in enumerate(inside, 1):
        errors += int((r["score:clean"] >= 0.5) != (r["label"] == 1))
        total += errors / k
    assert v["aurc"] == pytest.approx(total / len(rows))
    for key in ("coverage", "accuracy_answered", "wrong_verdict_rate", "aurc"):
        ci = v[f"{key}_ci95"]
        assert ci["low"] <= v[key] <= ci["high"]
    assert (out / "figures" / "risk_coverage.png").is_file()
    assert "Risk-coverage" in (out / "report.html").read_text() or "risk_coverage" in (out / "report.html").read_text()


def test_onnx_backend_scores_from_the_graph_and_features_from_torch(shipped: GuardedModel, tmp_path: Path) -> None:
    from fakescope.detect.onnx_export import ONNX_FILE, export_onnx

    model = tmp_path / "onnx-model"
    shutil.copytree(DEFAULT, model)
    export_onnx(model, model / ONNX_FILE, check=False)
    gm = GuardedModel.load(model, backend="onnx")
    assert gm.describe()["scores_from"] == "OnnxBackend" and gm.describe()["features_from"] == "torch"
    paths = [PHOTO] + sorted((CIFAKE / "test" / "FAKE").glob("*.jpg"))[:10] + sorted((CIFAKE / "test" / "REAL").glob("*.jpg"))[:10]
    pairs = [facts_of(p) for p in paths]
    onnx = gm.judge([p[0] for p in pairs], [p[1] for p in pairs])
    torch_ = shipped.judge([p[0] for p in pairs], [p[1] for p in pairs])
    assert onnx[0].decision == "out-of-domain"
    for a, b in zip(onnx, torch_):
        assert a.score == pytest.approx(b.score, abs=1e-4) and a.ood_score == pytest.approx(b.ood_score, rel=1e-6)
        if abs(b.score - gm.fake_at) > 1e-3 and abs(b.score - gm.real_below) > 1e-3:
            assert a.decision == b.decision
