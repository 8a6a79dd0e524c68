"""GenImage's cross-generator protocol on any source whose samples carry a `subset`.

For each subset (a GenImage generator subset, a Community Forensics generator pair, an image-folder
generator folder), train one detector on that subset's fakes with the reals of the same subset,
then test every detector on every subset's test images: a matrix with rows = trained on and
columns = tested on, the row averages (GenImage Table 3's figure for the SD1.4 row) and the overall
mean (Table 4). Test images come from a test/validation split, or, for a source with a single
split, from a deterministic hold-out by key hash that training never sees.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from fakescope.data import FAKE, REAL, DataSource, Sample, open_source
from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write_json, atomic_write_text
from fakescope.utils.progress import progress_bar

from .conditions import CLEAN, Condition
from .testdata import TEST_SPLIT_PREFERENCE
from fakescope.metrics import binary_metrics
from .published import (
    GENIMAGE_COLUMN_ORDER,
    GENIMAGE_RESNET50_SD14_AVG,
    GENIMAGE_RESNET50_SD14_ROW,
    GENIMAGE_SD14_ROW_AVERAGES,
    PUBLISHED_LABEL,
    is_genimage,
)
from .scoring import PassCounts, entries, score_column, score_rows

# Training options a user may set for every per-subset detector (TrainOptions field names).
TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "image_size", "resize", "seed", "device", "workers",
              "max_samples", "arch_args", "balance", "pretrained", "precision", "augment")


@dataclass
class CrossGenOptions:
    data: str
    model: str  # a registered detector name (spectral, cnn-small, timm:resnet50, ...)
    out: str
    format: str | None = None
    train_split: str | None = None  # default: train, else the only split
    test_split: str | None = None  # default: test, else a validation split, else a hold-out of the train split
    test_fraction: float = 0.3  # hold-out share when the source has a single split
    subsets: list[str] | None = None  # only these subsets (default: every subset with both classes)
    min_test_per_class: int = 1  # a cell needs at least this many real and fake test images
    train: dict[str, Any] = field(default_factory=dict)  # extra TrainOptions for every detector
    batch_size: int = 64
    threads: int | None = None  # torch CPU threads for training and scoring (default: torch's choice)
    progress: bool = True
    retrain: bool = False  # retrain even when OUT/models/<subset> already holds the same run


@dataclass(frozen=True)
class TestSelection:
    """The test images: a whole split, or the hold-out side of the split the detectors train on."""

    split: str
    holdout_fraction: float | None  # None: the whole split is test data

    def __call__(self, sample: Sample) -> bool:
        from fakescope.data.selection import Selection

        if self.holdout_fraction is None:
            return Selection()(sample)
        return Selection(holdout_fraction=self.holdout_fraction, side="val")(sample)

    def describe(self) -> str:
        if self.holdout_fraction is None:
            return f"split {self.split!r}"
        return (f"{self.holdout_fraction:.0%} of split {self.split!r} held out by key hash (training uses the other "
                f"{1 - self.holdout_fraction:.0%}; the same hash as fakescope train's validation hold-out)")


def _say(msg: str) -> None:
    tqdm.write(msg, file=sys.stderr)


def plan_splits(source: DataSource, opts: CrossGenOptions) -> tuple[str, TestSelection]:
    splits = source.splits()
    train_split = opts.train_split or ("train" if "train" in splits else splits[0] if len(splits) == 1 else None)
    if train_split is None or train_split not in splits:
        raise UserError(f"{opts.data} has splits {splits}: choose the training split with --train-split")
    if opts.test_split is not None:
        if opts.test_split not in splits:
            raise UserError(f"{opts.data}: no split {opts.test_split!r} (available: {', '.join(splits)})")
        if opts.test_split == train_split:
            return train_split, TestSelection(train_split, opts.test_fraction)
        return train_split, TestSelection(opts.test_split, None)
    test = next((s for s in TEST_SPLIT_PREFERENCE if s in splits and s != train_split), None)
    if test is None:
        return train_split, TestSelection(train_split, opts.test_fraction)
    return train_split, TestSelection(test, None)


def subset_counts(samples: Iterable[Sample]) -> dict[str, Counter]:
    """subset -> Counter of labels, over usable samples (no pixels read)."""
    out: dict[str, Counter] = {}
    for s in samples:
        if s.problem is None and s.label in (REAL, FAKE) and s.subset is not None:
            out.setdefault(s.subset, Counter())[s.label] += 1
    return out


def order_subsets(names: Iterable[str]) -> list[str]:
    names = set(names)
    if is_genimage(names):
        return [n for n in GENIMAGE_COLUMN_ORDER if n in names]
    return sorted(names, key=str.lower)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "subset"


def _train_options(opts: CrossGenOptions, subset: str, train_split: str, test: TestSelection, out: Path):
    from fakescope.train import TrainOptions

    unknown = set(opts.train) - set(TRAIN_KEYS)
    if unknown:
        raise UserError(f"unknown training option(s) for cross-generator: {', '.join(sorted(unknown))}")
    extra = {k: v for k, v in opts.train.items() if v is not None}
    val = {"val_fraction": test.holdout_fraction} if test.holdout_fraction is not None else {}
    if test.holdout_fraction is not None:
        val["val_split"] = train_split  # force the hold-out even if the source had a validation split
    return TrainOptions(data=opts.data, model=opts.model, out=str(out), task="binary", split=train_split,
                        format=opts.format, subset=subset, progress=opts.progress, name=f"crossgen-{subset}", **val, **extra)


def train_or_reuse(train_opts: Any, out: Path, *, retrain: bool, reusing: str, training: str) -> str | None:
    """Make OUT hold the detector of `train_opts`: reuse a finished identical run unless `retrain`,
    else train it. None when OUT holds it; otherwise why training failed (e.g. a hold-out left one
    class empty), for the caller's row. `reusing` / `training` are the progress lines."""
    from fakescope.train import train

    if not retrain and _already_trained(train_opts, out):
        _say(reusing)
        return None
    _say(training)
    try:
        train(train_opts)
    except (UserError, ValueError) as exc:
        return f"training failed: {exc}"
    return None


def _already_trained(train_opts: Any, out: Path) -> bool:
    """True when OUT holds a finished model of exactly this run (same identity as a resumed train)."""
    from fakescope.models import get_spec, read_config
    from fakescope.train import TrainOptions

    try:
        config = read_config(out)
        recorded = TrainOptions(**config.training["options"])
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        return False
    wanted = train_opts.resolved(get_spec(train_opts.model).train_defaults)
    return recorded.identity_hash() == wanted.identity_hash() and (out / "model.safetensors").is_file()


def train_rows(opts: CrossGenOptions, subsets: list[str], train_split: str, test: TestSelection,
               train_counts: dict[str, Counter]) -> dict[str, dict[str, Any]]:
    """Train one detector per subset; per subset {"model_dir"} or {"reason"} (never raises for one subset)."""
    out_root = Path(opts.out) / "models"
    rows: dict[str, dict[str, Any]] = {}
    for i, subset in enumerate(subsets, start=1):
        c = train_counts.get(subset, Counter())
        record: dict[str, Any] = {"train_real": c[REAL], "train_fake": c[FAKE]}
        if not c[REAL] or not c[FAKE]:
            rows[subset] = {**record, "model_dir": None,
                            "reason": f"no training detector: split {train_split!r} has {c[REAL]} real and {c[FAKE]} fake image(s) in this subset"}
            continue
        model_out = out_root / _safe(subset)
        train_opts = _train_options(opts, subset, train_split, test, model_out)
        t0 = time.time()
        failed = train_or_reuse(
            train_opts, model_out, retrain=opts.retrain,
            reusing=f"[{i}/{len(subsets)}] {subset}: reusing the detector already trained in {model_out}",
            training=f"[{i}/{len(subsets)}] training {opts.model} on subset {subset} ({c[REAL]} real, {c[FAKE]} fake before any hold-out)")
        if failed:
            rows[subset] = {**record, "model_dir": None, "reason": failed}
            _say(f"  {subset}: {failed}")
            continue
        rows[subset] = {**record, "model_dir": str(model_out), "train_seconds": round(time.time() - t0, 2)}
    return rows


def _test_samples(source: DataSource, test: TestSelection) -> Iterator[Sample]:
    return (s for s in source.with_split(test.split) if test(s))


def score_test_set(model_dir: str, source: DataSource, test: TestSelection, batch_size: int) -> list[dict[str, Any]]:
    """Clean scores of one detector on every test image (rows with subset, label, score)."""
    from fakescope.inference import TorchBackend
    from fakescope.models import load_model

    net, config = load_model(model_dir)
    backend = TorchBackend(net, config)
    rows = []
    for row in score_rows(backend, entries(_test_samples(source, test), PassCounts()), [Condition(CLEAN, None)],
                          batch_size=batch_size):
        rows.append({"subset": row["subset"], "label": row["label"], "score": row[score_column(CLEAN)],
                     "error": row["error"], "threshold": config.threshold})
    return rows


def cell_metrics(rows: list[dict[str, Any]], subset: str, min_per_class: int) -> dict[str, Any]:
    mine = [r for r in rows if r["subset"] == subset and r["score"] is not None]
    y = np.asarray([r["label"] for r in mine], dtype=np.int64)
    s = np.asarray([r["score"] for r in mine], dtype=np.float64)
    n_real, n_fake = int((y == 0).sum()), int((y == 1).sum())
    if n_real < min_per_class or n_fake < min_per_class:
        return {"accuracy": None, "auroc": None, "ap": None, "n": int(y.size), "n_real": n_real, "n_fake": n_fake,
                "reason": f"too few test images: {n_real} real, {n_fake} fake (need at least {min_per_class} of each)"}
    threshold = mine[0]["threshold"]
    m = binary_metrics(y, s, threshold)
    return {k: m[k] for k in ("accuracy", "real_accuracy", "fake_accuracy", "auroc", "ap", "n", "n_real", "n_fake")}


def _mean(values: Iterable[float | None]) -> tuple[float | None, int]:
    vals = [v for v in values if v is not None]
    return (float(np.mean(vals)) if vals else None), len(vals)


def cross_generator(opts: CrossGenOptions) -> dict[str, Any]:
    """Run the protocol; writes OUT/crossgen.json, OUT/crossgen_accuracy.csv, OUT/crossgen_auroc.csv, OUT/report.html."""
    from fakescope.models import get_spec
    from fakescope.utils.environment import environment_record

    t0 = time.time()
    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)
    get_spec(opts.model)  # unknown detector: KeyError listing the known ones, before any work
    if not 0.0 < opts.test_fraction < 1.0:
        raise UserError("--test-fraction must be between 0 and 1")
    source = open_source(opts.data, format=opts.format)
    train_split, test = plan_splits(source, opts)
    train_counts = subset_counts(s for s in source.with_split(train_split)
                                 if test.holdout_fraction is None or not test(s))
    test_counts = subset_counts(_test_samples(source, test))
    names = set(train_counts) | set(test_counts)
    if not names:
        raise UserError(f"{opts.data}: no sample has a subset (generator group pairing reals with fakes): "
                        "the cross-generator protocol needs one")
    if opts.subsets:
        missing = sorted(set(opts.subsets) - names)
        if missing:
            raise UserError(f"subset(s) {', '.join(missing)} not in {opts.data} (known: {', '.join(order_subsets(names))})")
        names = set(opts.subsets)
    subsets = order_subsets(names)
    _say(f"cross-generator: {len(subsets)} subsets; train on split {train_split!r}; test on {test.describe()}")

    trained = train_rows(opts, subsets, train_split, test, train_counts)
    matrix: list[list[dict[str, Any] | None]] = []
    bar = progress_bar(total=len(subsets), desc="testing", unit="detector", enabled=opts.progress)
    for subset in subsets:
        info = trained[subset]
        if info.get("model_dir") is None:
            matrix.append([None] * len(subsets))
        else:
            rows = score_test_set(info["model_dir"], source, test, opts.batch_size)
            matrix.append([cell_metrics(rows, col, opts.min_test_per_class) for col in subsets])
        bar.update(1)
    bar.close()
    doc = _document(opts, subsets, train_split, test, train_counts, test_counts, trained, matrix, source)
    doc["protocol"]["environment"] = environment_record()
    doc["protocol"]["seconds"] = round(time.time() - t0, 1)
    out = Path(opts.out)
    atomic_write_json(out / "crossgen.json", doc)
    for metric in ("accuracy", "auroc"):
        atomic_write_text(out / f"crossgen_{metric}.csv", matrix_csv(doc, metric))
    from .crossgen_report import write_crossgen_report

    page, figures = write_crossgen_report(out, doc)
    doc["outputs"] = {"json": "crossgen.json", "csv": ["crossgen_accuracy.csv", "crossgen_auroc.csv"],
                      "report": page.name, "figures": figures}
    atomic_write_json(out / "crossgen.json", doc)
    return doc


def _document(opts: CrossGenOptions, subsets: list[str], train_split: str, test: TestSelection,
              train_counts: dict[str, Counter], test_counts: dict[str, Counter], trained: dict[str, dict[str, Any]],
              matrix: list[list[dict[str, Any] | None]], source: DataSource) -> dict[str, Any]:
    def values(metric: str) -> list[list[float | None]]:
        return [[(cell or {}).get(metric) for cell in row] for row in matrix]

    acc = values("accuracy")
    row_avg = [dict(zip(("value", "n_cells"), _mean(r))) for r in acc]
    overall, n_cells = _mean(v for r in acc for v in r)
    off, n_off = _mean(v for i, r in enumerate(acc) for j, v in enumerate(r) if i != j)
    cells = [[cell if cell is not None else {"reason": trained[subsets[i]].get("reason")} for cell in row]
             for i, row in enumerate(matrix)]
    doc: dict[str, Any] = {
        "fakescope_crossgen": 1,
        "data": {"spec": opts.data, "format": source.format, "train_split": train_split, "test": test.describe(),
                 "fingerprint": source.with_split(train_split).fingerprint()},
        "detector": opts.model,
        "subsets": subsets,
        "counts": {s: {"train_real": train_counts.get(s, Counter())[REAL], "train_fake": train_counts.get(s, Counter())[FAKE],
                       "test_real": test_counts.get(s, Counter())[REAL], "test_fake": test_counts.get(s, Counter())[FAKE]}
                   for s in subsets},
        "matrix": {"rows": "trained on", "columns": "tested on", "metric": "accuracy", "values": acc,
                   "auroc": values("auroc"), "cells": cells},
        "row_average": {s: row_avg[i] for i, s in enumerate(subsets)},
        "overall_mean": {"value": overall, "n_cells": n_cells},
        "off_diagonal_mean": {"value": off, "n_cells": n_off},
        "models": trained,
        "detector_config": _detector_config(trained),
        "protocol": {
            "per_subset_training": "each detector trains on its subset's fakes with the reals of the same subset "
                                   f"(split {train_split!r}); the final weights are tested, not a best-on-validation copy",
            "test": test.describe(),
            "cell": "accuracy at the detector's threshold on the tested subset's test images (its fakes and its reals)",
            "min_test_per_class": opts.min_test_per_class,
            "row_average": "mean of the row's defined cells, diagonal included (as GenImage Table 3)",
            "overall_mean": "mean of every defined cell (as GenImage Table 4)",
            "options": asdict(opts),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "published": None,
    }
    if is_genimage(subsets, source.format):
        doc["published"] = {"label": PUBLISHED_LABEL, "detector": "ResNet-50", "trained_on": "SD14", "metric": "accuracy",
                            "row": {k: v / 100 for k, v in GENIMAGE_RESNET50_SD14_ROW.items()},
                            "row_average": GENIMAGE_RESNET50_SD14_AVG / 100,
                            "sd14_row_averages_other_detectors": {k: v / 100 for k, v in GENIMAGE_SD14_ROW_AVERAGES.items()}}
    return doc


def _detector_config(trained: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Architecture, arguments and preprocessing the per-subset detectors were trained with (one record)."""
    from fakescope.models import read_config

    first = next((t["model_dir"] for t in trained.values() if t.get("model_dir")), None)
    if first is None:
        return None
    config = read_config(first)
    return {"architecture": config.architecture, "arch_args": config.arch_args, "preprocess": config.to_dict()["preprocess"],
            "preprocess_description": config.preprocess.describe(), "threshold": config.threshold,
            "resolved_training_options": {k: config.training.get("options", {}).get(k) for k in
                                          ("epochs", "batch_size", "lr", "weight_decay", "seed", "max_samples")}}


def matrix_csv(doc: dict[str, Any], metric: str) -> str:
    """Rows trained-on, columns tested-on, then the row average (accuracy only); empty = undefined."""
    subsets = doc["subsets"]
    values = doc["matrix"]["values"] if metric == "accuracy" else doc["matrix"][metric]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f"trained_on\\tested_on ({metric})", *subsets, *(["row_average"] if metric == "accuracy" else [])])
    for i, s in enumerate(subsets):
        cells = ["" if v is None else f"{v:.6f}" for v in values[i]]
        if metric == "accuracy":
            avg = doc["row_average"][s]["value"]
            cells.append("" if avg is None else f"{avg:.6f}")
        w.writerow([s, *cells])
    return buf.getvalue()
