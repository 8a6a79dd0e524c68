"""`GuardedModel`: one pixel model that answers only inside its own domain, at its operating point.

    gm = GuardedModel.load("src/fakescope/weights/default")
    [j] = gm.judge([image], [{"width": 1024, "height": 768, "format": "JPEG"}])
    j.decision, j.reason   # "out-of-domain", "1024x768 px; trained on 32x32"

For each image, in order: (1) the size/format check against the training domain (config "domain",
models/domain.py), with the ORIGINAL file's size and format from `facts`; (2) the OOD score of the
model's penultimate features against the threshold from validation data (models/ood.py); (3) the
operating point (config "operating_point", models/operating.py): fake at or above `fake_at`, real
below `real_below`, uncertain between. Every image is scored, so `score` is there even when the
decision is not decisive.

Backends: "torch" computes features and scores in one pass. "onnx" takes the scores from the
exported graph (as `detect --backend onnx` does) and the OOD features from the torch model in the
same directory, because the exported graph outputs only the heads' logits; a model without OOD
statistics runs on onnxruntime alone.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fakescope.errors import UserError
from fakescope.models import ModelConfig, load_model, read_config
from fakescope.models.domain import check_image, trained_sizes
from fakescope.models.io import file_sha256
from fakescope.models.ood import OOD_FILE, OodModel
from fakescope.models.operating import decide, thresholds
from fakescope.models.preprocess import prepare, to_input

DECISIONS = ("fake", "real", "uncertain", "out-of-domain")
TOP_K = 5


@dataclass
class ModelJudgement:
    decision: str  # one of DECISIONS
    score: float | None  # P(fake); None only when the image could not be prepared
    generator: list[dict[str, Any]] | None  # top-k [{"label", "score"}] with a generator head
    ood_score: float | None
    in_domain: bool
    reason: str  # one sentence: why this decision
    model: str  # name@sha12

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(rate: float) -> str:
    return f"{rate * 100:g} %"


class GuardedModel:
    def __init__(self, model_dir: Path, config: ModelConfig, scorer: Any, net: Any | None, ood: OodModel | None,
                 device: str = "cpu") -> None:
        self.model_dir = model_dir
        self.config = config
        self.scorer = scorer  # a detect Backend for "onnx"; None when the torch net scores
        self.net = net
        self.ood = ood
        self.device = device
        self.domain = config.domain or {}
        self.fake_at, self.real_below, self.calibrated = thresholds(config.threshold, config.operating_point)
        self.name_version = f"{config.name or model_dir.name}@{(config.card.get('weights_sha256') or '')[:12]}"

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], backend: str = "torch", device: str = "cpu",
             threads: int | None = None) -> "GuardedModel":
        """The model, its domain and its operating point (a model without them still loads: see `judge`)."""
        directory = Path(model_dir)
        config = read_config(directory)
        ood = _load_ood(directory, config)
        if threads:
            import torch

            torch.set_num_threads(threads)
        net = scorer = None
        if backend == "torch" or ood is not None:
            net, config = load_model(directory, device=device)
        if backend != "torch":
            from fakescope.detect.runner import _backend_factory

            scorer = _backend_factory(backend)(directory, device, threads)
        return cls(directory, config, scorer, net, ood, device)

    def describe(self) -> dict[str, Any]:
        """How this model decides: domain, OOD threshold, operating point (for logs and `info`)."""
        op = self.config.operating_point or {}
        return {"model": self.name_version, "trained_on": trained_sizes(self.domain) if self.domain else None,
                "ood": {k: self.domain.get("ood", {}).get(k) for k in ("method", "threshold", "quantile")} if self.ood else None,
                "fake_at": self.fake_at, "real_below": self.real_below, "calibrated": self.calibrated,
                "target_fpr": op.get("target_fpr"), "target_fnr": op.get("target_fnr"),
                "features_from": "torch" if self.net is not None else None,
                "scores_from": type(self.scorer).__name__ if self.scorer is not None else "torch"}

    def _run(self, arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(P(fake), generator probabilities, OOD scores) for prepared uint8 arrays."""
        batch = np.stack(arrays)
        ood = gens = None
        if self.net is not None:
            from fakescope.models.features import embed

            out = embed(self.net, to_input(batch, self.config.preprocess).to(self.device))
            scores, gens = out["scores"], out["generators"]
            if self.ood is not None:
                ood = self.ood.score(out["features"], out["logits"])
        if self.scorer is not None:
            scores, gens = self.scorer.run(batch)
        return scores, gens, ood

    def judge(self, images: Sequence[Image.Image], facts: Sequence[dict[str, Any]], *,
              batch_size: int = 64, top_k: int = TOP_K) -> list[ModelJudgement]:
        """One judgement per image; `facts[i]` holds the ORIGINAL file's "width", "height", "format";
        `top_k` generators per judgement (models with a generator head)."""
        if len(images) != len(facts):
            raise ValueError(f"{len(images)} images but {len(facts)} facts")
        out: list[ModelJudgement] = []
        for start in range(0, len(images), batch_size):
            out.extend(self._judge_batch(images[start:start + batch_size], facts[start:start + batch_size], top_k))
        return out

    def _judge_batch(self, images: Sequence[Image.Image], facts: Sequence[dict[str, Any]],
                     top_k: int = TOP_K) -> list[ModelJudgement]:
        arrays, prepared_at, errors = [], [], {}
        for i, im in enumerate(images):
            try:
                arrays.append(prepare(im.convert("RGB") if im.mode != "RGB" else im, self.config.preprocess))
                prepared_at.append(i)
            except (OSError, ValueError) as exc:
                errors[i] = f"{type(exc).__name__}: {exc}"
        scores = gens = ood = None
        if arrays:
            scores, gens, ood = self._run(arrays)
        where = {i: k for k, i in enumerate(prepared_at)}
        results = []
        for i, (im, fact) in enumerate(zip(images, facts)):
            if i in errors:
                results.append(ModelJudgement("uncertain", None, None, None, False,
                                              f"the image could not be prepared for the model: {errors[i]}", self.name_version))
                continue
            k = where[i]
            fact = {"width": im.width, "height": im.height, **fact}
            results.append(self.decision(float(scores[k]), fact, None if ood is None else float(ood[k]),
                                         None if gens is None else gens[k], top_k))
        return results

    def decision(self, score: float, fact: dict[str, Any], ood: float | None = None,
                 gen_probs: np.ndarray | None = None, top_k: int = TOP_K) -> ModelJudgement:
        """The judgement for an already computed score (and OOD score): domain check, then operating point.

        `evaluate` uses it on its own scores; without an OOD score only the size/format check applies."""
        gens = None
        if gen_probs is not None:
            order = np.argsort(-gen_probs)[:top_k]
            gens = [{"label": self.config.generators[j], "score": float(gen_probs[j])} for j in order]
        check = check_image(self.domain, fact.get("width"), fact.get("height"), fact.get("format"))
        judged = lambda decision, inside, reason: ModelJudgement(decision, score, gens, ood, inside, reason,  # noqa: E731
                                                                 self.name_version)
        if not check.inside:
            return judged("out-of-domain", False, f"outside this model's domain: {check.reason}")
        if ood is not None and ood > self.domain["ood"]["threshold"]:
            q = self.domain["ood"].get("quantile", 0.0)
            return judged("out-of-domain", False,
                          f"outside this model's domain: its features are unlike its training data "
                          f"({self.domain['ood']['method']} score {ood:.1f} > {self.domain['ood']['threshold']:.1f}, "
                          f"the {q * 100:g}th percentile on validation images)")
        decision = str(decide(np.asarray([score]), self.fake_at, self.real_below)[0])
        note = "" if self.domain else " (no domain record: treated as inside its domain)"
        if not self.calibrated:
            why = f"score {score:.3f} against the config threshold {self.fake_at:g} (no calibrated operating point)"
        elif decision == "uncertain":
            why = f"score {score:.3f} between the thresholds (real below {self.real_below:.3g}, fake at {self.fake_at:.3g})"
        elif decision == "fake":
            why = (f"score {score:.3f} >= {self.fake_at:.3g}, the threshold for "
                   f"{_pct(self.config.operating_point['target_fpr'])} false positives")
        else:
            why = (f"score {score:.3f} < {self.real_below:.3g}, the threshold for "
                   f"{_pct(self.config.operating_point['target_fnr'])} false negatives")
        return judged(decision, True, f"inside this model's domain{note}: {why}")


def _load_ood(directory: Path, config: ModelConfig) -> OodModel | None:
    record = (config.domain or {}).get("ood")
    path = directory / OOD_FILE
    if not record:
        return None
    if not path.is_file():
        raise UserError(f"{directory}: config.json names OOD statistics but {OOD_FILE} is missing")
    if record.get("sha256") and file_sha256(path) != record["sha256"]:
        raise UserError(f"{path} does not match the checksum in config.json: rerun `fakescope calibrate`")
    ood = OodModel.load(path)
    if ood.method != record.get("method"):
        warnings.warn(f"{path}: method {ood.method} differs from config.json's {record.get('method')}", stacklevel=2)
    return ood
