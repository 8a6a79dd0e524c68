"""Metrics of one condition: overall, per generator, per family, and generator attribution.

Per generator (and per family), that generator's fakes are scored against ALL reals of the split:
the reals are shared, so every per-generator AUROC answers "can it tell this generator's images
from real ones". Images whose score failed under the condition are left out and counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakescope.data import REAL_CLASS

from fakescope.metrics import BOOTSTRAP_RESAMPLES, attribution_metrics, detection_metrics

UNKNOWN_GENERATOR = "unknown"
REAL_FAMILY = "real"  # Community Forensics' `architecture` of its real images


def _groups(values: list[str | None], labels: np.ndarray, valid: np.ndarray, skip: set[str]) -> dict[str, np.ndarray]:
    """name -> mask of the valid fakes in that group (None grouped as 'unknown' if others are named)."""
    fakes = valid & (labels == 1)
    names = [v for v, f in zip(values, fakes) if f]
    named = {v for v in names if v is not None} - skip
    if not named:
        return {}
    out: dict[str, np.ndarray] = {}
    arr = np.asarray([v if v is not None else UNKNOWN_GENERATOR for v in values], dtype=object)
    for name in sorted(named | ({UNKNOWN_GENERATOR} if None in names else set()), key=str.lower):
        out[name] = fakes & (arr == name)
    return out


def condition_metrics(labels: np.ndarray, scores: np.ndarray, generators: list[str | None],
                      families: list[str | None], threshold: float, *, n_resamples: int = BOOTSTRAP_RESAMPLES,
                      vocabulary: list[str] | None = None, predicted: list[str | None] | None = None) -> dict[str, Any]:
    """Everything reported for one condition (scores NaN where the image failed)."""
    valid = ~np.isnan(scores)
    boot = n_resamples > 0
    kw = {"bootstrap": boot, "n_resamples": max(n_resamples, 1)}
    overall = detection_metrics(labels[valid], scores[valid], threshold, **kw)
    overall["n_failed"] = int((~valid).sum())
    reals = valid & (labels == 0)
    result: dict[str, Any] = {"overall": overall, "per_generator": {}, "per_family": {}, "mean_ap_over_families": None}
    for name, mask in _groups(generators, labels, valid, set()).items():
        m = reals | mask
        result["per_generator"][name] = detection_metrics(labels[m], scores[m], threshold, **kw)
    fams = _groups(families, labels, valid, {REAL_FAMILY})
    for name, mask in fams.items():
        m = reals | mask
        result["per_family"][name] = detection_metrics(labels[m], scores[m], threshold, **kw)
    aps = [v["ap"] for v in result["per_family"].values() if v["ap"] is not None]
    if aps:
        result["mean_ap_over_families"] = {"value": float(np.mean(aps)), "n_families": len(aps),
                                           "families": sorted(result["per_family"], key=str.lower)}
    if vocabulary and predicted is not None:
        result["attribution"] = attribution(labels, generators, predicted, vocabulary, valid)
    return result


def attribution(labels: np.ndarray, generators: list[str | None], predicted: list[str | None], vocabulary: list[str],
                valid: np.ndarray) -> dict[str, Any]:
    """Task B over the images whose true class is in the model's vocabulary (Real = every real)."""
    index = {name: i for i, name in enumerate(vocabulary)}
    true = np.full(labels.shape, -1, dtype=np.int64)
    pred = np.full(labels.shape, -1, dtype=np.int64)
    for i, (y, g, p) in enumerate(zip(labels, generators, predicted)):
        if not valid[i] or p is None:
            continue
        name = REAL_CLASS if y == 0 else g
        if name in index:
            true[i], pred[i] = index[name], index[p]
    out = attribution_metrics(true, pred, vocabulary)
    fakes_outside = int(sum(1 for y, g, v in zip(labels, generators, valid) if v and y == 1 and g not in index))
    out["n_fakes_outside_vocabulary"] = fakes_outside
    return out
