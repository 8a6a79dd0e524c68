"""The one sample schema every reader produces, and the base class of readers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image

from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image, read_file_bytes

REAL, FAKE = 0, 1
LABEL_NAMES = ("real", "fake")
NO_SPLIT = "all"


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled image, not yet decoded.

    Plain data (picklable), so samples cross DataLoader workers, DDP ranks and Ray tasks.
    The encoded bytes are either held (`data`, parquet rows) or read on demand from `path`.
    """

    key: str  # unique within its source: relative path, or "<shard file>#<row>"
    label: int | None  # 0 real, 1 fake; None when the source has no label
    generator: str | None  # canonical generator name; None for real images
    split: str  # "train", "test", "val", ... or "all" for sources without splits
    origin: str  # where it came from: absolute file path, or "<parquet file>#row=<n> (<original path>)"
    source_id: str  # the source spec this sample was read from
    subset: str | None = None  # the group that pairs reals with fakes (GenImage subset, CNNDetection folder)
    family: str | None = None  # the generator family (Community Forensics' `architecture`)
    path: str | None = None
    data: bytes | None = field(default=None, repr=False)
    # A reason known before decoding that this sample is unusable (a manifest row with a bad label,
    # a file outside any label folder). Such samples are reported as skipped, never trained on.
    problem: str | None = None

    def read_bytes(self) -> bytes:
        """The encoded image bytes; ImageDecodeError when they cannot be read."""
        if self.problem is not None:
            raise ImageDecodeError(self.problem)
        if self.data is not None:
            if len(self.data) == 0:
                raise ImageDecodeError("empty image data (0 bytes)")
            return self.data
        if self.path is None:
            raise ImageDecodeError("sample has neither bytes nor a path")
        return read_file_bytes(self.path)

    def image(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
        """Decoded 8-bit RGB image; ImageDecodeError with a reason when unusable."""
        return decode_image(self.read_bytes(), max_pixels=max_pixels)


class DataSource:
    """A dataset in one of its native forms. Subclasses implement `_iter_split` and `splits`.

    Iterating a source yields `Sample`s one at a time; no reader holds the dataset in memory.
    """

    format: str = "unknown"

    def __init__(self, spec: str, split: str | None = None) -> None:
        self.spec = spec
        self.selected_split = split

    def splits(self) -> list[str]:
        raise NotImplementedError

    def _iter_split(self, split: str) -> Iterator[Sample]:
        raise NotImplementedError

    def count(self, split: str) -> int | None:
        """Number of samples in `split` when known without reading images, else None."""
        return None

    def with_split(self, split: str | None) -> "DataSource":
        """The same source restricted to one split (None: every split)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.selected_split = split
        return clone

    def active_splits(self) -> list[str]:
        available = self.splits()
        if self.selected_split is None:
            return available
        if self.selected_split not in available:
            raise KeyError(
                f"split {self.selected_split!r} not in {self.spec} (available: {', '.join(available) or 'none'})"
            )
        return [self.selected_split]

    def __iter__(self) -> Iterator[Sample]:
        for split in self.active_splits():
            yield from self._iter_split(split)

    def __len__(self) -> int:
        counts = [self.count(s) for s in self.active_splits()]
        if any(c is None for c in counts):
            raise TypeError(f"{self.format} source does not know its length without reading it")
        return sum(c for c in counts if c is not None)

    def fingerprint(self) -> str:
        """A stable identity of the data (files, sizes, rows), cheap to compute: no pixel reads."""
        h = hashlib.sha256()
        h.update(f"{self.format}\0".encode())
        for split in self.active_splits():
            h.update(f"split={split}\0".encode())
            for part in self._fingerprint_parts(split):
                h.update(part.encode())
                h.update(b"\0")
        return h.hexdigest()[:16]

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        for s in self._iter_split(split):
            yield f"{s.key}|{s.label}|{s.generator}"

    def __repr__(self) -> str:
        sel = f", split={self.selected_split!r}" if self.selected_split else ""
        return f"<{type(self).__name__} {self.format} {self.spec!r}{sel}>"
