"""Selective-prediction metrics: how a model does when it may answer "uncertain" or "out-of-domain".

Per image: the label (0 real, 1 fake), P(fake), and the model's decision ("fake", "real",
"uncertain", "out-of-domain"). Reported:
- coverage: decisive answers (fake/real) over all images;
- accuracy among answered: correct decisive answers over decisive answers;
- wrong-verdict rate: wrong decisive answers over ALL images (out-of-domain and uncertain images
  count as unanswered, never as right or wrong);
- the risk-coverage curve: images inside the domain ranked by confidence max(p, 1 - p), the risk
  at coverage k/N being the error rate (at the model's threshold) among the k most confident; images
  outside the domain are never answered, so the curve ends at the in-domain share;
- AURC: the area under that curve, (1/N) x sum over k of risk(k) (Geifman et al. 2019 when every
  image is in the domain).
95 % intervals: percentile bootstrap resampling each class separately, as fakescope/metrics.py does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakescope.metrics import BOOTSTRAP_SEED

CURVE_POINTS = 200
MAX_BOOTSTRAP_CELLS = 20_000_000  # resamples x images; above it fewer resamples (recorded)


def _rates(y: np.ndarray, answered: np.ndarray, correct: np.ndarray) -> tuple[float, float | None, float]:
    n = y.size
    a = int(answered.sum())
    return a / n, (float(correct[answered].sum() / a) if a else None), float((answered & ~correct).sum() / n)


def risk_coverage(labels: np.ndarray, scores: np.ndarray, in_domain: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, risk) at every k = 1..(images in domain), most confident first."""
    y = np.asarray(labels, np.int64)
    s = np.asarray(scores, np.float64)
    inside = np.asarray(in_domain, bool)
    conf = np.maximum(s, 1.0 - s)
    order = np.argsort(-conf[inside], kind="stable")
    wrong = ((s[inside] >= threshold).astype(np.int64) != y[inside])[order]
    k = np.arange(1, wrong.size + 1)
    return k / max(y.size, 1), np.cumsum(wrong) / k


def aurc(labels: np.ndarray, scores: np.ndarray, in_domain: np.ndarray, threshold: float) -> float | None:
    if np.asarray(labels).size == 0:
        return None
    _, risk = risk_coverage(labels, scores, in_domain, threshold)
    return float(risk.sum() / np.asarray(labels).size)


def selective_metrics(labels: np.ndarray, scores: np.ndarray, decisions: np.ndarray, threshold: float, *,
                      n_resamples: int = 1000, seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> dict[str, Any]:
    """Coverage, accuracy among answered, wrong-verdict rate and AURC, with bootstrap intervals."""
    y = np.asarray(labels, np.int64)
    s = np.asarray(scores, np.float64)
    d = np.asarray(decisions).astype(str)
    answered = (d == "fake") | (d == "real")
    correct = ((d == "fake") & (y == 1)) | ((d == "real") & (y == 0))
    inside = d != "out-of-domain"
    n = int(y.size)
    if n == 0:
        return {"n": 0, "coverage": None, "accuracy_answered": None, "wrong_verdict_rate": None, "aurc": None}
    cov, acc, wrong = _rates(y, answered, correct)
    counts = {k: int((d == k).sum()) for k in ("fake", "real", "uncertain", "out-of-domain")}
    by_class = {name: {k: int(((d == k) & (y == c)).sum()) for k in counts} for name, c in (("real", 0), ("fake", 1))}
    out: dict[str, Any] = {
        "n": n, "n_real": int((y == 0).sum()), "n_fake": int((y == 1).sum()), "decisions": counts,
        "decisions_by_class": by_class, "answered": int(answered.sum()), "wrong": int((answered & ~correct).sum()),
        "coverage": cov, "accuracy_answered": acc, "wrong_verdict_rate": wrong,
        "in_domain_share": float(inside.mean()), "aurc": aurc(y, s, inside, threshold), "aurc_threshold": float(threshold),
    }
    if n_resamples:
        out.update(_bootstrap(y, s, answered, correct, inside, threshold, n_resamples, seed, level))
    return out


def _bootstrap(y: np.ndarray, s: np.ndarray, answered: np.ndarray, correct: np.ndarray, inside: np.ndarray,
               threshold: float, n_resamples: int, seed: int, level: float) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n = y.size
    b = max(50, min(n_resamples, MAX_BOOTSTRAP_CELLS // max(n, 1)))
    classes = [np.flatnonzero(y == c) for c in (0, 1)]
    classes = [c for c in classes if c.size]
    conf = np.maximum(s, 1.0 - s)
    rank = np.empty(n, np.int64)
    rank[np.argsort(-conf, kind="stable")] = np.arange(n)  # a resample keeps the full set's order
    wrong_at_t = (s >= threshold).astype(np.int64) != y
    stats = np.empty((b, 4))
    for r in range(b):
        idx = np.concatenate([rng.choice(c, size=c.size, replace=True) for c in classes])
        a, ok = answered[idx], correct[idx]
        cov, acc, wrong = _rates(y[idx], a, ok)
        inside_idx = idx[inside[idx]]
        ranked = wrong_at_t[inside_idx[np.argsort(rank[inside_idx], kind="stable")]]
        area = float((np.cumsum(ranked) / np.arange(1, ranked.size + 1)).sum() / n) if ranked.size else 0.0
        stats[r] = (cov, np.nan if acc is None else acc, wrong, area)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    ci = lambda col: {"low": float(np.nanpercentile(stats[:, col], lo)), "high": float(np.nanpercentile(stats[:, col], hi))}  # noqa: E731
    return {"coverage_ci95": ci(0), "accuracy_answered_ci95": ci(1), "wrong_verdict_rate_ci95": ci(2), "aurc_ci95": ci(3),
            "bootstrap": {"method": "stratified percentile bootstrap (each class resampled separately)",
                          "n_resamples": int(b), "seed": seed, "level": level}}


def curve_points(labels: np.ndarray, scores: np.ndarray, in_domain: np.ndarray, threshold: float,
                 points: int = CURVE_POINTS) -> dict[str, list[float]]:
    """The risk-coverage curve thinned to at most `points` points (for metrics.json and the figure)."""
    cov, risk = risk_coverage(labels, scores, in_domain, threshold)
    if cov.size > points:
        keep = np.unique(np.linspace(0, cov.size - 1, points).round().astype(np.int64))
        cov, risk = cov[keep], risk[keep]
    return {"coverage": [round(float(v), 6) for v in cov], "risk": [round(float(v), 6) for v in risk]}
