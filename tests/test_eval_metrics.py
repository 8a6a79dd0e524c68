"""Evaluation metrics against independent computations (scikit-learn, brute force over thresholds,
resampling by hand), plus their edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from fakescope.eval.breakdown import condition_metrics
from fakescope.metrics import bootstrap_intervals, detection_metrics, expected_calibration_error, roc_points


def _scores(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(2)  # rounded: many ties, as real scores have
    return y, s


def brute_force_rates(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FPR and TPR at every threshold 'score >= t', t over the distinct scores and +inf."""
    ts = np.concatenate([np.unique(s), [np.inf]])
    fpr = np.array([(s[y == 0] >= t).mean() for t in ts])
    tpr = np.array([(s[y == 1] >= t).mean() for t in ts])
    return fpr, tpr


def test_detection_metrics_match_independent_computations() -> None:
    y, s = _scores()
    m = detection_metrics(y, s, 0.5)
    pred = s >= 0.5
    assert m["n"] == 600 and m["n_real"] == int((y == 0).sum()) and m["n_fake"] == int((y == 1).sum())
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    assert m["real_accuracy"] == pytest.approx((~pred[y == 0]).mean())
    assert m["fake_accuracy"] == pytest.approx(pred[y == 1].mean())
    assert m["auroc"] == pytest.approx(roc_auc_score(y, s))
    assert m["ap"] == pytest.approx(average_precision_score(y, s))
    fpr, tpr = brute_force_rates(y, s)
    for target, key in ((0.01, "tpr_at_fpr_1pct"), (0.05, "tpr_at_fpr_5pct")):
        assert m[key] == pytest.approx(tpr[fpr <= target].max())
    # EER: where FNR and FPR cross; between the brute-force operating points around the crossing
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    assert abs(m["eer"] - (fpr[i] + fnr[i]) / 2) <= 0.5 * abs(fnr[i] - fpr[i]) + 0.01
    assert m["ece_bins"] == 15 and 0 <= m["ece"] <= 1


def test_bootstrap_intervals_agree_with_resampling_by_hand() -> None:
    y, s = _scores(400, seed=5)
    ci = bootstrap_intervals(y, s, 0.5, n_resamples=1000, seed=0)
    rng = np.random.default_rng(11)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    accs, aucs = [], []
    for _ in range(500):
        idx = np.concatenate([rng.choice(real, real.size), rng.choice(fake, fake.size)])
        accs.append(((s[idx] >= 0.5) == y[idx]).mean())
        aucs.append(roc_auc_score(y[idx], s[idx]))
    for key, values in (("accuracy", accs), ("auroc", aucs)):
        lo, hi = np.percentile(values, [2.5, 97.5])
        assert ci[key]["low"] == pytest.approx(lo, abs=0.015) and ci[key]["high"] == pytest.approx(hi, abs=0.015)
        assert ci[key]["low"] < detection_metrics(y, s, 0.5, bootstrap=False)[key] < ci[key]["high"]
    assert bootstrap_intervals(y, s, 0.5, seed=0) == bootstrap_intervals(y, s, 0.5, seed=0)  # fixed seed: reproducible


def test_ece_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 1, 0])
    s = np.array([0.05, 0.10, 0.95, 0.90, 0.55, 0.58])
    # bins of width 1/15: {0.05} {0.10} | {0.55, 0.58} | {0.90} {0.95}
    expected = (abs(0 - 0.05) + abs(0 - 0.10) + abs(0.5 * 2 - (0.55 + 0.58)) + abs(1 - 0.90) + abs(1 - 0.95)) / 6
    assert expected_calibration_error(y, s)["ece"] == pytest.approx(expected)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0]))["ece"] == 0.0


def test_perfect_and_one_class_cases() -> None:
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    p = roc_points(y, s)
    assert p["eer"] == 0.0 and p["tpr_at_fpr_1pct"] == 1.0
    inverted = roc_points(y, 1 - s)
    assert inverted["eer"] == 1.0 and inverted["tpr_at_fpr_5pct"] == 0.0
    only_fakes = detection_metrics(np.ones(4, int), np.array([0.2, 0.6, 0.7, 0.9]), 0.5)
    assert only_fakes["auroc"] is None and only_fakes["eer"] is None and only_fakes["accuracy_ci95"] is None
    assert only_fakes["fake_accuracy"] == 0.75 and only_fakes["real_accuracy"] is None


def test_per_generator_uses_all_reals_and_family_mean_ap() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.3, 0.9, 0.8, 0.4, 0.7, np.nan])  # the last image failed under this condition
    gens = [None, None, None, None, "A", "A", "B", "B", "B"]
    fams = ["real", "real", "real", "real", "gan", "gan", "diffusion", "diffusion", "diffusion"]
    r = condition_metrics(y, s, gens, fams, 0.5, n_resamples=50)
    assert r["overall"]["n"] == 8 and r["overall"]["n_failed"] == 1
    a, b = r["per_generator"]["A"], r["per_generator"]["B"]
    assert (a["n_real"], a["n_fake"], b["n_real"], b["n_fake"]) == (4, 2, 4, 2)
    assert a["auroc"] == pytest.approx(roc_auc_score([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.3, 0.9, 0.8]))
    assert b["auroc"] == pytest.approx(roc_auc_score([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.3, 0.4, 0.7]))
    assert set(r["per_family"]) == {"gan", "diffusion"}  # the reals' family "real" is not a generator family
    mean_ap = r["mean_ap_over_families"]
    assert mean_ap["n_families"] == 2
    assert mean_ap["value"] == pytest.approx((r["per_family"]["gan"]["ap"] + r["per_family"]["diffusion"]["ap"]) / 2)
