"""`adapt`: fit a feature detector's head to a user's own labelled images, on its frozen features.

A newsroom's or a platform's images are not a benchmark's: other cameras, other generators, other
re-encodings. With a few hundred labelled images of its own, a user can make a frozen-encoder
detector (`encoder:*`, `spectral`) fit them in minutes on a CPU:
1. split the images by key hash into an adaptation part and a calibration hold-out (stratification
   is not needed for honesty, only enough of each class on each side: checked, else a clear error);
2. extract the base model's features of the adaptation part (bad files counted and skipped);
3. refit the standardisation and the binary head: logistic regression, its regularisation chosen
   by stratified cross-validation (AUROC) on the adaptation part alone; a generator head is kept,
   re-expressed for the new standardisation so its outputs do not change;
4. write the model directory, then fit its domain, OOD statistics and operating point on the
   hold-out (models/calibration.py, as `fakescope calibrate`), and a card with n, the hold-out and
   the coverage / wrong-verdict rate reached there, beside the base model's AUROC on the same images.
The hold-out picks the thresholds, so its coverage is an in-sample figure for them; its AUROC is
out-of-sample for the head. A test split is refused, as everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fakescope.data import REAL, FAKE, open_source
from fakescope.errors import UserError
from fakescope.models import ModelConfig
from fakescope.models.calibration import Observed, calibrate_model, observe
from fakescope.models.hub import resolve_model
from fakescope.models.io import is_model_dir, load_model, save_model
from fakescope.models.net import DetectorNet
from fakescope.models.operating import rates_at
from fakescope.models.registry import get_spec
from fakescope.utils.progress import progress_bar

from .adapt_card import write_adapt_card
from fakescope.data.selection import Selection, narrow, scan_records
from .fit_features import logistic_head, choose_c

TEST_SPLITS = ("test",)


@dataclass
class AdaptOptions:
    model: str  # the base model: a directory, a shipped name or hf:OWNER/NAME
    data: str  # the user's labelled images: 0_real/1_fake folders, a manifest, parquet, ...
    out: str
    split: str | None = None
    holdout: float = 0.3  # share of the images kept for calibration (by key hash)
    fpr: float = 0.05
    fnr: float = 0.05
    max_samples: int | None = None  # adapt on at most this many images (uniform, by key hash)
    min_per_class: int = 8  # on each side of the hold-out
    seed: int = 0
    batch_size: int = 32
    name: str | None = None
    accepts: dict[str, Any] | None = None  # a declared size/format rule; default: the base's, if the images fit it
    progress: bool = True


def adapt(opts: AdaptOptions, say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Adapt `opts.model` to `opts.data`; returns what was written and measured."""
    t0 = time.time()
    if not 0.05 <= opts.holdout <= 0.8:
        raise UserError(f"--holdout {opts.holdout} must be between 0.05 and 0.8")
    base_dir = resolve_model(opts.model)
    if not is_model_dir(base_dir):
        raise UserError(f"{opts.model}: not a model directory (model.safetensors + config.json)")
    net, base = load_model(base_dir)
    if get_spec(base.architecture).fit != "features" or not hasattr(net.backbone, "raw_features"):
        raise UserError(f"{opts.model} is a {base.architecture} model trained end to end: adapt refits the head of a "
                        "frozen-feature detector (encoder:*, spectral); fine-tune it with `fakescope train --pretrained MODEL`")
    source = open_source(opts.data, split=opts.split)
    if opts.split in TEST_SPLITS or (opts.split is None and source.splits() == ["test"]):
        raise UserError("adapt fits a head and thresholds; doing so on a test split would make its test numbers dishonest")
    records = scan_records(source)
    fit_sel, fit_stats = narrow(records, Selection(holdout_fraction=opts.holdout, side="train"),
                                None if opts.max_samples is None else int(round(opts.max_samples * (1 - opts.holdout))))
    hold_sel, hold_stats = narrow(records, Selection(holdout_fraction=opts.holdout, side="val"),
                                  None if opts.max_samples is None else int(round(opts.max_samples * opts.holdout)))
    _check_counts(fit_stats.labels, "adaptation", opts.min_per_class)
    _check_counts(hold_stats.labels, "hold-out", opts.min_per_class)

    say(f"adapt {base.name or base_dir.name} on {opts.data}: {fit_stats.n} images to fit, {hold_stats.n} held out")
    with progress_bar(total=fit_stats.n + hold_stats.n, desc="features", unit="img", enabled=opts.progress) as bar:
        fit_obs = observe(net, base, (s for s in source if fit_sel(s)), batch_size=opts.batch_size, progress=bar.update)
        hold_obs = observe(net, base, (s for s in source if hold_sel(s)), batch_size=opts.batch_size, progress=bar.update)
    for what, obs in (("adaptation", fit_obs), ("hold-out", hold_obs)):
        _check_counts(_counts(obs), f"readable {what}", opts.min_per_class,
                      f" ({sum(obs.skipped.values())} unreadable: {dict(obs.skipped)})" if obs.skipped else "")
    fy, _, fz, _ = fit_obs.arrays()
    head = fit_head(fz, fy, opts.seed)
    config = _adapted_config(base, base_dir, opts, fit_stats.as_dict(), hold_stats.as_dict(), head, source.fingerprint())
    _apply_head(net, head)
    out = save_model(net, config, opts.out)
    say(f"head fitted (C={head['C']:.3g}, cross-validated AUROC {head['cv_auroc']:.4f}); calibrating on the hold-out ...")

    about = {"source": opts.data, "split": opts.split, "fingerprint": source.fingerprint()}
    calib = calibrate_model(out, fit=(s for s in source if fit_sel(s)), validation=(s for s in source if hold_sel(s)),
                            about_training={**about, "description": "the adaptation images"},
                            about_validation={**about, "description": f"the adaptation hold-out ({opts.holdout:.0%} by key hash)"},
                            training_sizes=(fit_obs.sizes, fit_obs.formats, fit_obs.generators),
                            fpr=opts.fpr, fnr=opts.fnr, batch_size=opts.batch_size, net_config=(net, config),
                            accepts=_accepts(opts, base, fit_obs, say))
    measured = _measure(hold_obs, head, calib)
    measured["seconds"] = round(time.time() - t0, 1)
    write_adapt_card(out, base_dir, opts, measured)
    return {"model_dir": str(out), "measured": measured, "operating_point": calib["operating_point"],
            "skipped": {"adaptation": dict(fit_obs.skipped), "hold-out": dict(hold_obs.skipped)}}


def _accepts(opts: AdaptOptions, base: ModelConfig, fit_obs: Observed, say: Callable[[str], None]) -> dict[str, Any] | None:
    """The declared rule of the adapted model: the one asked for; else the base's when (nearly) all the
    user's images satisfy it (the adapted head judges images the way the base does); else none, so the
    domain is the adaptation images' sizes and formats."""
    from fakescope.models.domain import check_image

    if opts.accepts is not None:
        return opts.accepts
    rule = (base.domain or {}).get("accepts")
    if not rule:
        return None
    inside = [check_image({"accepts": rule}, w, h, f).inside for (w, h), f in zip(fit_obs.sizes, fit_obs.formats)]
    if np.mean(inside) >= 0.95:
        return rule
    say(f"{100 * (1 - np.mean(inside)):.0f} % of the images are outside the base model's declared domain: "
        "the adapted model's domain is their own sizes and formats (declare another with --accept-sizes)")
    return None


def _counts(obs: Observed) -> dict[int, int]:
    return {REAL: obs.labels.count(REAL), FAKE: obs.labels.count(FAKE)}


def _check_counts(labels: Any, what: str, minimum: int, extra: str = "") -> None:
    real, fake = int(labels.get(REAL, 0)), int(labels.get(FAKE, 0))
    if real < minimum or fake < minimum:
        missing = "one class only" if min(real, fake) == 0 else "too few images"
        raise UserError(f"{missing} in the {what} part: {real} real and {fake} fake{extra}; adapt needs at least "
                        f"{minimum} of each on each side of the hold-out (label 0 real / 1 fake: 0_real/1_fake folders or a manifest)")


def fit_head(z: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Standardise `z` and fit logistic regression, C chosen by stratified k-fold AUROC on (z, y) alone."""
    mean = z.mean(0)
    std = z.std(0)
    std[std < 1e-8] = 1.0
    x = (z - mean) / std
    c, auroc, folds = choose_c(x, y, seed, balance=True)
    clf = logistic_head(seed, True, c).fit(x, y)
    return {"mean": mean, "std": std, "coef": clf.coef_[0], "intercept": float(clf.intercept_[0]),
            "C": c, "cv_auroc": auroc, "folds": folds}


def _apply_head(net: DetectorNet, head: dict[str, Any]) -> None:
    """New standardisation (on top of the base model's) and binary head; a generator head is re-expressed
    so its logits on any image stay what they were."""
    bb = net.backbone
    m2, s2 = torch.from_numpy(head["mean"]).float(), torch.from_numpy(head["std"]).float()
    with torch.no_grad():
        if net.generator_head is not None:
            w, b = net.generator_head.weight, net.generator_head.bias
            b += w @ m2  # logits = W z_old + b, with z_old = z_new * s2 + m2
            w *= s2
        # z_old = (x - m) / s; z_new = (z_old - m2) / s2 = (x - (m + m2 s)) / (s s2)
        bb.feat_mean += m2 * bb.feat_std
        bb.feat_std *= s2
        if net.binary_head is None:
            net.binary_head = torch.nn.Linear(bb.num_features, 1)
        net.binary_head.weight.copy_(torch.from_numpy(head["coef"]).float().view(1, -1))
        net.binary_head.bias.fill_(head["intercept"])
    net.eval()


def _adapted_config(base: ModelConfig, base_dir: Path, opts: AdaptOptions, fit: dict[str, Any], hold: dict[str, Any],
                    head: dict[str, Any], fingerprint: str) -> ModelConfig:
    doc = base.to_dict()
    task = "both" if base.has_generator else "binary"
    name = opts.name or f"{base.name or base_dir.name}-adapted"
    base_id = {"name": base.name, "dir": str(base_dir), "weights_sha256": base.card.get("weights_sha256")}
    doc.update(task=task, name=name, metrics={}, domain={}, operating_point={}, card={},
               training={"adapted_from": base_id, "base_training": base.training.get("data"),
                         "adaptation": {"options": asdict(opts), "source": opts.data, "fingerprint": fingerprint,
                                        "fit": fit, "holdout": hold,
                                        "head": {k: head[k] for k in ("C", "cv_auroc", "folds")}}})
    return ModelConfig.from_dict(doc)


def _measure(hold_obs: Observed, head: dict[str, Any], calib: dict[str, Any]) -> dict[str, Any]:
    """AUROC of the base and the adapted model on the hold-out, and the adapted verdict rates there.

    The adapted scores are the new head on the hold-out features already extracted with the base model
    (the base standardisation undone by the new one): what the written model computes, without a pass."""
    from sklearn.metrics import roc_auc_score

    y, base_scores, z, _ = hold_obs.arrays()
    logits = ((z - head["mean"]) / head["std"]) @ head["coef"] + head["intercept"]
    op = calib["operating_point"]
    rates = op["validation"]
    acc = rates["accuracy_answered"]
    return {"holdout_n": int(y.size), "holdout_real": int((y == 0).sum()), "holdout_fake": int((y == 1).sum()),
            "base_auroc": float(roc_auc_score(y, base_scores)), "adapted_auroc": float(roc_auc_score(y, logits)),
            "coverage": rates["coverage"], "accuracy_answered": acc,
            "wrong_verdict_rate": 0.0 if acc is None else float(rates["coverage"] * (1.0 - acc)),
            "fake_at": op["fake_at"], "real_below": op["real_below"],
            "with_ood_check": op.get("validation_with_ood_check"), "cv_auroc": head["cv_auroc"], "C": head["C"], "folds": head["folds"]}
