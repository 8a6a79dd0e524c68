"""CSV / JSONL manifests: one row per image, `path,label[,generator][,split][,subset][,family]`.

Paths are relative to the manifest's folder (or absolute). Labels may be 0/1 or names
(real/fake, nature/ai). A row that cannot be understood becomes a sample with a `problem`,
so it is reported with its row number instead of stopping the run.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .generators import canonical_generator
from .parquet import SPLIT_NAMES
from .rows import label_from_name
from .sample import FAKE, NO_SPLIT, DataSource, Sample

MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
# File names a folder may carry its manifest under (checked when no folder layout fits).
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl", "labels.csv", "labels.jsonl", "metadata.csv", "metadata.jsonl")
_PATH_KEYS = ("path", "file", "filename", "file_name", "image", "image_path")
_LABEL_KEYS = ("label", "target", "is_fake", "class")
_GEN_KEYS = ("generator", "model_name", "model", "source")


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in row and row[k] not in (None, ""):
            return row[k]
    return None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, problem) for each data row."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield n, None, f"line {n}: invalid JSON ({exc.msg})"
                    continue
                if not isinstance(obj, dict):
                    yield n, None, f"line {n}: expected a JSON object"
                    continue
                yield n, {str(k).lower(): v for k, v in obj.items()}, None
        return
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if reader.fieldnames is None:
            return
        for row in reader:
            yield reader.line_num, {str(k).strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}, None


def _label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and float(value) in (0.0, 1.0):
        return int(value)
    return label_from_name(str(value)) if value is not None else None


class ManifestSource(DataSource):
    format = "manifest"

    def __init__(self, spec: str, manifest: Path, split: str | None = None) -> None:
        super().__init__(spec, split)
        self.manifest = manifest
        self.base = manifest.parent
        self._counts: dict[str, int] | None = None
        header = next(_rows(manifest), None)
        if header is not None and header[1] is not None and _first(header[1], _PATH_KEYS) is None:
            raise ValueError(f"{manifest}: no path column (expected one of {', '.join(_PATH_KEYS)})")

    def _samples(self) -> Iterator[Sample]:
        for n, row, problem in _rows(self.manifest):
            where = f"{self.manifest.name}:{n}"
            if row is None:
                yield Sample(where, None, None, NO_SPLIT, where, self.spec, problem=problem)
                continue
            rel = _first(row, _PATH_KEYS)
            split = str(row.get("split") or NO_SPLIT).lower()
            if rel is None:
                yield Sample(where, None, None, split, where, self.spec, problem=f"line {n}: no path")
                continue
            path = Path(str(rel))
            full = path if path.is_absolute() else self.base / path
            raw_label = _first(row, _LABEL_KEYS)
            label = _label(raw_label)
            problem = None if label is not None else f"line {n}: label {raw_label!r} is neither real nor fake"
            gen = canonical_generator(_first(row, _GEN_KEYS)) if label == FAKE else None
            subset = row.get("subset") or gen
            yield Sample(
                key=str(rel),
                label=label,
                generator=gen,
                split=split,
                origin=str(full),
                source_id=self.spec,
                subset=canonical_generator(subset) if subset else None,
                family=row.get("family") or row.get("architecture") or None,
                path=str(full),
                problem=problem,
            )

    def _split_counts(self) -> dict[str, int]:
        if self._counts is None:
            counts: dict[str, int] = {}
            for s in self._samples():
                counts[s.split] = counts.get(s.split, 0) + 1
            self._counts = counts
        return self._counts

    def splits(self) -> list[str]:
        order = {name: i for i, name in enumerate(SPLIT_NAMES)}
        return sorted(self._split_counts(), key=lambda s: (order.get(s, len(order)), s))

    def count(self, split: str) -> int:
        return self._split_counts().get(split, 0)

    def _iter_split(self, split: str) -> Iterator[Sample]:
        return (s for s in self._samples() if s.split == split)


def find_manifest(root: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return root / name
    return None
