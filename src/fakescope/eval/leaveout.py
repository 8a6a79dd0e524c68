"""Leave-one-generator-out: the honest measure of generalisation to a generator never seen.

For each held-out generator (a `subset` with fakes), train one detector on every training sample
except that generator's fakes (all reals kept), then test it on the held-out generator's test fakes
against every test real. Each row is scored twice: raw (the files as stored) and format-aligned
(both classes re-encoded, `jpeg:96` by default), so a detector that reads the compression instead of
the generator shows it. Writes OUT/leaveout.json and OUT/leaveout.csv; the per-generator detectors
stay in OUT/models/<generator> and are reused by a rerun of the same settings.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fakescope.data import FAKE, REAL, DataSource, Sample, open_source
from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write_json, atomic_write_text

from .conditions import CLEAN, Alignment, Condition, parse_alignment
from .crossgen import TRAIN_KEYS, TestSelection, _safe, _say, order_subsets, plan_splits, train_or_reuse
from fakescope.metrics import binary_metrics
from .scoring import PassCounts, entries, score_column, score_rows

SCORINGS = ("raw", "aligned")


@dataclass
class LeaveOneOutOptions:
    data: str
    model: str
    out: str
    format: str | None = None
    train_split: str | None = None
    test_split: str | None = None
    test_fraction: float = 0.3  # hold-out share when the source has a single split
    subsets: list[str] | None = None  # hold out only these generators (default: every subset with fakes)
    min_test_per_class: int = 1
    align_format: str = "jpeg:96"
    train: dict[str, Any] = field(default_factory=dict)  # extra TrainOptions for every detector
    batch_size: int = 64
    threads: int | None = None
    progress: bool = True
    retrain: bool = False


def fake_counts(samples: Any) -> Counter:
    """subset -> number of usable fakes (no pixels read)."""
    return Counter(s.subset for s in samples if s.problem is None and s.label == FAKE and s.subset is not None)


def _train_options(opts: LeaveOneOutOptions, held_out: str, train_split: str, test: TestSelection, out: Path):
    from fakescope.train import TrainOptions

    unknown = set(opts.train) - set(TRAIN_KEYS) - {"patches_per_image", "multicrop"}
    if unknown:
        raise UserError(f"unknown training option(s) for leave-one-out: {', '.join(sorted(unknown))}")
    extra = {k: v for k, v in opts.train.items() if v is not None}
    val: dict[str, Any] = {}
    if test.holdout_fraction is not None:  # single-split source: validation is the test hold-out's complement side
        val = {"val_fraction": test.holdout_fraction, "val_split": train_split}
    return TrainOptions(data=opts.data, model=opts.model, out=str(out), task="binary", split=train_split,
                        format=opts.format, exclude_subset=held_out, progress=opts.progress,
                        name=f"leaveout-{held_out}", **val, **extra)


def _test_entries(source: DataSource, test: TestSelection, held_out: str):
    keep = lambda s: test(s) and (s.label == REAL or s.subset == held_out)  # noqa: E731
    return entries(_Filtered(source.with_split(test.split), keep), PassCounts())


class _Filtered:
    """An iterable of a source's samples passing `keep` (what `entries` needs)."""

    def __init__(self, source: DataSource, keep: Any) -> None:
        self.source, self.keep = source, keep

    def __iter__(self):
        return (s for s in self.source if self.keep(s))


def score_held_out(model_dir: str, source: DataSource, test: TestSelection, held_out: str,
                   alignment: Alignment | None, batch_size: int, min_per_class: int) -> dict[str, Any]:
    """Binary metrics of one detector on the held-out generator's test fakes and every test real."""
    from fakescope.inference import TorchBackend
    from fakescope.models import load_model

    net, config = load_model(model_dir)
    rows = list(score_rows(TorchBackend(net, config), _test_entries(source, test, held_out), [Condition(CLEAN, None)],
                           alignment=alignment, batch_size=batch_size))
    good = [r for r in rows if r[score_column(CLEAN)] is not None]
    y = np.asarray([r["label"] for r in good], dtype=np.int64)
    s = np.asarray([r[score_column(CLEAN)] for r in good], dtype=np.float64)
    n_real, n_fake = int((y == REAL).sum()), int((y == FAKE).sum())
    if n_real < min_per_class or n_fake < min_per_class:
        return {"n_real": n_real, "n_fake": n_fake, "auroc": None, "accuracy": None,
                "reason": f"too few test images: {n_real} real, {n_fake} fake (need {min_per_class} of each)"}
    m = binary_metrics(y, s, config.threshold)
    return {k: m[k] for k in ("auroc", "ap", "accuracy", "real_accuracy", "fake_accuracy", "n_real", "n_fake")} | {
        "errors": len(rows) - len(good)}


def leave_one_out(opts: LeaveOneOutOptions) -> dict[str, Any]:
    """Run the protocol; writes OUT/leaveout.json and OUT/leaveout.csv; returns the document."""
    from fakescope.models import get_spec
    from fakescope.utils.environment import environment_record

    t0 = time.time()
    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)
    get_spec(opts.model)
    alignment = parse_alignment(opts.align_format)
    if alignment is None:
        raise UserError("leave-one-out always scores format-aligned too: give --align-format jpeg:Q or png")
    source = open_source(opts.data, format=opts.format)
    train_split, test = plan_splits(source, opts)  # type: ignore[arg-type]  # same split fields as CrossGenOptions
    train_fakes = fake_counts(s for s in source.with_split(train_split) if test.holdout_fraction is None or not test(s))
    test_fakes = fake_counts(s for s in source.with_split(test.split) if test(s))
    names = set(train_fakes) | set(test_fakes)
    if len(names) < 2:
        raise UserError(f"{opts.data}: leave-one-out needs fakes of at least two generators (subsets), found {sorted(names)}")
    if opts.subsets:
        if missing := sorted(set(opts.subsets) - names):
            raise UserError(f"generator(s) {', '.join(missing)} not in {opts.data} (known: {', '.join(order_subsets(names))})")
        names = set(opts.subsets)
    held = order_subsets(names)
    _say(f"leave-one-out: {len(held)} held-out generators; train on split {train_split!r}; test on {test.describe()}")
    rows: list[dict[str, Any]] = []
    for i, g in enumerate(held, start=1):
        row: dict[str, Any] = {"held_out": g, "train_fakes_other": sum(train_fakes.values()) - train_fakes[g],
                               "test_fakes": test_fakes[g]}
        model_out = Path(opts.out) / "models" / _safe(g)
        train_opts = _train_options(opts, g, train_split, test, model_out)
        t1 = time.time()
        failed = train_or_reuse(train_opts, model_out, retrain=opts.retrain,
                                reusing=f"[{i}/{len(held)}] {g}: reusing {model_out}",
                                training=f"[{i}/{len(held)}] training {opts.model} without {g}'s fakes")
        if failed:
            rows.append({**row, "reason": failed})
            continue
        row["train_seconds"] = round(time.time() - t1, 1)
        for name, al in zip(SCORINGS, (None, alignment)):
            row[name] = score_held_out(str(model_out), source, test, g, al, opts.batch_size, opts.min_test_per_class)
        rows.append(row)
        _say(f"  {g}: AUROC raw {_fmt(row['raw'].get('auroc'))} aligned {_fmt(row['aligned'].get('auroc'))}")
    doc = _document(opts, source, train_split, test, alignment, rows)
    doc["protocol"]["environment"] = environment_record()
    doc["protocol"]["seconds"] = round(time.time() - t0, 1)
    out = Path(opts.out)
    atomic_write_json(out / "leaveout.json", doc)
    atomic_write_text(out / "leaveout.csv", leaveout_csv(doc))
    return doc


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _mean_of(rows: list[dict[str, Any]], scoring: str, metric: str) -> float | None:
    vals = [r[scoring][metric] for r in rows if scoring in r and r[scoring].get(metric) is not None]
    return float(np.mean(vals)) if vals else None


def _document(opts: LeaveOneOutOptions, source: DataSource, train_split: str, test: TestSelection,
              alignment: Alignment, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from fakescope.models import read_config

    first = next((Path(opts.out) / "models" / _safe(r["held_out"]) for r in rows if "raw" in r), None)
    detector = None
    if first is not None:
        c = read_config(first)
        detector = {"architecture": c.architecture, "arch_args": c.arch_args, "preprocess": c.to_dict()["preprocess"],
                    "multicrop": c.to_dict()["multicrop"], "threshold": c.threshold,
                    "training_options": {k: c.training.get("options", {}).get(k) for k in
                                         ("epochs", "batch_size", "lr", "augment", "patches_per_image", "seed")}}
    return {
        "fakescope_leaveout": 1,
        "data": {"spec": opts.data, "format": source.format, "train_split": train_split, "test": test.describe(),
                 "fingerprint": source.with_split(train_split).fingerprint()},
        "detector": opts.model,
        "detector_config": detector,
        "rows": rows,
        "mean": {s: {m: _mean_of(rows, s, m) for m in ("auroc", "accuracy", "fake_accuracy")} for s in SCORINGS},
        "protocol": {
            "training": "one binary detector per held-out generator, trained on every training sample except that "
                        "generator's fakes (all reals kept); the final weights are tested",
            "test": f"the held-out generator's test fakes against every test real ({test.describe()})",
            "scorings": {"raw": "files as stored", "aligned": alignment.record()},
            "options": asdict(opts),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def leaveout_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["held_out", "test_fakes", "test_reals", "auroc_raw", "auroc_aligned", "accuracy_raw", "accuracy_aligned",
                "fake_accuracy_raw", "fake_accuracy_aligned", "reason"])
    for r in doc["rows"]:
        raw, al = r.get("raw", {}), r.get("aligned", {})
        cells = [raw.get("auroc"), al.get("auroc"), raw.get("accuracy"), al.get("accuracy"),
                 raw.get("fake_accuracy"), al.get("fake_accuracy")]
        w.writerow([r["held_out"], r["test_fakes"], raw.get("n_real", ""),
                    *["" if v is None else f"{v:.4f}" for v in cells], r.get("reason") or raw.get("reason") or ""])
    return buf.getvalue()
