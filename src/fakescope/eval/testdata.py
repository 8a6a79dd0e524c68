"""Which images an evaluation tests on: the split (a test split unless told otherwise) and the
reference a test set is de-duplicated against. Light on imports: the CLI checks these before
loading torch, so a mistyped split or path answers at once.
"""

from __future__ import annotations

from fakescope.data import DataSource, open_source
from fakescope.data.parquet import SPLIT_NAMES
from fakescope.errors import UserError

TEST_SPLIT_PREFERENCE = ("test", "val", "validation", "valid", "eval", "dev")


def pick_split(source: DataSource, requested: str | None) -> str:
    splits = source.splits()
    if requested is not None:
        if requested not in splits:
            raise UserError(f"{source.spec}: no split {requested!r} (available: {', '.join(splits) or 'none'})")
        return requested
    for name in TEST_SPLIT_PREFERENCE:
        if name in splits:
            return name
    if len(splits) == 1:
        return splits[0]
    raise UserError(f"{source.spec} has splits {splits} and none is a test split: choose one with --split")


def open_reference(spec: str) -> DataSource:
    """`SOURCE[:SPLIT]` for --dedup-against (a trailing `:name` is a split when it names one)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and head != "hf" and tail.lower() in (*SPLIT_NAMES, "all"):
        return open_source(head, split=tail.lower())
    return open_source(spec)
