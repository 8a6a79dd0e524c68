"""Validation during training: scores gathered from every rank, metrics computed once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from fakescope.metrics import attribution_metrics, binary_metrics
from fakescope.utils.atomic import atomic_write_text
from fakescope.models import ModelConfig
from fakescope.models.net import fake_probability, generator_probabilities
from fakescope.models.preprocess import to_input

from . import distributed as D


@torch.no_grad()
def collect_scores(model: torch.nn.Module, loader: DataLoader, config: ModelConfig, device: torch.device,
                   autocast: Callable[[], Any]) -> dict[str, np.ndarray]:
    """P(fake), labels, generator predictions/targets over `loader` (this rank's shard)."""
    model.eval()
    scores, labels, gen_pred, gen_true, keys = [], [], [], [], []
    for batch in loader:
        if len(batch) == 0:
            continue
        x = to_input(batch.images, config.preprocess).to(device).contiguous(memory_format=torch.channels_last)
        with autocast():
            out = model(x)
        scores.append(fake_probability(out).cpu().numpy())
        labels.append(batch.labels.numpy())
        keys.extend(batch.keys)
        probs = generator_probabilities(out)
        if probs is not None:
            gen_pred.append(probs.argmax(1).cpu().numpy())
            gen_true.append(batch.generators.numpy())
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros((0,), dt)  # noqa: E731
    return {"scores": cat(scores, np.float64), "labels": cat(labels, np.int64),
            "gen_pred": cat(gen_pred, np.int64), "gen_true": cat(gen_true, np.int64),
            "keys": np.asarray(keys, dtype=object)}


def metrics_from_scores(parts: dict[str, np.ndarray], config: ModelConfig) -> dict[str, Any]:
    result: dict[str, Any] = {"binary": binary_metrics(parts["labels"], parts["scores"], config.threshold)}
    if config.has_generator and parts["gen_true"].size:
        result["generator"] = attribution_metrics(parts["gen_true"], parts["gen_pred"], config.generators)
    return result


def validate(model: torch.nn.Module, loader: DataLoader, config: ModelConfig, device: torch.device,
             ctx: D.DistContext, autocast: Callable[[], Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics over the whole validation set, and the merged per-sample scores behind them."""
    local = collect_scores(model, loader, config, device, autocast)
    gathered = D.gather_objects(ctx, local)
    merged = {k: np.concatenate([g[k] for g in gathered]) for k in local}
    return metrics_from_scores(merged, config), merged


def write_scores(path: Path, parts: dict[str, np.ndarray]) -> None:
    """The validation scores of the in-memory model, so a reloaded directory can be checked against them."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["key", "label", "score"])
    writer.writerows((str(k), int(y), repr(float(s))) for k, y, s in zip(parts["keys"], parts["labels"], parts["scores"]))
    atomic_write_text(path, buf.getvalue())


def selection_metric(metrics: dict[str, Any], config: ModelConfig) -> float | None:
    """The number the best checkpoint and early stopping follow: AUROC for Task A, macro-F1 for Task B."""
    if config.has_binary:
        b = metrics.get("binary", {})
        return b.get("auroc") if b.get("auroc") is not None else b.get("accuracy")
    return metrics.get("generator", {}).get("macro_f1")
