"""`fakescope benchmark published`: re-test converted published detectors the way DDA re-tested them by
hand - every model on the same test set, raw, format-aligned (every image re-encoded alike, so a
detector cannot lean on PNG-vs-JPEG), and under GenImage's degradations - in one table: one row per
detector, one column per condition, the average last.

Each model's full evaluations (metrics.json, predictions, report) land in OUT/<model>/raw and
OUT/<model>/aligned; OUT/retest.json, retest.csv, retest.md and report.html put them side by side.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fakescope.errors import UserError
from fakescope.models.hub import resolve_model
from fakescope.utils.atomic import atomic_write_json, atomic_write_text

from .evaluate import EvalOptions, evaluate
from .report import esc, kv_table, note, num, section, table, write_page
from .robustness import _names

RAW = "raw"
METRICS = ("accuracy", "auroc", "ap", "real_accuracy", "fake_accuracy")


@dataclass
class RetestOptions:
    models: list[str]
    data: str
    out: str
    align: str = "jpeg:96"
    degrade: list[str] = field(default_factory=lambda: ["genimage"])
    evaluate: dict[str, Any] = field(default_factory=dict)  # further EvalOptions (split, max_samples, batch_size, ...)


def retest(opts: RetestOptions) -> dict[str, Any]:
    if not opts.models:
        raise UserError("give at least one model (--models DIR)")
    models = [str(resolve_model(m)) for m in opts.models]
    names = _names(models)
    base = EvalOptions(data=opts.data, out=opts.out)
    try:
        base = replace(base, **opts.evaluate)
    except TypeError as exc:
        raise UserError(f"unknown evaluate option: {exc}") from None
    rows: dict[str, dict[str, Any]] = {}
    columns: list[str] = []
    first: dict[str, Any] | None = None
    alignment: dict[str, Any] = {}
    for name, model in zip(names, models):
        raw = evaluate(replace(base, model=model, out=str(Path(opts.out) / name / "raw"), degrade=list(opts.degrade)))
        aligned = evaluate(replace(base, model=model, out=str(Path(opts.out) / name / "aligned"), align_format=opts.align))
        first = first or raw
        alignment = alignment or aligned["protocol"]["alignment"]
        cells = {RAW: raw["conditions"]["clean"]["overall"], f"aligned {opts.align}": aligned["conditions"]["clean"]["overall"]}
        cells.update({c: raw["conditions"][c]["overall"] for c in raw["conditions"] if c != "clean"})
        columns = list(cells)
        rows[name] = {"dir": model, **_identity(raw["model"], model),
                      "cells": {c: {k: o.get(k) for k in (*METRICS, "n", "n_real", "n_fake", "accuracy_ci95", "auroc_ci95")}
                                for c, o in cells.items()},
                      "evaluations": {"raw": f"{name}/raw/metrics.json", "aligned": f"{name}/aligned/metrics.json"}}
        for metric in ("accuracy", "auroc"):
            values = [cells[c].get(metric) for c in columns]
            rows[name][f"mean_{metric}"] = sum(values) / len(values) if all(v is not None for v in values) else None
    assert first is not None
    result = {
        "fakescope_retest": 1,
        "data": {k: first["data"][k] for k in ("spec", "format", "split", "fingerprint")},
        "n_images": first["conditions"]["clean"]["overall"]["n"],
        "columns": columns,
        "conditions": first["protocol"]["conditions"],
        "alignment": {"spec": opts.align, "operation": str(alignment.get("operation"))},
        "models": rows,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": asdict(opts),
    }
    out = Path(opts.out)
    atomic_write_text(out / "retest.csv", _csv(result))
    atomic_write_text(out / "retest.md", markdown_table(result))
    _report(out, result)
    result["outputs"] = {"json": "retest.json", "csv": "retest.csv", "markdown": "retest.md", "report": "report.html"}
    atomic_write_json(out / "retest.json", result)
    return result


def _identity(model_doc: dict[str, Any], model_dir: str) -> dict[str, Any]:
    from fakescope.models import read_config

    card = read_config(model_dir).card
    published = card.get("published") or {}
    return {"architecture": model_doc.get("architecture"), "weights_sha256": model_doc.get("weights_sha256"),
            "family": published.get("family"), "source_sha256": published.get("sha256"),
            "backbone": (published.get("backbone") or {}).get("architecture")}


def _cell(c: dict[str, Any]) -> str:
    acc, auc = c.get("accuracy"), c.get("auroc")
    return ("n/a" if acc is None else f"{100 * acc:.1f}") + " / " + ("n/a" if auc is None else f"{auc:.3f}")


def markdown_table(result: dict[str, Any]) -> str:
    """The DDA-shaped table: accuracy (%) / AUROC per condition, one row per detector, the mean last."""
    cols = result["columns"]
    lines = [f"Re-test on `{result['data']['spec']}` (split {result['data']['split']}, {result['n_images']} images); "
             f"cells: accuracy % at the model's threshold / AUROC.", "",
             "| model | family | " + " | ".join(cols) + " | mean |", "|---|---|" + "---|" * (len(cols) + 1)]
    for name, row in result["models"].items():
        mean_acc, mean_auc = row["mean_accuracy"], row["mean_auroc"]
        mean = _cell({"accuracy": mean_acc, "auroc": mean_auc})
        lines.append(f"| {name} | {row['family'] or row['architecture']} | "
                     + " | ".join(_cell(row["cells"][c]) for c in cols) + f" | {mean} |")
    return "\n".join(lines) + "\n"


def _csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "family", "condition", "n", *METRICS])
    for name, row in result["models"].items():
        for c in result["columns"]:
            cell = row["cells"][c]
            w.writerow([name, row["family"] or row["architecture"], c, cell["n"], *[cell[m] for m in METRICS]])
    return buf.getvalue()


def _report(out: Path, result: dict[str, Any]) -> Path:
    cols = result["columns"]
    models = result["models"]
    acc = [[esc(n), esc(r["family"] or r["architecture"]), *[num(r["cells"][c]["accuracy"]) for c in cols], num(r["mean_accuracy"])]
           for n, r in models.items()]
    auc = [[esc(n), esc(r["family"] or r["architecture"]), *[num(r["cells"][c]["auroc"]) for c in cols], num(r["mean_auroc"])]
           for n, r in models.items()]
    head = ("model", "family", *cols, "mean")
    parts = [
        f"<p>{len(models)} detector(s) on <code>{esc(result['data']['spec'])}</code>, split <b>{esc(result['data']['split'])}</b>, "
        f"{result['n_images']} images. <b>raw</b>: the images as stored; <b>aligned</b>: "
        f"{esc(result['alignment']['operation'])}; the other columns degrade the raw images (both classes alike).</p>",
        section("Accuracy at each model's threshold", table(head, acc, left=2)),
        section("AUROC", table(head, auc, left=2)),
        section("Conditions", kv_table((c["name"], esc(c["operation"])) for c in result["conditions"])),
        section("Models", kv_table((n, f"<code>{esc(r['dir'])}</code> ({esc(r['architecture'])}, weights "
                                       f"{esc((r['weights_sha256'] or '')[:12])}"
                                       + (f"; converted from {esc(r['family'])} checkpoint {esc((r['source_sha256'] or '')[:12])}"
                                          if r["family"] else "")
                                       + (f"; backbone {esc(r['backbone'])}" if r["backbone"] else "")
                                       + f"); evaluations: <code>{esc(n)}/raw/</code>, <code>{esc(n)}/aligned/</code>)")
                                   for n, r in models.items())),
        note("Thresholds are each model's own (converted published detectors keep their authors' 0.5); AUROC does not depend on it."),
    ]
    return write_page(out / "report.html", f"Published detectors re-tested on {Path(str(result['data']['spec'])).name}",
                      esc(f"fakescope benchmark published, {result['date']}"), "".join(parts))
