"""The registry of evidence readers: adding a source is one new module in `readers/` that
decorates its function with `@reader(...)`.

A reader takes a `ReadContext` (the file's bytes, its walked container, options, and pixels on
demand) and returns evidence items (`record.item`). Readers marked `pixels=True` decode the image
and only run when asked to (watermarks, or a PNG/WebP with an alpha channel for NovelAI's copy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .container import Container

Reader = Callable[["ReadContext"], list[dict[str, Any]]]


@dataclass
class ReadContext:
    data: bytes
    container: Container
    name: str = ""
    watermarks: bool = False
    c2pa_trust: list[str] | None = None
    _image: Image.Image | None = None
    _decoded: dict[str, Any] = field(default_factory=dict)

    def image(self) -> Image.Image:
        """The decoded image in its own mode (alpha kept), decoded at most once per file."""
        if self._image is None:
            from fakescope.data.decode import open_image

            self._image = open_image(self.data)
        return self._image

    def texts(self) -> dict[str, str]:
        """PNG text chunks and EXIF fields in one dict (PNG keywords win over EXIF names)."""
        if "texts" not in self._decoded:
            merged = {**{f"exif:{k}": v for k, v in self.container.exif.items()}, **self.container.text}
            self._decoded["texts"] = merged
        return self._decoded["texts"]


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    func: Reader
    pixels: bool = False  # needs decoded pixels


READERS: dict[str, ReaderSpec] = {}


def reader(name: str, *, pixels: bool = False) -> Callable[[Reader], Reader]:
    def register(func: Reader) -> Reader:
        if name in READERS:
            raise ValueError(f"evidence reader {name!r} registered twice")
        READERS[name] = ReaderSpec(name, func, pixels)
        return func

    return register
