"""Parquet shards as published on the Hugging Face hub (Tiny GenImage, CIFAKE copies, Community Forensics).

Read with pyarrow in record batches, so memory stays bounded by one batch whatever the split size.
Splits come from the shard file names (`train-00000-of-00004.parquet`, `validation-...`) or from a
split-named parent folder (`data/train/part-0.parquet`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from .rows import RowSchema, detect_schema
from .sample import NO_SPLIT, DataSource, Sample

SPLIT_NAMES = ("train", "validation", "valid", "val", "test", "eval", "dev")
_SHARD = re.compile(r"^(?P<split>[A-Za-z]+)(?:[-_.]|$)")
BATCH_ROWS = 256  # rows decoded from parquet at a time: ~0.5 MB of 32x32 JPEGs, ~50 MB of 512px PNGs


def parquet_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*.parquet") if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def split_of(path: Path) -> str:
    """The split a shard belongs to, from its parent folder or its file name."""
    if path.parent.name.lower() in SPLIT_NAMES:
        return path.parent.name.lower()
    m = _SHARD.match(path.stem)
    if m and m.group("split").lower() in SPLIT_NAMES:
        return m.group("split").lower()
    return NO_SPLIT


def hf_features(pf: pq.ParquetFile) -> dict:
    """The Hugging Face `features` dict stored in a shard's schema metadata (empty if absent)."""
    meta = pf.schema_arrow.metadata or {}
    raw = meta.get(b"huggingface")
    if not raw:
        return {}
    try:
        return json.loads(raw).get("info", {}).get("features", {}) or {}
    except (ValueError, AttributeError):
        return {}


class ParquetSource(DataSource):
    """A folder (or file) of parquet shards in one of the known row schemas."""

    def __init__(self, spec: str, root: Path, split: str | None = None) -> None:
        super().__init__(spec, split)
        self.root = root
        files = parquet_files(root)
        if not files:
            raise FileNotFoundError(f"no .parquet files under {root}")
        self._files: dict[str, list[Path]] = {}
        for f in files:
            self._files.setdefault(split_of(f), []).append(f)
        first = pq.ParquetFile(files[0])
        self.schema: RowSchema = detect_schema(first.schema_arrow.names, hf_features(first))
        self.format = self.schema.name

    def splits(self) -> list[str]:
        order = {name: i for i, name in enumerate(SPLIT_NAMES)}
        return sorted(self._files, key=lambda s: (order.get(s, len(order)), s))

    def count(self, split: str) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self._files.get(split, []))

    def files(self, split: str) -> list[Path]:
        return list(self._files.get(split, []))

    def _iter_split(self, split: str) -> Iterator[Sample]:
        for f in self._files.get(split, []):
            yield from self.iter_file(f, split)

    def iter_file(self, f: Path, split: str) -> Iterator[Sample]:
        pf = pq.ParquetFile(f)
        # Each shard is checked on its own: a mixed folder must not be read with the wrong adapter.
        schema = detect_schema(pf.schema_arrow.names, hf_features(pf))
        rel = _rel(f, self.root)
        row = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=schema.columns):
            for record in batch.to_pylist():
                where = f"{rel}#row={row}"
                yield schema.to_sample(record, key=where, split=split, where=where, source_id=self.spec)
                row += 1

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        # Shard names, sizes and row counts identify a published dataset without reading pixels.
        for f in self._files.get(split, []):
            md = pq.ParquetFile(f).metadata
            yield f"{_rel(f, self.root)}|{f.stat().st_size}|{md.num_rows}"


def _rel(path: Path, root: Path) -> str:
    if root.is_file():
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
