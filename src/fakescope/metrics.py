"""Metrics for Task A (real/fake scores) and Task B (generator attribution).

Computed with scikit-learn, never by hand, and returned with their sample counts so that no number
is reported without its n.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score, roc_curve


def _both_classes(labels: np.ndarray) -> bool:
    return bool((labels == 0).any() and (labels == 1).any())


def binary_metrics(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Accuracy at `threshold`, per-class accuracy, balanced accuracy, AUROC and AP (None when undefined)."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    pred = (s >= threshold).astype(np.int64)
    real, fake = y == 0, y == 1
    real_acc = float((pred[real] == 0).mean()) if real.any() else None
    fake_acc = float((pred[fake] == 1).mean()) if fake.any() else None
    both = _both_classes(y)
    return {
        "n": int(y.size),
        "n_real": int(real.sum()),
        "n_fake": int(fake.sum()),
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(y, pred)) if y.size else None,
        "real_accuracy": real_acc,
        "fake_accuracy": fake_acc,
        "balanced_accuracy": (real_acc + fake_acc) / 2 if both else None,
        "auroc": float(roc_auc_score(y, s)) if both else None,
        "ap": float(average_precision_score(y, s)) if both else None,
    }


def attribution_metrics(true: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Top-1 accuracy, macro-F1 over the classes present, and the confusion matrix (rows = true)."""
    t = np.asarray(true, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    keep = t >= 0
    t, p = t[keep], p[keep]
    k = len(names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    present = sorted(set(t.tolist()))
    return {
        "n": int(t.size),
        "top1_accuracy": float((t == p).mean()) if t.size else None,
        "macro_f1": float(f1_score(t, p, labels=present, average="macro", zero_division=0)) if t.size else None,
        "labels": list(names),
        "confusion_matrix": cm.tolist(),
    }


# --- Evaluation metrics beyond the training-time ones (issue 4) ------------------------------------

ECE_BINS = 15  # equal-width bins over P(fake) in [0, 1]
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_MAX_GROUPS = 20_000  # above this many distinct scores, resample on a 1e-4 score grid
BOOTSTRAP_GRID = 1e-4
FPR_POINTS = (0.01, 0.05)


def roc_points(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """EER and TPR at fixed FPRs from scikit-learn's ROC curve (None when a class is missing).

    EER is where the false-negative rate crosses the false-positive rate, interpolated linearly
    between the two ROC points around the crossing. TPR@FPR is the best TPR whose FPR does not
    exceed the target (no interpolation: an operating point that exists).
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    out: dict[str, Any] = {"eer": None, **{_tpr_key(f): None for f in FPR_POINTS}}
    if not _both_classes(y):
        return out
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    fnr = 1.0 - tpr
    diff = fnr - fpr  # decreasing from 1 to -1 along the curve
    i = int(np.argmax(diff <= 0))
    if i == 0:
        eer = float(fpr[0])
    else:
        d0, d1 = diff[i - 1], diff[i]
        t = d0 / (d0 - d1) if d0 != d1 else 0.0
        eer = float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))
    out["eer"] = eer
    for target in FPR_POINTS:
        ok = fpr <= target + 1e-12
        out[_tpr_key(target)] = float(tpr[ok].max()) if ok.any() else 0.0
    return out


def _tpr_key(fpr: float) -> str:
    return f"tpr_at_fpr_{fpr * 100:g}pct"


def expected_calibration_error(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                               bins: int = ECE_BINS) -> dict[str, Any]:
    """ECE of P(fake): sum over equal-width bins of (bin share) x |fraction fake - mean score|.

    Also returns the per-bin numbers, which the report draws as a reliability diagram.
    """
    y = np.asarray(labels, dtype=np.float64)
    s = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    if y.size == 0:
        return {"ece": None, "bins": bins, "per_bin": []}
    idx = np.minimum((s * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins)
    frac = np.bincount(idx, weights=y, minlength=bins)
    conf = np.bincount(idx, weights=s, minlength=bins)
    nz = count > 0
    ece = float(np.sum(np.abs(frac[nz] - conf[nz])) / y.size)
    per_bin = [{"low": b / bins, "high": (b + 1) / bins, "n": int(count[b]),
                "mean_score": float(conf[b] / count[b]) if count[b] else None,
                "fraction_fake": float(frac[b] / count[b]) if count[b] else None} for b in range(bins)]
    return {"ece": ece, "bins": bins, "per_bin": per_bin}


def bootstrap_intervals(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float,
                        *, n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                        level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals for accuracy and AUROC, resampling each class separately.

    Stratified, so every resample keeps the class counts (AUROC is always defined). Vectorised:
    a resample of a class is a multinomial draw of counts over the distinct score values, from
    which accuracy and the Mann-Whitney AUROC follow in O(values), never an O(n log n) sort.
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    method = {"method": "stratified percentile bootstrap", "n_resamples": n_resamples, "seed": seed, "level": level}
    if not _both_classes(y):
        return {**method, "accuracy": None, "auroc": None}
    # Groups of equal scores, split at the threshold so accuracy stays exact. Large sets have as many
    # groups as images; their scores are grouped on a 1e-4 grid instead, which bounds the work
    # (the reported AUROC is exact; only its interval sees the grid).
    fake_side = s >= threshold
    key = np.round(s / BOOTSTRAP_GRID) if np.unique(s).size > BOOTSTRAP_MAX_GROUPS else s
    order_key = np.stack([key, fake_side.astype(np.float64)], axis=1)
    groups, inverse = np.unique(order_key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    nv = groups.shape[0]
    p_real = np.bincount(inverse[y == 0], minlength=nv) / np.sum(y == 0)
    p_fake = np.bincount(inverse[y == 1], minlength=nv) / np.sum(y == 1)
    n0, n1 = int(np.sum(y == 0)), int(np.sum(y == 1))
    says_fake = groups[:, 1] > 0
    rng = np.random.default_rng(seed)
    acc = np.empty(n_resamples)
    auc = np.empty(n_resamples)
    chunk = max(1, min(n_resamples, 4_000_000 // max(nv, 1)))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        cr = rng.multinomial(n0, p_real, size=b).astype(np.float64)  # (b, nv) real counts per value
        cf = rng.multinomial(n1, p_fake, size=b).astype(np.float64)
        acc[start:start + b] = (cr[:, ~says_fake].sum(1) + cf[:, says_fake].sum(1)) / (n0 + n1)
        below = np.cumsum(cr, axis=1) - cr  # reals strictly below each value
        auc[start:start + b] = (cf * (below + 0.5 * cr)).sum(1) / (n0 * n1)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {**method,
            "accuracy": {"low": float(np.percentile(acc, lo)), "high": float(np.percentile(acc, hi))},
            "auroc": {"low": float(np.percentile(auc, lo)), "high": float(np.percentile(auc, hi))}}


def detection_metrics(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float,
                      *, bootstrap: bool = True, n_resamples: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """Everything Task A reports: `binary_metrics`, EER, TPR@1%/5% FPR, ECE and 95% bootstrap CIs."""
    out = binary_metrics(labels, scores, threshold)
    out.update(roc_points(labels, scores))
    cal = expected_calibration_error(labels, scores)
    out["ece"] = cal["ece"]
    out["ece_bins"] = cal["bins"]
    if bootstrap:
        ci = bootstrap_intervals(labels, scores, threshold, n_resamples=n_resamples)
        out["accuracy_ci95"] = ci["accuracy"]
        out["auroc_ci95"] = ci["auroc"]
    return out
