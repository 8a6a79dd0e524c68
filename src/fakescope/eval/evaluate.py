"""`evaluate(options)`: score a test set with a model under recorded conditions and write
OUT/metrics.json, OUT/predictions.(parquet|csv), OUT/report.html and OUT/figures/*.png.

Top to bottom: resolve the model, the data and the protocol -> stream the images through the
conditions, logging finished rows (resumable) -> read the rows back as a table -> metrics per
condition, format/size check -> write the results atomically. Only per-image numbers are kept.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
from tqdm import tqdm

from fakescope.data import DataSource, open_source
from fakescope.errors import UserError
from fakescope.imageops import encoder_description
from fakescope.utils.atomic import atomic_write_json
from fakescope.utils.progress import progress_bar
from fakescope.utils.rowlog import RowLog, open_partial

from .breakdown import condition_metrics
from .conditions import NO_ALIGNMENT, Alignment, Condition, parse_alignment, parse_conditions
from .datacheck import format_size_check
from .evidence import evidence_summary, with_evidence
from fakescope.metrics import BOOTSTRAP_SEED, ECE_BINS, expected_calibration_error
from .predictions import PREDICTION_FORMATS, predictions_schema, read_log, write_predictions
from .published import evaluation_references
from .testdata import open_reference, pick_split
from .scoring import PassCounts, content_hashes, entries, generator_column, score_column, score_rows, subset_cutoff

PARTIAL_DIR = ".partial"  # rows of an unfinished run; removed when the run completes
ENGINES = ("local", "ray")
MAX_SKIPPED_LISTED = 200


@dataclass
class EvalOptions:
    """What `fakescope evaluate` takes; the CLI maps its flags onto these one to one."""

    data: str
    out: str
    model: str | None = None  # None: the shipped default model (or $FAKESCOPE_MODEL)
    split: str | None = None  # default: test, else a validation split, else the only split
    format: str | None = None
    degrade: list[str] = field(default_factory=list)
    align_format: str | None = None
    threshold: float | None = None  # default: the model's stored (calibrated) threshold
    tta: list[str] | None = None  # test-time views instead of the model's own ([]: none); models/tta.py
    batch_size: int = 64
    max_samples: int | None = None
    dedup_against: str | None = None  # SOURCE[:SPLIT]
    predictions_format: str = "parquet"
    bootstrap: int = 1000
    device: str = "cpu"
    threads: int | None = None  # torch CPU threads (default: torch's choice)
    resume: bool = True
    progress: bool = True
    report: bool = True
    engine: str = "local"  # or "ray": the scoring pass on Ray Data (eval/ray_scoring.py), same results
    ray_address: str | None = None  # ray: join this cluster (default: a local Ray for the run)
    workers: int | None = None  # ray: model actors (default: the cluster's CPUs)

    def model_stage(self) -> "ModelStage":
        return ModelStage(self.model, self.device, self.threads, self.tta)

    def result_stage(self) -> "ResultStage":
        return ResultStage(self.bootstrap, self.device, self.tta, self.predictions_format, self.report)


@dataclass(frozen=True)
class ModelStage:
    """What loading and running the model takes (and nothing else of the evaluation's options)."""

    model: str | None
    device: str = "cpu"
    threads: int | None = None
    tta: list[str] | None = None


@dataclass(frozen=True)
class ResultStage:
    """What turning the scored rows into metrics, verdicts and files takes."""

    bootstrap: int = 1000
    device: str = "cpu"
    tta: list[str] | None = None
    predictions_format: str = "parquet"
    report: bool = True


def _say(msg: str) -> None:
    tqdm.write(msg, file=sys.stderr)


def _model(opts: ModelStage):
    from fakescope.detect.runner import default_model_dir
    from fakescope.inference import TorchBackend
    from fakescope.models import load_model
    from fakescope.models.config import check_tta
    from fakescope.models.hub import resolve_model
    from fakescope.models.io import WEIGHTS, file_sha256

    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)
    model_dir = resolve_model(opts.model) if opts.model else default_model_dir()
    if not (model_dir / "config.json").is_file():
        what = "the shipped default model" if opts.model is None else "a model directory"
        raise FileNotFoundError(f"{model_dir} is not {what} (no config.json); pass --model DIR")
    net, config = load_model(model_dir, device=opts.device)
    if opts.tta is not None:  # the network reads its config's views, so this changes how it scores
        config.tta = check_tta(opts.tta)
    sha = config.card.get("weights_sha256") or file_sha256(model_dir / WEIGHTS)
    return TorchBackend(net, config, opts.device), config, model_dir, sha


def evaluate(opts: EvalOptions) -> dict[str, Any]:
    """Run the evaluation `opts` describes; returns the metrics document also written to OUT/metrics.json."""
    from fakescope.utils.environment import environment_record

    t0 = time.time()
    conditions = parse_conditions(opts.degrade)
    alignment = parse_alignment(opts.align_format)
    if opts.predictions_format not in PREDICTION_FORMATS:
        raise UserError(f"--predictions must be one of {', '.join(PREDICTION_FORMATS)}")
    if opts.max_samples is not None and opts.max_samples < 2:
        raise UserError("--max-samples must be at least 2")
    if opts.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if opts.engine not in ENGINES:
        raise UserError(f"--engine must be one of {', '.join(ENGINES)}, not {opts.engine!r}")
    backend, config, model_dir, sha = _model(opts.model_stage())
    source = open_source(opts.data, format=opts.format)
    split = pick_split(source, opts.split)
    source = source.with_split(split)
    threshold = float(opts.threshold if opts.threshold is not None else config.threshold)
    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"threshold {threshold} is not a probability in [0, 1]")
    fingerprint = source.fingerprint()
    out = Path(opts.out)

    dedup: dict[str, Any] = {"enabled": False, "description": "none", "dropped": 0}
    exclude = None
    if opts.dedup_against:
        ref = open_reference(opts.dedup_against)
        exclude = content_hashes(ref)
        dedup = {"enabled": True, "against": opts.dedup_against, "fingerprint": ref.fingerprint(),
                 "reference_images": len(exclude), "dropped": 0,
                 "description": f"test images whose SHA-256 of the stored bytes appears in {opts.dedup_against} are dropped"}
    cutoff = subset_cutoff(source, opts.max_samples) if opts.max_samples else None

    identity = {"model_sha256": sha, "data": opts.data, "format": opts.format, "split": split, "fingerprint": fingerprint,
                "conditions": [c.name for c in conditions], "alignment": alignment.name if alignment else None,
                "max_samples": opts.max_samples, "dedup": [opts.dedup_against, dedup.get("fingerprint")],
                "tta": list(config.tta)}
    partial = out / PARTIAL_DIR
    done, log = open_partial(partial, identity, opts.resume, _say)
    counts = PassCounts()
    total = _expected(source, split, opts.max_samples)
    bar = progress_bar(total=total, initial=len(done), desc="evaluate", unit="img", enabled=opts.progress)
    t_score = time.time()
    if opts.engine == "ray":
        from .ray_scoring import ray_score_rows

        rows = ray_score_rows(opts, model_dir=str(Path(model_dir).resolve()), split=split, done=done, cutoff=cutoff,
                              exclude=exclude, counts=counts, on_batch=log.flush)
    else:
        stream = with_evidence(entries(source, counts, done=done, cutoff=cutoff, exclude_hashes=exclude))
        rows = score_rows(backend, stream, conditions, alignment=alignment, batch_size=opts.batch_size,
                          counts=counts, with_order=True)
    try:
        for row in rows:
            log.add(row)
            bar.update(1)
    except KeyboardInterrupt:
        log.flush()
        _say(f"interrupted: {len(done) + log.written:,} image(s) scored and kept in {log.path}; "
             "run the same command again to resume")
        raise
    finally:
        log.flush()
        bar.close()
    score_seconds = time.time() - t_score

    # The verdict pass (eval/verdicts.py) reads the same images again when the model has OOD statistics.
    again = lambda: entries(source, PassCounts(), cutoff=cutoff, exclude_hashes=exclude)  # noqa: E731
    doc = _results(opts.result_stage(), asdict(opts), config, model_dir, sha, source, split, fingerprint, conditions, alignment, threshold,
                   counts, dedup, log, done, score_seconds, environment_record(), out, again)
    doc["protocol"]["timing"]["seconds_total"] = round(time.time() - t0, 2)
    atomic_write_json(out / "metrics.json", doc)
    shutil.rmtree(partial, ignore_errors=True)
    return doc


def _expected(source: DataSource, split: str, max_samples: int | None) -> int | None:
    n = source.count(split)
    if max_samples is not None:
        return max_samples if n is None else min(n, max_samples)
    return n


def _results(stage: ResultStage, asked: dict[str, Any], config: Any, model_dir: Path, sha: str, source: DataSource, split: str, fingerprint: str,
             conditions: list[Condition], alignment: Alignment | None, threshold: float, counts: PassCounts,
             dedup: dict[str, Any], log: RowLog, done: set[str], score_seconds: float, env: dict[str, Any],
             out: Path, again: Any = None) -> dict[str, Any]:
    from .verdicts import add_verdicts

    names = [c.name for c in conditions]
    vocab = list(config.generators) if config.has_generator else []
    table = read_log(log.path, predictions_schema(names, bool(vocab)))
    table, verdicts = add_verdicts(model_dir, table, stream=again or (lambda: []), alignment=alignment,
                                   n_resamples=stage.bootstrap, device=stage.device, tta=stage.tta, threshold=threshold)
    pred_path = write_predictions(table, out, stage.predictions_format)
    col = lambda name: table.column(name).to_pylist()  # noqa: E731
    labels_all = np.asarray([-1 if v is None else v for v in col("label")], dtype=np.int64)
    usable = labels_all >= 0
    labels = labels_all[usable]
    gens = [g for g, u in zip(col("generator"), usable) if u]
    fams = [f for f, u in zip(col("family"), usable) if u]
    scores = {c: np.asarray([np.nan if v is None else v for v in col(score_column(c))], dtype=np.float64)[usable] for c in names}
    results = {}
    for c in names:
        predicted = [p for p, u in zip(col(generator_column(c)), usable) if u] if vocab else None
        results[c] = condition_metrics(labels, scores[c], gens, fams, threshold, n_resamples=stage.bootstrap,
                                       vocabulary=vocab or None, predicted=predicted)
    clean_ok = ~np.isnan(scores["clean"])
    widths = np.asarray([np.nan if v is None else v for v in col("width")], dtype=np.float64)[usable]
    heights = np.asarray([np.nan if v is None else v for v in col("height")], dtype=np.float64)[usable]
    fmts = [f for f, u in zip(col("format"), usable) if u]
    check = format_size_check(labels[clean_ok], [f for f, ok in zip(fmts, clean_ok) if ok], widths[clean_ok], heights[clean_ok])
    warnings = list(check["warnings"])
    n_real, n_fake = int((labels[clean_ok] == 0).sum()), int((labels[clean_ok] == 1).sum())
    if n_real == 0 or n_fake == 0:
        what = "no image could be scored" if n_real + n_fake == 0 else \
            f"only {'fake' if n_real == 0 else 'real'} images were scored ({n_real} real, {n_fake} fake)"
        warnings.append(f"{what}: AUROC, AP, EER and the intervals are undefined")
    if alignment is not None and check["format_differs"]:
        warnings = [w + f" [alignment {alignment.name} is on: the model saw both classes re-encoded the same way]"
                    if "file format" in w else w for w in warnings]
    for w in warnings:
        _say(f"warning: {w}")

    failed = table.filter(pc.and_(pc.is_valid(table.column("error")), pc.is_null(table.column(score_column("clean")))))
    skipped = list(zip(failed.column("path").to_pylist(), failed.column("error").to_pylist()))
    by_reason = Counter(_reason_kind(e) for _, e in skipped)
    dedup = {**dedup, "dropped": counts.duplicates, "dropped_by_label": {"real": (counts.duplicates_by_label or {}).get(0, 0),
                                                                          "fake": (counts.duplicates_by_label or {}).get(1, 0)}}
    scored_now = log.written
    clean = results["clean"]["overall"]
    generators_present = {g for g, y in zip(gens, labels) if y == 1 and g is not None}
    doc: dict[str, Any] = {
        "fakescope_evaluation": 1,
        "model": {"dir": str(model_dir), "spec": asked["model"], "name": config.name or model_dir.name, "architecture": config.architecture,
                  "task": config.task, "weights_sha256": sha, "preprocess": config.to_dict()["preprocess"],
                  "preprocess_description": config.preprocess.describe(), "threshold": config.threshold,
                  "tta": list(config.tta), "multicrop": config.to_dict()["multicrop"], "generators": vocab},
        "data": {"spec": asked["data"], "format": source.format, "split": split, "fingerprint": fingerprint,
                 "n_listed": counts.seen, "n_rows": int(table.num_rows), "n_scored": int(clean["n"]),
                 "n_real": int(clean["n_real"]), "n_fake": int(clean["n_fake"]),
                 "generators": dict(sorted(Counter(g or "unknown" for g, y in zip(gens, labels) if y == 1).items())),
                 "families": dict(sorted(Counter(f for f in fams if f is not None).items()))},
        "protocol": {
            "threshold": {"value": threshold, "source": "--threshold" if asked["threshold"] is not None else "the model's config.json"},
            "conditions": [{**c.record(), "unchanged_images_this_run": counts.unchanged.get(c.name, 0)}
                           if c.kind else c.record() for c in conditions],
            "alignment": alignment.record() if alignment else dict(NO_ALIGNMENT),
            "encoder": encoder_description(),
            "max_samples": asked["max_samples"],
            "subset_method": "uniform by SHA-1 of the sample key (salt fakescope-eval)" if asked["max_samples"] else None,
            "dedup": dedup,
            "samples": {"listed": counts.seen, "outside_subset": counts.outside_subset, "resumed": len(done),
                        "scored_this_run": scored_now, "rows": int(table.num_rows)},
            "skipped": {"n": len(skipped), "by_reason": dict(by_reason.most_common()),
                        "examples": [{"path": p, "reason": e} for p, e in skipped[:MAX_SKIPPED_LISTED]]},
            "format_check": check,
            "warnings": warnings,
            "bootstrap": {"method": "stratified percentile bootstrap (each class resampled separately)",
                          "n_resamples": stage.bootstrap, "seed": BOOTSTRAP_SEED, "level": 0.95},
            "ece_bins": ECE_BINS,
            "per_generator": "that generator's fakes against all reals of the split",
            "environment": env,
            "options": asked,
            "timing": {"seconds": round(score_seconds, 2), "scored_this_run": scored_now, "resumed": len(done),
                       "images_per_s": round(scored_now / score_seconds, 1) if score_seconds > 0 else 0.0,
                       "model_passes_per_s": round(scored_now * len(names) / score_seconds, 1) if score_seconds > 0 else 0.0},
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "conditions": results,
        "attribution": results["clean"].get("attribution"),
        "verdicts": verdicts,
        "evidence": evidence_summary(col("label"), col("evidence_verdict"), col("evidence")),
        "calibration": {"condition": "clean", **expected_calibration_error(labels[clean_ok], scores["clean"][clean_ok])},
        "published": evaluation_references(asked["data"], source.format, generators_present, bool(results["clean"]["per_family"]),
                                           names),
        "outputs": {"metrics": "metrics.json", "predictions": pred_path.name},
    }
    if stage.report:
        from .evidence_report import evidence_files
        from .evaluation_report import write_evaluation_report

        page, figures = write_evaluation_report(out, doc, labels, scores, evidence_files(table))
        doc["outputs"].update({"report": page.name, "figures": figures})
    return doc


def _reason_kind(reason: str) -> str:
    """Group skip reasons by their first words (file-specific numbers removed)."""
    head = reason.split(":")[0].split("(")[0].strip()
    return head[:80] or "unknown"

