"""Table row schemas: how a parquet / hub row becomes a `Sample`.

One adapter per published column layout. The native parquet reader (pyarrow) and the hub reader
(`datasets.load_dataset`) both pass rows through the same adapter, so the hub path is tested by
pointing it at local parquet copies with the same schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .generators import REAL_CLASS, canonical_generator
from .sample import FAKE, REAL, Sample

_REAL_LABELS = {"real", "nature", "natural", "0_real", "authentic", "0", "false"}
_FAKE_LABELS = {"fake", "ai", "synthetic", "generated", "1_fake", "1", "true"}


def label_from_name(name: str) -> int | None:
    """0/1 from a label name ("real", "nature", "fake", "ai", "0", "1", ...); None if not understood."""
    key = str(name).strip().lower()
    if key in _REAL_LABELS:
        return REAL
    if key in _FAKE_LABELS:
        return FAKE
    return None


def class_names(features: Mapping[str, Any], column: str) -> list[str] | None:
    """ClassLabel names of `column` from a Hugging Face features dict, if it is a ClassLabel."""
    feat = features.get(column)
    if isinstance(feat, Mapping) and feat.get("_type") == "ClassLabel":
        return list(feat.get("names") or [])
    return None


def _resolve_label(value: Any, names: Sequence[str] | None) -> tuple[int | None, str | None]:
    """(label, problem) for a raw label cell: a ClassLabel index, a 0/1 int or a label name."""
    if value is None:
        return None, "missing label"
    if isinstance(value, (bool, int)) and not isinstance(value, str):
        idx = int(value)
        if names:
            if not 0 <= idx < len(names):
                return None, f"label index {idx} outside ClassLabel names {list(names)}"
            lab = label_from_name(names[idx])
            if lab is None:
                return None, f"label name {names[idx]!r} is neither real nor fake"
            return lab, None
        if idx in (REAL, FAKE):
            return idx, None
        return None, f"label {idx} is not 0 (real) or 1 (fake)"
    lab = label_from_name(str(value))
    if lab is None:
        return None, f"label {value!r} is neither real nor fake"
    return lab, None


def _resolve_name(value: Any, names: Sequence[str] | None) -> str | None:
    if value is None:
        return None
    if names and isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else None
    return str(value)


@dataclass(frozen=True)
class RowSchema:
    """A column layout: which column holds the image, the label, the generator and the family."""

    name: str  # reported as the source's format
    image_column: str
    label_column: str
    generator_column: str | None
    family_column: str | None
    label_names: tuple[str, ...] | None
    generator_names: tuple[str, ...] | None
    name_column: str | None = None  # a column with the original file name, if any

    @property
    def columns(self) -> list[str]:
        cols = [self.image_column, self.label_column, self.generator_column, self.family_column, self.name_column]
        return [c for c in cols if c]

    def to_sample(self, row: Mapping[str, Any], *, key: str, split: str, where: str, source_id: str) -> Sample:
        data, orig_path = _image_cell(row.get(self.image_column))
        label, problem = _resolve_label(row.get(self.label_column), self.label_names)
        raw_gen = _resolve_name(row.get(self.generator_column), self.generator_names) if self.generator_column else None
        generator, subset = _generator_and_subset(raw_gen, label)
        family = row.get(self.family_column) if self.family_column else None
        if self.name_column and row.get(self.name_column):
            orig_path = orig_path or str(row[self.name_column])
        origin = f"{where} ({orig_path})" if orig_path else where
        if data is None and problem is None:
            problem = "row has no image bytes"
        return Sample(
            key=key,
            label=label,
            generator=generator if label == FAKE else None,
            split=split,
            origin=origin,
            source_id=source_id,
            subset=subset,
            family=str(family) if family is not None else None,
            path=None,
            data=data if data is not None else b"",
            problem=problem,
        )


_PAIR = re.compile(r"^real\s*\((?P<gen>.+?)\s+pair\)$", re.IGNORECASE)


def _generator_and_subset(raw: str | None, label: int | None) -> tuple[str | None, str | None]:
    """Canonical generator and the subset that pairs reals with fakes.

    Community Forensics names a real image `real (<generator> pair)`: the generator whose set it
    belongs to, which the cross-generator protocol needs; it is not a generator of that image.
    """
    if raw is None:
        return None, None
    m = _PAIR.match(raw.strip())
    if m:
        return None, canonical_generator(m.group("gen"))
    if raw.strip() == REAL_CLASS:
        return None, None
    gen = canonical_generator(raw)
    return gen, gen


def _image_cell(cell: Any) -> tuple[bytes | None, str | None]:
    """(bytes, original path) from an Image struct {bytes, path} or a raw binary cell."""
    if cell is None:
        return None, None
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell), None
    if isinstance(cell, Mapping):
        raw = cell.get("bytes")
        return (bytes(raw) if raw is not None else None), cell.get("path")
    return None, None


def detect_schema(columns: Sequence[str], features: Mapping[str, Any]) -> RowSchema:
    """The adapter for a table with these columns; ValueError naming the columns when none fits."""
    cols = set(columns)
    if {"image_data", "label"} <= cols:
        # Community Forensics: raw bytes, int label, free-text generator and family names.
        return RowSchema(
            name="commfor-parquet",
            image_column="image_data",
            label_column="label",
            generator_column="model_name" if "model_name" in cols else None,
            family_column="architecture" if "architecture" in cols else None,
            label_names=_tuple(class_names(features, "label")),
            generator_names=None,
            name_column="image_name" if "image_name" in cols else None,
        )
    if {"image", "label"} <= cols:
        # Hugging Face Image feature (Tiny GenImage, the CIFAKE parquet copies).
        gen_col = next((c for c in ("generator", "model_name", "model") if c in cols), None)
        return RowSchema(
            name="hf-parquet",
            image_column="image",
            label_column="label",
            generator_column=gen_col,
            family_column="architecture" if "architecture" in cols else None,
            label_names=_tuple(class_names(features, "label")),
            generator_names=_tuple(class_names(features, gen_col)) if gen_col else None,
        )
    raise ValueError(
        "unknown table schema: expected columns (image, label[, generator]) or "
        f"(image_data, label, model_name[, architecture]); found {sorted(cols)}"
    )


def _tuple(x: list[str] | None) -> tuple[str, ...] | None:
    return tuple(x) if x else None
