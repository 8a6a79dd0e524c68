"""Metrics for Task A (real/fake scores) and Task B (generator attribution).

Computed with scikit-learn, never by hand, and returned with their sample counts so that no number
is reported without its n.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score


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
