"""Closed-form training for feature detectors (`fit="features"`, e.g. `spectral`).

Extract the detector's raw features over the training selection once, standardise them, fit
logistic regression (binary and/or multinomial over generators) with scikit-learn, and copy the
coefficients into the network's linear heads: the saved model is an ordinary `DetectorNet`, so
loading, ONNX export and the service need nothing special.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch.utils.data import DataLoader

from fakescope.errors import UserError
from fakescope.models import DetectorNet, ModelConfig
from fakescope.models.preprocess import to_input
from fakescope.utils.progress import progress_bar

from . import distributed as D
from .data import IGNORE_GENERATOR
from .options import TrainOptions
from .validate import validate


@torch.no_grad()
def _extract(model: DetectorNet, loader: DataLoader, config: ModelConfig, show: bool) -> dict[str, np.ndarray]:
    feats, labels, gens = [], [], []
    for batch in progress_bar(loader, desc="features", unit="batch", enabled=show, mininterval=1.0):
        if len(batch) == 0:
            continue
        x = to_input(batch.images, config.preprocess)
        feats.append(model.backbone.raw_features(x).double().numpy())
        labels.append(batch.labels.numpy())
        gens.append(batch.generators.numpy())
    dim = model.backbone.num_raw
    return {
        "x": np.concatenate(feats) if feats else np.zeros((0, dim)),
        "y": np.concatenate(labels) if labels else np.zeros((0,), np.int64),
        "g": np.concatenate(gens) if gens else np.zeros((0,), np.int64),
    }


CS = tuple(float(c) for c in np.logspace(-4, 1, 11))  # the grid cross-validation chooses C from


def choose_c(x: np.ndarray, y: np.ndarray, seed: int, balance: bool = True) -> tuple[float, float, int]:
    """C of a logistic-regression head by stratified k-fold AUROC on (x, y) alone: (C, its AUROC, folds).

    Wide pretrained features and a thousand images overfit at C=1 (measured: native-pool, encoder
    features, C=0.01 is best; benchmarks/bench_encoder_probe.py)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = int(min(5, np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise UserError(f"choosing the head's regularisation needs at least 2 images of each class ({np.bincount(y, minlength=2)})")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = [float(cross_val_score(logistic_head(seed, balance, c), x, y, cv=cv,
                                    scoring="roc_auc").mean()) for c in CS]
    best = int(np.argmax(scores))  # the first (strongest regularisation) among equals
    return CS[best], scores[best], folds


def logistic_head(seed: int, balance: bool, c: float = 1.0) -> LogisticRegression:
    """The (unfitted) logistic regression every closed-form head is fitted with."""
    return LogisticRegression(C=c, max_iter=5000, random_state=seed, class_weight="balanced" if balance else None)


def fit_feature_model(model: DetectorNet, config: ModelConfig, train_loader: DataLoader, val_loader: DataLoader,
                      ctx: D.DistContext, opts: TrainOptions) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    local = _extract(model, train_loader, config, show=ctx.is_main and opts.progress)
    parts = D.gather_objects(ctx, local)  # every rank fits on all features: identical, deterministic
    x = np.concatenate([p["x"] for p in parts])
    y = np.concatenate([p["y"] for p in parts])
    g = np.concatenate([p["g"] for p in parts])
    mean = x.mean(0)
    std = x.std(0)
    std[std < 1e-8] = 1.0
    z = (x - mean) / std
    backbone = model.backbone
    backbone.feat_mean.copy_(torch.from_numpy(mean).float())
    backbone.feat_std.copy_(torch.from_numpy(std).float())
    c = float(opts.probe_c if opts.probe_c is not None else 1.0)
    if c <= 0:  # cross-validated on the training features (the binary task; the generator head shares it)
        c, auroc, folds = choose_c(z, y, opts.seed, opts.balance)
        config.training["probe"] = {"C": c, "chosen_by": f"{folds}-fold cross-validated AUROC", "cv_auroc": auroc}
    if model.binary_head is not None:
        clf = logistic_head(opts.seed, opts.balance, c).fit(z, y)
        model.binary_head.weight.data.copy_(torch.from_numpy(clf.coef_).float())
        model.binary_head.bias.data.copy_(torch.from_numpy(clf.intercept_).float())
    if model.generator_head is not None:
        known = g != IGNORE_GENERATOR
        classes = np.unique(g[known])
        clf = logistic_head(opts.seed, opts.balance, c).fit(z[known], g[known])
        weight = np.zeros(model.generator_head.weight.shape)
        # Classes absent from the training data keep a very negative bias: never predicted.
        bias = np.full(model.generator_head.bias.shape, -1e4)
        if classes.size == 2:  # sklearn returns one row for two classes: logit of the second
            weight[classes[1]], bias[classes[1]], bias[classes[0]] = clf.coef_[0], clf.intercept_[0], 0.0
        else:
            weight[classes], bias[classes] = clf.coef_, clf.intercept_
        model.generator_head.weight.data.copy_(torch.from_numpy(weight).float())
        model.generator_head.bias.data.copy_(torch.from_numpy(bias).float())
    return validate(model, val_loader, config, torch.device("cpu"), ctx, nullcontext)
