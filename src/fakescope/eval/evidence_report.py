"""The report's evidence section: what the test files declare about their own making.

From metrics.json's "evidence" (eval/evidence.py: how many images carry a claim, by verdict, claim
and source, and the claims' precision against the labels) and, per file, the rows of the
predictions that carry any evidence item: path, label, what the file declares, which generator,
the sources and the signer or validation of each item.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from .report import esc, kv_table, note, num, section, table

MAX_FILES_LISTED = 200
LABELS = {0: "real", 1: "fake"}


def evidence_files(predictions: pa.Table) -> list[dict[str, Any]]:
    """One entry per file whose metadata holds any evidence item (a claim or a reader's note)."""
    if "evidence" not in predictions.column_names:
        return []
    cols = {name: predictions.column(name).to_pylist() for name in
            ("path", "label", "evidence_verdict", "evidence_generator", "evidence")}
    out = []
    for path, label, verdict, generator, raw in zip(*cols.values()):
        items = json.loads(raw) if raw else []
        if items:
            out.append({"path": path, "label": label, "verdict": verdict, "generator": generator, "items": items})
    return out


def _item(it: dict[str, Any]) -> str:
    who = it.get("signer") or it.get("software") or ""
    valid = (it.get("validation") or "").split(" ")[0]
    text = f"<code>{esc(it['source'])}</code> {esc(it['claim'])}"
    if it.get("generator"):
        text += f" ({esc(it['generator'])})"
    if who:
        text += f", {esc(who)}"
    if valid:
        text += f", {esc(valid)}"
    return text


def evidence_section(summary: dict[str, Any] | None, files: list[dict[str, Any]]) -> str:
    if not summary:
        return ""
    precision = summary["precision"]
    pairs = [
        ("images read", num(summary["n_images"])),
        ("declaring themselves AI-made", num(summary["with_claim"])),
        ("by verdict", esc(", ".join(f"{k} {v:,}" for k, v in summary["by_verdict"].items())) or "none"),
        ("by claim", esc(", ".join(f"{k} {v:,}" for k, v in summary["by_claim"].items())) or "none"),
        ("by source", esc(", ".join(f"{k} {v:,}" for k, v in summary["by_source"].items())) or "none"),
        ("precision of the claims (labelled fake / claiming)",
         esc(f"{precision['any_claim']['labelled_fake']:,} / {precision['any_claim']['n']:,}")
         + (f" = {num(precision['any_claim']['precision'])}" if precision["any_claim"]["precision"] is not None else "")),
    ]
    rows = [[esc(f["path"]), esc(LABELS.get(f["label"], "-")), esc(f["verdict"] or "-"), esc(f["generator"] or "-"),
             "<br>".join(_item(it) for it in f["items"])] for f in files[:MAX_FILES_LISTED]]
    listed = (table(("file", "label", "the file declares", "generator", "evidence items"), rows, left=5)
              + (note(f"First {MAX_FILES_LISTED} of {len(files):,} files with evidence; all are in the predictions "
                      "(columns evidence_verdict, evidence_generator, evidence).") if len(files) > MAX_FILES_LISTED else "")
              if files else note("No file of this split carries any evidence item in its metadata."))
    return section(
        "Evidence: what the files declare",
        kv_table(pairs),
        listed,
        note(esc(summary["protocol"]) + ". Metadata proves presence, never absence: a file without a claim is "
             "not evidence of a real image."),
    )
