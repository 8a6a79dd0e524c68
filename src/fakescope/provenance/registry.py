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
    given: Image.Image | None = None  # the caller's decoded image (any mode), reused when it will do
    cache: dict[str, Any] = field(default_factory=dict)  # values parsed once per file, shared by readers

    def image(self, alpha: bool = False) -> Image.Image:
        """The decoded image, decoded at most once per file. `alpha=True`: one that kept its alpha
        channel (a caller's RGB conversion has lost NovelAI's copy, so the file is decoded again)."""
        if self.given is not None and (not alpha or "A" in self.given.getbands()):
            return self.given
        if "image" not in self.cache:
            from fakescope.data.decode import open_image

            self.cache["image"] = open_image(self.data)
        return self.cache["image"]

    def texts(self) -> dict[str, str]:
        """PNG text chunks and EXIF fields in one dict (PNG keywords win over EXIF names)."""
        if "texts" not in self.cache:
            self.cache["texts"] = {**{f"exif:{k}": v for k, v in self.container.exif.items()}, **self.container.text}
        return self.cache["texts"]


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
