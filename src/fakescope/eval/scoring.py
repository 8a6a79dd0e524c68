"""Score a test set under several conditions in one streaming pass: one row of scores per image.

Each image is read and decoded once; its format is sniffed from the stored bytes (the format-bias
check needs it), the optional format alignment is applied, and then every condition's copy goes
through `fakescope.inference.score_items` (the one inference path) as its own item. Nothing but
the finished rows (numbers and names) outlives a batch, so memory does not grow with the dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from fakescope.data import FAKE, REAL, DataSource, ImageDecodeError, Sample
from fakescope.data.decode import decode_image, guard_file, sniff_format
from fakescope.inference import Backend, Scored, score_items
from fakescope.data.selection import key_hash
from fakescope.utils.rowlog import ORDER_FIELD

from .conditions import Alignment, Condition

SUBSET_SALT = "fakescope-eval"


@dataclass
class Entry:
    """One test image on its way through the conditions (bytes and pixels dropped once scored)."""

    sample: Sample
    data: bytes | None = None
    format: str | None = None
    error: str | None = None
    image: Image.Image | None = None
    evidence: dict[str, Any] | None = None  # eval/evidence.py: what the file declares (row columns)
    order: int | None = None  # position in the source's listing (rows are read back in this order)


@dataclass(frozen=True)
class Item:
    entry: Entry
    condition: Condition
    last: bool


def score_column(condition: str) -> str:
    return f"score:{condition}"


def generator_column(condition: str) -> str:
    return f"pred_generator:{condition}"


def base_row(sample: Sample) -> dict[str, Any]:
    return {"key": sample.key, "path": sample.origin, "split": sample.split, "label": sample.label,
            "generator": sample.generator, "subset": sample.subset, "family": sample.family}


def subset_cutoff(source: DataSource, n: int) -> int | None:
    """The key-hash cut-off that keeps a uniform subset of `n` usable samples (one pass, no decoding)."""
    hashes = [key_hash(s.key, SUBSET_SALT) for s in source if s.problem is None and s.label in (REAL, FAKE)]
    if len(hashes) <= n:
        return None
    hashes.sort()
    return hashes[n - 1]


def content_hashes(source: DataSource) -> set[bytes]:
    """SHA-256 digests of every readable sample's stored bytes (for --dedup-against)."""
    out: set[bytes] = set()
    for s in source:
        try:
            out.add(hashlib.sha256(s.read_bytes()).digest())
        except ImageDecodeError:
            continue
    return out


@dataclass
class PassCounts:
    """What the pass saw besides the rows: images left out before scoring, and why."""

    seen: int = 0
    resumed: int = 0
    outside_subset: int = 0
    duplicates: int = 0
    duplicates_by_label: dict[int, int] | None = None
    # Per condition, images the operation left as they were (e.g. resize:64 on a 32 px image:
    # down-sampling never up-samples), so a flat robustness line is read for what it is.
    unchanged: dict[str, int] = field(default_factory=dict)


def entries(source: DataSource, counts: PassCounts, *, done: set[str] | frozenset[str] = frozenset(),
            cutoff: int | None = None, exclude_hashes: set[bytes] | None = None,
            part: tuple[int, int] | None = None) -> Iterator[Entry]:
    """Samples to score, with their bytes read and format sniffed; unusable ones carry their reason.

    `part=(k, P)`: only every P-th sample from the k-th (a Ray read task's share), the others not
    even counted, so the tasks' counts add up to one whole pass."""
    counts.duplicates_by_label = counts.duplicates_by_label or {REAL: 0, FAKE: 0}
    for order, sample in enumerate(source):
        if part is not None and order % part[1] != part[0]:
            continue
        counts.seen += 1
        if cutoff is not None and key_hash(sample.key, SUBSET_SALT) > cutoff:
            counts.outside_subset += 1
            continue
        if sample.key in done:
            counts.resumed += 1
            continue
        entry = Entry(sample, order=order)
        if sample.label not in (REAL, FAKE) and sample.problem is None:
            entry.error = "no real/fake label"
        else:
            try:
                entry.data = sample.read_bytes()
            except ImageDecodeError as exc:
                entry.error = exc.reason
        if entry.data is not None:
            if exclude_hashes is not None and hashlib.sha256(entry.data).digest() in exclude_hashes:
                counts.duplicates += 1
                counts.duplicates_by_label[int(sample.label)] = counts.duplicates_by_label.get(int(sample.label), 0) + 1
                continue
            entry.format = sniff_format(entry.data)
        yield entry


def _items(stream: Iterable[Entry], conditions: list[Condition]) -> Iterator[Item]:
    last = len(conditions) - 1
    for entry in stream:
        for i, cond in enumerate(conditions):
            yield Item(entry, cond, i == last)


def _loader(alignment: Alignment | None) -> Callable[[Item], Image.Image]:
    def load(item: Item) -> Image.Image:
        entry = item.entry
        if entry.error is not None:
            raise ImageDecodeError(entry.error)
        if entry.image is None:
            try:
                im = decode_image(entry.data or b"")
                with guard_file("format alignment failed"):
                    entry.image = alignment.apply(im) if alignment is not None else im
            except ImageDecodeError as exc:
                entry.error = exc.reason
                raise
            finally:
                entry.data = None  # decoded (or failed) once: the bytes are no longer needed
        im = entry.image
        if item.last:
            entry.image = None
        return im

    return load


def _transformer(counts: PassCounts | None) -> Callable[[Image.Image, Item], Image.Image]:
    def transform(im: Image.Image, item: Item) -> Image.Image:
        out = item.condition.apply(im, item.entry.sample.key)
        if counts is not None and out is im and item.condition.kind is not None:
            counts.unchanged[item.condition.name] = counts.unchanged.get(item.condition.name, 0) + 1
        return out

    return transform


def score_rows(backend: Backend, stream: Iterable[Entry], conditions: list[Condition], *,
               alignment: Alignment | None = None, batch_size: int = 64, counts: PassCounts | None = None,
               on_row: Callable[[dict[str, Any]], None] | None = None, with_order: bool = False) -> Iterator[dict[str, Any]]:
    """One finished row per entry, in input order: sample fields, format, size, a score per condition
    (None where that condition failed) and, with a generator head, the predicted generator;
    `with_order`: also the entry's position in the listing (`order`, for the resumable row log)."""
    generators = list(backend.config.generators) if backend.config.has_generator else []
    row: dict[str, Any] | None = None
    errors: list[str] = []
    results = score_items(backend, _items(stream, conditions), _loader(alignment), batch_size=batch_size,
                          transform=_transformer(counts))
    for scored in results:
        item: Item = scored.item
        if row is None:
            row = _start_row(item.entry, scored)
            if with_order:
                row[ORDER_FIELD] = item.entry.order
            errors = []
        _fill(row, item.condition.name, scored, generators, errors, item.entry.error)
        if item.last:
            if errors:
                row["error"] = "; ".join(dict.fromkeys(errors))
            if on_row is not None:
                on_row(row)
            yield row
            row = None


def _start_row(entry: Entry, scored: Scored) -> dict[str, Any]:
    row = base_row(entry.sample)
    row["format"] = entry.format
    row["width"], row["height"] = scored.size if scored.size is not None else (None, None)
    row["error"] = None
    row.update(entry.evidence or {})
    return row


def _fill(row: dict[str, Any], condition: str, scored: Scored, generators: list[str], errors: list[str],
          image_error: str | None) -> None:
    row[score_column(condition)] = scored.score
    if row["width"] is None and scored.size is not None:
        row["width"], row["height"] = scored.size
    if scored.error is not None:
        # An unreadable image fails every condition the same way: say it once, without a condition.
        errors.append(scored.error if scored.error == image_error else f"{condition}: {scored.error}")
    if generators:
        probs = scored.generator_probs
        row[generator_column(condition)] = generators[int(probs.argmax())] if probs is not None else None
