"""One input on its way through the verdict pipeline: a `Case`, and how an input becomes one.

The file's bytes are read once: the provenance readers (the evidence stage) and the image decoder
both get the same bytes, so a path is opened a single time and a file that changes on disk cannot
give the evidence of one version and the pixels of another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from fakescope.data.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, open_image, read_file_bytes, to_rgb
from fakescope.data.sample import Sample
from fakescope.detect.inputs import InputProblem, describe_input, load_input, sample_bytes


@dataclass
class Answer:
    """A verdict with its reason; `answered_by` is "evidence:<source>", "model:<name@sha12>" or None."""

    verdict: str  # "fake" | "real" | "uncertain"
    reason: str
    answered_by: str | None = None


@dataclass
class Case:
    """Everything the stages know about one input; stages add to it, the last one answers."""

    item: Any
    name: str = ""
    data: bytes | None = None  # the encoded file (None for PIL images and arrays); dropped once read
    image: Image.Image | None = None  # 8-bit RGB, EXIF orientation applied
    facts: dict[str, Any] = field(default_factory=dict)  # width, height, format of the original file
    error: str | None = None
    evidence: Any = None  # fakescope.provenance.FileEvidence, when the evidence stage ran
    judgements: list[tuple[Any, Any]] = field(default_factory=list)  # (GuardedModel, ModelJudgement), in order
    decisive: bool = False  # a model answered fake/real (later models need not look)
    conflict: str | None = None  # why a decisive model answer was overruled
    answer: Answer | None = None

    @property
    def pixels(self) -> int:
        return self.image.size[0] * self.image.size[1] if self.image is not None else 0


def input_bytes(item: Any) -> bytes | None:
    """The encoded bytes of an input that has them (path, bytes, dataset row); None otherwise."""
    if isinstance(item, (str, os.PathLike)):
        if Path(item).is_dir():
            raise ImageDecodeError("is a directory")
        return read_file_bytes(item)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, Sample):
        return sample_bytes(item)
    if isinstance(item, InputProblem):
        raise ImageDecodeError(item.reason)
    return None


def open_case(item: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> Case:
    """Read and decode one input; any failure becomes the case's error, never an exception."""
    case = Case(item, name=describe_input(item))
    try:
        case.data = input_bytes(item)
        if case.data is not None:
            raw = open_image(case.data, max_pixels=max_pixels)
            fmt = raw.format
            case.image = to_rgb(raw)
        else:
            fmt = getattr(item, "format", None) if isinstance(item, Image.Image) else None
            case.image = load_input(item, max_pixels=max_pixels)
        case.facts = {"width": case.image.size[0], "height": case.image.size[1], "format": fmt}
    except ImageDecodeError as exc:
        case.error = exc.reason
    except Exception as exc:  # noqa: BLE001 - a decoder bug on hostile input stays this file's problem
        case.error = f"cannot decode image: {type(exc).__name__}: {exc}"
    return case
