"""Fit a model's domain, OOD score and operating point, and write them into its directory.

One routine behind both `fakescope calibrate` (models already shipped) and the end of training:
1. run the model over the fitting images (features) and the validation images (features, scores);
2. record what it was trained on (sizes before preprocessing, formats, generators, fingerprint);
3. fit the OOD statistics on the fitting images' features and take the threshold at a quantile of
   the validation images' OOD scores (held-out, so the threshold is not fitted on its own data);
4. choose the operating point on the validation scores for the stated FPR and FNR;
5. write `ood.safetensors`, then config.json with "domain" and "operating_point" (atomically;
   every other key of config.json is kept as it was).
The caller chooses the images (never a test split); this module only sees samples.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fakescope.data import FAKE, REAL, ImageDecodeError, Sample, decode_image
from fakescope.data.decode import header_size, sniff_format
from fakescope.utils.atomic import atomic_write_text

from .domain import describe_data
from .features import embed
from .io import CONFIG, file_sha256, load_model
from .ood import OOD_FILE, OOD_METHODS, OodModel, default_method
from .operating import choose_operating_point, rates_at
from .preprocess import prepare, to_input

OOD_QUANTILE = 0.995
DEFAULT_OOD_METHOD = "auto"  # ood.default_method: full Mahalanobis for narrow features, low-rank for wide ones


@dataclass
class Observed:
    """What the model made of a set of labelled images."""

    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    formats: list[str | None] = field(default_factory=list)
    generators: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.labels:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 1)), np.zeros(0)
        return (np.asarray(self.labels, np.int64), np.asarray(self.scores, np.float64),
                np.concatenate(self.features), np.concatenate(self.logits))


def observe_sizes(samples: Iterable[Sample], limit: int | None = None) -> tuple[list[tuple[int, int]], list[str | None], Counter]:
    """Sizes and formats of labelled samples read from their headers (no decoding): the training domain."""
    sizes, formats, gens = [], [], Counter()
    for s in samples:
        if limit is not None and len(sizes) >= limit:
            break
        try:
            w, h, fmt = header_size(s.read_bytes())  # behind the per-file boundary: a hostile header is skipped
        except ImageDecodeError:
            continue
        sizes.append((w, h))
        formats.append(fmt)
        if s.label == FAKE:
            gens[s.generator or "unknown"] += 1
    return sizes, formats, gens


def observe(net: Any, config: Any, samples: Iterable[Sample], *, batch_size: int = 128,
            device: str = "cpu", progress: Callable[[int], None] | None = None) -> Observed:
    """Features, logits and scores of every readable labelled sample (bad files are counted, not fatal)."""
    obs = Observed()
    pending: list[np.ndarray] = []

    def flush() -> None:
        if pending:
            out = embed(net, to_input(np.stack(pending), config.preprocess).to(device))
            obs.features.append(out["features"])
            obs.logits.append(out["logits"])
            obs.scores.extend(out["scores"].tolist())
            if progress is not None:
                progress(len(pending))
            pending.clear()

    for s in samples:
        if s.label not in (REAL, FAKE):
            continue
        try:
            data = s.read_bytes()
            im = decode_image(data)
            arr = prepare(im, config.preprocess)
        except (ImageDecodeError, OSError, ValueError) as exc:
            obs.skipped[str(getattr(exc, "reason", exc)).split(":")[0][:60]] += 1
            continue
        obs.labels.append(int(s.label))
        obs.sizes.append(im.size)
        obs.formats.append(sniff_format(data))
        if s.label == FAKE:
            obs.generators[s.generator or "unknown"] += 1
        pending.append(arr)
        if len(pending) >= batch_size:
            flush()
    flush()
    return obs


def separation(ood: OodModel, inside: Observed, outside: Observed) -> float | None:
    """AUROC of the OOD score telling `outside` images from in-distribution ones (1.0: perfect)."""
    from sklearn.metrics import roc_auc_score

    _, _, fi, li = inside.arrays()
    _, _, fo, lo = outside.arrays()
    if not len(fi) or not len(fo):
        return None
    s = np.concatenate([ood.score(fi, li), ood.score(fo, lo)])
    y = np.concatenate([np.zeros(len(fi)), np.ones(len(fo))])
    return float(roc_auc_score(y, s))


def calibrate_model(model_dir: str | os.PathLike[str], *, fit: Iterable[Sample], validation: Iterable[Sample],
                    about_training: dict[str, Any], about_validation: dict[str, Any],
                    training_sizes: tuple[list[tuple[int, int]], list[str | None], Counter] | None = None,
                    fpr: float = 0.01, fnr: float = 0.05, ood_method: str = DEFAULT_OOD_METHOD,
                    ood_quantile: float = OOD_QUANTILE, references: dict[str, Iterable[Sample]] | None = None,
                    batch_size: int = 128, device: str = "cpu", net_config: tuple[Any, Any] | None = None,
                    accepts: dict[str, Any] | None = None,
                    say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Fit and write domain, OOD statistics and operating point; returns what was written and measured.

    `fit`: images the OOD statistics are fitted on (training images); `validation`: held-out images
    for the OOD threshold and the operating point. `training_sizes` (from `observe_sizes` over the
    training data) describes the domain; without it the fitting images describe it.
    `references`: labelled sets outside the model's world, only to measure how well each OOD method
    separates them (recorded, never fitted on). `accepts`: a declared size/format rule
    (models/domain.py `declared_accepts`) replacing the training-size rule; a rule the model already
    declares is kept when none is given.
    """
    directory = Path(model_dir)
    net, config = net_config or load_model(directory, device=device)
    say("features of the fitting images ...")
    fit_obs = observe(net, config, fit, batch_size=batch_size, device=device)
    say(f"  {len(fit_obs.labels):,} images; features of the validation images ...")
    val_obs = observe(net, config, validation, batch_size=batch_size, device=device)
    say(f"  {len(val_obs.labels):,} images")
    if len(fit_obs.labels) < 2 or len(val_obs.labels) < 2:
        from fakescope.errors import UserError

        raise UserError(f"too few readable images to calibrate ({len(fit_obs.labels)} fitting, {len(val_obs.labels)} validation)")
    sizes, formats, gens = training_sizes or (fit_obs.sizes, fit_obs.formats, fit_obs.generators)
    fy, _, ff, fl = fit_obs.arrays()
    vy, vs, vf, vl = val_obs.arrays()

    ref_obs = {name: observe(net, config, samples, batch_size=batch_size, device=device)
               for name, samples in (references or {}).items()}
    if ood_method == "auto":
        ood_method = default_method(int(ff.shape[1]))
    measured: dict[str, Any] = {}
    models: dict[str, OodModel] = {}
    for name in OOD_METHODS:
        models[name] = OodModel.fit(name, ff, fy, fl)
        measured[name] = {ref: separation(models[name], val_obs, obs) for ref, obs in ref_obs.items()}
    # Saved first and read back, so the threshold is taken with exactly the statistics judged with.
    ood_path = (models[ood_method] if ood_method in models else OodModel.fit(ood_method, ff, fy, fl)).save(directory / OOD_FILE)
    chosen = OodModel.load(ood_path)
    val_ood = chosen.score(vf, vl)
    threshold = float(np.quantile(val_ood, ood_quantile))

    op = choose_operating_point(vy, vs, fpr, fnr, fitted_on=about_validation.get("description", "validation data"))
    inside = val_ood <= threshold  # what the model will answer on these images once the OOD check is on
    with_ood = rates_at(vy[inside], vs[inside], op["fake_at"], op["real_below"])
    op["validation_with_ood_check"] = {"coverage": with_ood["coverage"] * float(inside.mean()),
                                       "accuracy_answered": with_ood["accuracy_answered"],
                                       "out_of_domain": float(1.0 - inside.mean())}
    ood_record = {"method": chosen.method, "description": OOD_METHODS[chosen.method].description,
                  "threshold": threshold, "quantile": ood_quantile, "file": OOD_FILE,
                  "sha256": file_sha256(ood_path), "features": int(vf.shape[1]),
                  "fitted_on": {"n": int(fy.size), **{k: v for k, v in about_training.items() if k != "description"}},
                  "threshold_from": {"n": int(vy.size), **about_validation},
                  "validation_rejected": float((val_ood > threshold).mean())}
    if ref_obs:
        ood_record["separation_auroc"] = {"what": "AUROC of the OOD score: validation images vs each set below "
                                                  "(outside the training world; measured, not fitted)",
                                          "n": {ref: len(o.labels) for ref, o in ref_obs.items()}, **measured}
    domain = {**describe_data(sizes, formats, gens, **about_training), "ood": ood_record,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if accepts := accepts or (config.domain or {}).get("accepts"):
        domain["accepts"] = accepts
    write_records(directory, domain, op)
    return {"model_dir": str(directory), "domain": domain, "operating_point": op,
            "skipped": {"fitting": dict(fit_obs.skipped), "validation": dict(val_obs.skipped)}}


def write_records(model_dir: Path, domain: dict[str, Any] | None, operating_point: dict[str, Any] | None) -> None:
    """Set "domain" and/or "operating_point" in config.json atomically, keeping every other key."""
    path = model_dir / CONFIG
    doc = json.loads(path.read_text(encoding="utf-8"))
    if domain is not None:
        doc["domain"] = domain
    if operating_point is not None:
        doc["operating_point"] = operating_point
    atomic_write_text(path, json.dumps(doc, indent=2, default=str) + "\n")
