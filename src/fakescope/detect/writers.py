"""Output formats of `fakescope detect`, one small writer each, in a registry.

Every writer streams: it gets the model description once, then one row per image as soon as the
image is scored, then the run's summary. Nothing is collected in memory, so even `json` (one
document: `{"model", "results": [...], "summary"}`) and `table` work for a million images.

A row is `{"path", "label", "score", "generator", "error"}` (+ `"explanation"` with --explain):
`label` "fake"/"real", `score` P(fake), `generator` the top-k `[{"label", "score"}]` or None,
`error` None or the reason the file could not be scored (then label and score are None).
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
        record = {**row, "model": model_id(self.model), "input_size": self.model.get("input_size")}
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


CSV_COLUMNS = ["path", "label", "score", "generator", "generator_score", "generators", "error", "model", "input_size",
               "explanation"]


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
            "label": row["label"] or "",
            "score": "" if row["score"] is None else f"{row['score']:.6f}",
            "generator": gens[0]["label"] if gens else "",
            "generator_score": f"{gens[0]['score']:.6f}" if gens else "",
            "generators": ";".join(f"{g['label']}={g['score']:.4f}" for g in gens),
            "error": row.get("error") or "",
            "model": model_id(self.model),
            "input_size": self.model.get("input_size"),
            "explanation": explanation.get("overlay", ""),
        })


@register_writer("table")
class TableWriter(Writer):
    """Aligned text for people, printed row by row (no waiting for the widest path)."""

    def start(self, model: dict[str, Any]) -> None:
        super().start(model)
        self.out.write(f"model {model_id(model)} ({model.get('architecture')}, {model.get('input_size')} px, "
                       f"threshold {model.get('threshold'):.3g}, {model.get('backend')})\n")
        self.out.write(f"{'verdict':<8} {'P(fake)':>7}  {'generator':<22} path\n")

    def row(self, row: dict[str, Any]) -> None:
        if row.get("error"):
            self.out.write(f"{'error':<8} {'-':>7}  {'-':<22} {row['path']}: {row['error']}\n")
        else:
            gens = row.get("generator") or []
            gen = f"{gens[0]['label']} {gens[0]['score']:.2f}" if gens else "-"
            self.out.write(f"{row['label']:<8} {row['score']:>7.3f}  {gen:<22} {row['path']}\n")
        self.out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write(summary_line(summary) + "\n")
        super().finish(summary)


def summary_line(summary: dict[str, Any]) -> str:
    return (f"{summary['images']} image(s): {summary['fake']} fake, {summary['real']} real, "
            f"{summary['errors']} error(s) in {summary['seconds']:.1f} s ({summary['images_per_s']:.1f} images/s)")
