"""Out-of-distribution scores on a model's own penultimate features (higher = less like its data).

Two methods, as a registry (each fits statistics from in-distribution features and logits, and
scores new ones):
- "mahalanobis" (Lee et al. 2018): class-conditional Gaussians with one shared covariance; the
  score is the smallest squared Mahalanobis distance to a class mean. The covariance is shrunk
  (Ledoit-Wolf, scikit-learn) so that it is invertible even for wide features and few images.
- "energy" (Liu et al. 2020): -logsumexp of the logits, negated so that higher is more OOD. A
  binary head's single logit z is the two-class softmax over (-z/2, z/2), so its energy is
  -log(e^{z/2} + e^{-z/2}) (the sigmoid is unchanged by that centring).
The statistics are stored in `ood.safetensors` beside the weights (metadata: the method); the
threshold, taken from validation data, lives in config.json's "domain".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write

OOD_FILE = "ood.safetensors"


def _as_logit_matrix(logits: np.ndarray) -> np.ndarray:
    """(N,) binary logits -> (N, 2) centred two-class logits; (N, K) generator logits unchanged."""
    z = np.asarray(logits, dtype=np.float64)
    return np.stack([-z / 2, z / 2], axis=1) if z.ndim == 1 else z


def _fit_mahalanobis(feats: np.ndarray, labels: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
    from sklearn.covariance import LedoitWolf

    classes = np.unique(labels)
    means = np.stack([feats[labels == c].mean(0) for c in classes])
    centred = feats - means[np.searchsorted(classes, labels)]
    cov = LedoitWolf(assume_centered=True).fit(centred)
    return {"means": means, "precision": cov.precision_, "classes": classes.astype(np.float64)}


def _score_mahalanobis(stats: dict[str, np.ndarray], feats: np.ndarray, logits: np.ndarray) -> np.ndarray:
    prec = stats["precision"]
    dists = []
    for mu in stats["means"]:
        d = feats - mu
        dists.append(np.einsum("nd,de,ne->n", d, prec, d))
    return np.min(np.stack(dists, 1), axis=1)


PCA_COMPONENTS = 128
# Features wider than this get the low-rank Mahalanobis score by default: a full precision matrix of
# 2,560 features (a pretrained encoder's views) is 26 MB beside a 200 KB model, and 1,000 images do
# not estimate it anyway.
FULL_COVARIANCE_MAX_DIM = 512


def _fit_mahalanobis_pca(feats: np.ndarray, labels: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
    """Class means, the top principal directions of the class-centred features and their variances,
    and the mean variance left outside them (probabilistic PCA: Tipping & Bishop 1999)."""
    classes = np.unique(labels)
    means = np.stack([feats[labels == c].mean(0) for c in classes])
    centred = feats - means[np.searchsorted(classes, labels)]
    n, d = centred.shape
    k = int(max(1, min(PCA_COMPONENTS, n - 1, d - 1)))
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    var = sing**2 / max(n - 1, 1)
    discarded = float(var[k:].sum() / max(d - k, 1)) if var.size > k else 0.0
    # With fewer images than features the discarded variance is ~0 on the fitting images themselves;
    # half the smallest kept variance bounds the residual weight, so float32 round-off stays harmless.
    residual = max(discarded, 0.5 * float(var[k - 1]), 1e-12)
    return {"means": means, "components": vt[:k].T, "variances": np.maximum(var[:k], residual),
            "residual": np.array([residual]), "classes": classes.astype(np.float64)}


def _score_mahalanobis_pca(stats: dict[str, np.ndarray], feats: np.ndarray, logits: np.ndarray) -> np.ndarray:
    comps, var, res = stats["components"], stats["variances"], float(stats["residual"][0])
    dists = []
    for mu in stats["means"]:
        d = feats - mu
        p = d @ comps
        r = d - p @ comps.T  # the residual itself, not |d|^2 - |p|^2: no cancellation with float32 components
        dists.append((p * p / var).sum(1) + (r * r).sum(1) / res)
    return np.min(np.stack(dists, 1), axis=1)


def default_method(dim: int) -> str:
    """The OOD method for features of width `dim`: full Mahalanobis up to FULL_COVARIANCE_MAX_DIM, low-rank above."""
    return "mahalanobis" if dim <= FULL_COVARIANCE_MAX_DIM else "mahalanobis-pca"


def _fit_energy(feats: np.ndarray, labels: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
    return {"fitted": np.zeros(1)}  # parameter-free; the file still records the method


def _score_energy(stats: dict[str, np.ndarray], feats: np.ndarray, logits: np.ndarray) -> np.ndarray:
    z = _as_logit_matrix(logits)
    m = z.max(1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(1, keepdims=True)))[:, 0]
    return -lse  # energy = -logsumexp: low for confident in-distribution inputs


@dataclass(frozen=True)
class OodMethod:
    name: str
    description: str
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, np.ndarray]]
    score: Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray], np.ndarray]


OOD_METHODS: dict[str, OodMethod] = {
    m.name: m for m in (
        OodMethod("mahalanobis", "smallest squared Mahalanobis distance to a class mean of the penultimate "
                  "features (shared Ledoit-Wolf covariance)", _fit_mahalanobis, _score_mahalanobis),
        OodMethod("mahalanobis-pca", f"Mahalanobis distance in the top {PCA_COMPONENTS} principal directions of the "
                  "class-centred features plus the residual outside them (probabilistic PCA; for wide features)",
                  _fit_mahalanobis_pca, _score_mahalanobis_pca),
        OodMethod("energy", "negative logsumexp of the logits (Liu et al. 2020)", _fit_energy, _score_energy),
    )
}


def get_method(name: str) -> OodMethod:
    if name not in OOD_METHODS:
        raise UserError(f"unknown OOD method {name!r} (known: {', '.join(OOD_METHODS)})")
    return OOD_METHODS[name]


@dataclass
class OodModel:
    """Fitted statistics of one method; `score` maps features (and logits) to OOD scores."""

    method: str
    stats: dict[str, np.ndarray]

    @classmethod
    def fit(cls, method: str, feats: np.ndarray, labels: np.ndarray, logits: np.ndarray) -> "OodModel":
        m = get_method(method)
        return cls(method, m.fit(np.asarray(feats, np.float64), np.asarray(labels), np.asarray(logits, np.float64)))

    def score(self, feats: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return get_method(self.method).score(self.stats, np.asarray(feats, np.float64), np.asarray(logits, np.float64))

    def save(self, path: str | os.PathLike[str]) -> Path:
        # float32 halves the file; the distances need no more precision than the features have
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in self.stats.items()}
        return atomic_write(path, lambda p: save_file(tensors, str(p), metadata={"method": self.method,
                                                                                   "format": "fakescope-ood-1"}))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "OodModel":
        with safe_open(str(path), framework="pt") as fh:
            method = (fh.metadata() or {}).get("method")
        if method is None:
            raise UserError(f"{path}: no OOD method in its metadata")
        get_method(method)
        return cls(method, {k: v.numpy().astype(np.float64) for k, v in load_file(str(path)).items()})
