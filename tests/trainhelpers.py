"""Helpers for the training tests: reload a model directory and score what the trainer scored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fakescope.data import open_source
from fakescope.inference import TorchBackend, score_items
from fakescope.models import load_model


def saved_val_scores(model_dir: Path) -> dict[str, tuple[int, float]]:
    with open(model_dir / "val_scores.csv", newline="") as fh:
        return {r["key"]: (int(r["label"]), float(r["score"])) for r in csv.DictReader(fh)}


def rescore(model_dir: Path, data: str, split: str | None, keys: set[str]) -> dict[str, float]:
    """Load the directory fresh and score the samples with these keys through the inference path."""
    model, config = load_model(model_dir)
    samples = [s for s in open_source(data, split=split) if s.key in keys]
    results = score_items(TorchBackend(model, config), samples, lambda s: s.image(), batch_size=32)
    return {r.item.key: r.score for r in results}


def train_log(model_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (model_dir / "train_log.jsonl").read_text().splitlines()]
