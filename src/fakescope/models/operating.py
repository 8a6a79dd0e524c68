"""Operating points: two thresholds chosen on validation data for stated error rates.

`fake_at`: a score >= fake_at is called fake; chosen so that at most `target_fpr` of the
validation reals reach it. `real_below`: a score < real_below is called real; chosen so that at most
`target_fnr` of the validation fakes fall below it. Between the two the model says "uncertain"
(selective prediction). When the two cross (a model good enough to meet both rates with one
threshold), `real_below` is lowered to `fake_at`: both rates still hold and nothing is uncertain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fakescope.errors import UserError

DECISIONS = ("fake", "real", "uncertain")


def choose_operating_point(labels: np.ndarray, scores: np.ndarray, target_fpr: float, target_fnr: float,
                           fitted_on: str) -> dict[str, Any]:
    """The operating point for these validation labels (0 real, 1 fake) and P(fake) scores."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    for name, rate in (("FPR", target_fpr), ("FNR", target_fnr)):
        if not 0.0 <= rate < 1.0:
            raise UserError(f"target {name} {rate} must be in [0, 1)")
    reals, fakes = np.sort(s[y == 0])[::-1], np.sort(s[y == 1])
    if reals.size == 0 or fakes.size == 0:
        raise UserError(f"an operating point needs real and fake validation images ({reals.size} real, {fakes.size} fake)")
    # At most k reals may reach fake_at: put it just above the (k+1)-th highest real score.
    k = int(np.floor(target_fpr * reals.size + 1e-9))
    fake_at = float(np.nextafter(reals[k], np.inf)) if k < reals.size else float(reals[-1])
    # At most k fakes may fall below real_below: the (k+1)-th lowest fake score (strictly below it: k).
    k = int(np.floor(target_fnr * fakes.size + 1e-9))
    real_below = float(fakes[k]) if k < fakes.size else float(np.nextafter(fakes[-1], np.inf))
    crossed = real_below > fake_at
    real_below = min(real_below, fake_at)
    fake_at, real_below = min(fake_at, 1.0), max(real_below, 0.0)
    achieved = rates_at(y, s, fake_at, real_below)
    return {"target_fpr": float(target_fpr), "target_fnr": float(target_fnr), "fake_at": fake_at,
            "real_below": real_below, "fitted_on": fitted_on, "n": int(y.size), "n_real": int(reals.size),
            "n_fake": int(fakes.size), "thresholds_crossed": bool(crossed), "validation": achieved}


def rates_at(labels: np.ndarray, scores: np.ndarray, fake_at: float, real_below: float) -> dict[str, float]:
    """FPR, FNR, coverage and accuracy among answered of a pair of thresholds on labelled scores."""
    y = np.asarray(labels, dtype=np.int64)
    d = decide(np.asarray(scores, dtype=np.float64), fake_at, real_below)
    answered = d != "uncertain"
    correct = ((d == "fake") & (y == 1)) | ((d == "real") & (y == 0))
    n_real, n_fake = max(int((y == 0).sum()), 1), max(int((y == 1).sum()), 1)
    return {"fpr": float(((d == "fake") & (y == 0)).sum() / n_real),
            "fnr": float(((d == "real") & (y == 1)).sum() / n_fake),
            "coverage": float(answered.mean()) if y.size else 0.0,
            "accuracy_answered": float(correct[answered].mean()) if answered.any() else None}


def decide(scores: np.ndarray, fake_at: float, real_below: float) -> np.ndarray:
    """"fake" / "real" / "uncertain" per score (a numpy array of strings)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(s >= fake_at, "fake", np.where(s < real_below, "real", "uncertain"))


def thresholds(config_threshold: float, operating_point: dict[str, Any] | None) -> tuple[float, float, bool]:
    """(fake_at, real_below, calibrated): the stored operating point, or the config's one threshold for both."""
    if operating_point and "fake_at" in operating_point and "real_below" in operating_point:
        return float(operating_point["fake_at"]), float(operating_point["real_below"]), True
    return float(config_threshold), float(config_threshold), False
