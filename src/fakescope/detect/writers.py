"""Output formats of `fakescope detect`, one small writer each, in a registry.

Every writer streams: it gets the model description once, then one row per image as soon as the
image is scored, then the run's summary. Nothing is collected in memory, so even `json` (one
document: `{"model", "results": [...], "summary"}`) and `table` work for a million images.

A row is `{"path", "verdict", "reason", "answered_by", "evidence", "label", "score", "generator",
"error"}` (+ `"explanation"` with --explain): `verdict` "fake"/"real"/"uncertain" and `reason` the
pipeline's answer (fakescope.verdict.rules), `answered_by` "evidence:SOURCE" or "model:NAME@SHA12"
or None, `evidence` the file's evidence items; `label` "fake"/"real" and `score` P(fake) the raw
output of the model (None when no model scored the file), `generator` the top-k
`[{"label", "score"}]` or None (score None when the generator comes from the evidence), `error`
None or the reason the file could not be read (then verdict, label and score are None).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any, TextIO

WriterFactory = Callable[[TextIO], "Writer"]
WRITERS: dict[str, WriterFactory] = {}


def register_writer(name: str) -> Callable[[WriterFactory], WriterFactory]:
    def deco(factory: WriterFactory) -> WriterFactory:
        WRITERS[name] = factory
        return factory

    return deco


def model_id(model: dict[str, Any]) -> str:
    """`name@sha12`: which model, and which weights of it, produced a verdict."""
    return f"{model['name']}@{model['version']}" if model.get("version") else str(model["name"])


def pipeline_name(model: dict[str, Any]) -> str | None:
    return (model.get("pipeline") or {}).get("name")


def evidence_summary(items: list[dict[str, Any]] | None) -> str:
    """`source:claim[:generator]` per evidence item, `;`-separated (items without a claim left out)."""
    parts = []
    for item in items or []:
        if item.get("claim") in (None, "none"):
            continue
        parts.append(":".join(str(x) for x in (item.get("source"), item.get("claim"), item.get("generator")) if x))
    return ";".join(parts)


def _score(value: Any, digits: int = 6) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.model: dict[str, Any] = {}

    def start(self, model: dict[str, Any]) -> None:
        self.model = model

    def row(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.flush()


@register_writer("jsonl")
class JsonLinesWriter(Writer):
    """One object per image, flushed at once: `tail -f`-able, and a killed run keeps its lines."""

    def row(self, row: dict[str, Any]) -> None:
        record = {**row, "model": model_id(self.model), "input_size": self.model.get("input_size"),
                  "pipeline": pipeline_name(self.model)}
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()


@register_writer("json")
class JsonWriter(Writer):
    """Exactly one JSON document, written incrementally: model first, results, then the summary."""

    def start(self, model: dict[str, Any]) -> None:
        super().start(model)
        self.out.write('{"model": ' + json.dumps(model, ensure_ascii=False) + ', "results": [')
        self.first = True

    def row(self, row: dict[str, Any]) -> None:
        self.out.write(("\n  " if self.first else ",\n  ") + json.dumps(row, ensure_ascii=False))
        self.first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write('\n], "summary": ' + json.dumps(summary, ensure_ascii=False) + "}\n")
        super().finish(summary)


CSV_COLUMNS = ["path", "verdict", "reason", "answered_by", "evidence", "label", "score", "generator",
               "generator_score", "generators", "error", "model", "input_size", "pipeline", "explanation"]


@register_writer("csv")
class CsvWriter(Writer):
    """Spreadsheet-friendly: the top generator in its own columns, the top-k as `NAME=p;...`."""

    def start(self, model: dict[str, Any]) -> None:
        super().start(model)
        self.csv = csv.DictWriter(self.out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        self.csv.writeheader()

    def row(self, row: dict[str, Any]) -> None:
        gens = row.get("generator") or []
        explanation = row.get("explanation") or {}
        self.csv.writerow({
            "path": row["path"],
            "verdict": row.get("verdict") or "",
            "reason": row.get("reason") or "",
            "answered_by": row.get("answered_by") or "",
            "evidence": evidence_summary(row.get("evidence")),
            "label": row["label"] or "",
            "score": _score(row["score"]),
            "generator": gens[0]["label"] if gens else "",
            "generator_score": _score(gens[0]["score"]) if gens else "",
            "generators": ";".join(f"{g['label']}={_score(g['score'], 4)}" for g in gens),
            "error": row.get("error") or "",
            "model": model_id(self.model),
            "input_size": self.model.get("input_size"),
            "pipeline": pipeline_name(self.model) or "",
            "explanation": explanation.get("overlay", ""),
        })


@register_writer("table")
class TableWriter(Writer):
    """Aligned text for people, printed row by row (no waiting for the widest path): the verdict and
    the path, then the reason on its own line."""

    def start(self, model: dict[str, Any]) -> None:
        super().start(model)
        self.out.write(f"pipeline {pipeline_name(model) or '-'}: {describe_pipeline(model.get('pipeline') or {})}\n")
        self.out.write(f"{'verdict':<9} {'P(fake)':>7}  {'generator':<22} path\n")

    def row(self, row: dict[str, Any]) -> None:
        if row.get("error"):
            self.out.write(f"{'error':<9} {'-':>7}  {'-':<22} {row['path']}: {row['error']}\n")
        else:
            gens = row.get("generator") or []
            gen = "-"
            if gens:
                gen = gens[0]["label"] + (f" {gens[0]['score']:.2f}" if gens[0].get("score") is not None else "")
            score = "-" if row.get("score") is None else f"{row['score']:.3f}"
            self.out.write(f"{row['verdict']:<9} {score:>7}  {gen:<22} {row['path']}\n")
            by = f" [{row['answered_by']}]" if row.get("answered_by") else ""
            self.out.write(f"{'':<9} {row.get('reason') or ''}{by}\n")
        self.out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write(summary_line(summary) + "\n")
        super().finish(summary)


def describe_pipeline(pipeline: dict[str, Any]) -> str:
    """One line: the stages in order, with the models of a models stage."""
    parts = []
    for stage in pipeline.get("stages", []):
        kind = stage.get("stage")
        if kind == "models":
            parts.append("models " + ", ".join(m["model"] for m in stage.get("models", []))
                         + "".join(f" (skipped {s['model']}: {s['why']})" for s in stage.get("skipped", [])))
        elif kind == "evidence":
            parts.append("evidence" + (" + watermarks" if stage.get("watermarks") else ""))
        else:
            parts.append(str(kind))
    return " -> ".join(parts)


def summary_line(summary: dict[str, Any]) -> str:
    return (f"{summary['images']} image(s): {summary['fake']} fake, {summary['real']} real, "
            f"{summary.get('uncertain', 0)} uncertain, {summary['errors']} error(s) in {summary['seconds']:.1f} s "
            f"({summary['images_per_s']:.1f} images/s)")
