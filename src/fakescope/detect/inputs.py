"""What `Detector.predict` accepts: paths, bytes, PIL images and numpy arrays, all to 8-bit RGB.

Dataset rows (`fakescope.data.Sample`) and `InputProblem`s (a command-line input that names no
readable image) are accepted too, so that `fakescope detect` streams every kind of input through
the same `Detector.iter_predict` call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image

from fakescope.data.decode import (DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image, guard_file, read_file_bytes,
                                   to_rgb)
from fakescope.data.sample import Sample

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray, Sample]


@dataclass(frozen=True)
class InputProblem:
    """An input that yields no image (a missing file, a glob matching nothing), kept so that it
    gets its own error entry in the results, in order, instead of vanishing or stopping the run."""

    origin: str
    reason: str


def sample_bytes(sample: Sample) -> bytes:
    """A dataset row's encoded image. Detection needs no label, so a label problem is not an error."""
    if sample.data:
        return sample.data
    if sample.path is not None:
        return read_file_bytes(sample.path)
    raise ImageDecodeError(sample.problem or "row has no image bytes")


def describe_input(item: Any) -> str:
    """A short name for an input in outputs: the path, or the kind of object."""
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<bytes:{len(item)}>"
    if isinstance(item, Image.Image):
        return f"<PIL:{item.mode}:{item.size[0]}x{item.size[1]}>"
    if isinstance(item, np.ndarray):
        return f"<ndarray:{'x'.join(map(str, item.shape))}:{item.dtype}>"
    if isinstance(item, (Sample, InputProblem)):
        return item.origin
    return f"<{type(item).__name__}>"


def array_to_image(arr: np.ndarray) -> Image.Image:
    """HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA) arrays; uint8, or floats in [0, 1]."""
    a = np.asarray(arr)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ImageDecodeError(f"array of shape {a.shape} is not an image (expected HxW, HxWx3 or HxWx4)")
    if a.size == 0:
        raise ImageDecodeError("empty array")
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
            raise ImageDecodeError(f"array of dtype {a.dtype} with non-finite values is not an image")
        scale = 255.0 if float(a.max()) <= 1.0 else 1.0
        a = np.clip(np.rint(a.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(a))


def load_input(item: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Any accepted input -> 8-bit RGB PIL image, or ImageDecodeError with a reason (never another
    Exception: a caller's odd PIL image or array is as untrusted as a file)."""
    with guard_file():
        return _load_input(item, max_pixels)


def _load_input(item: Any, max_pixels: int) -> Image.Image:
    if isinstance(item, (str, os.PathLike)):
        if Path(item).is_dir():
            raise ImageDecodeError("is a directory")
        return decode_image(read_file_bytes(item), max_pixels=max_pixels)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return decode_image(bytes(item), max_pixels=max_pixels)
    if isinstance(item, Image.Image):
        if item.size[0] * item.size[1] > max_pixels:
            raise ImageDecodeError(f"image too large: {item.size[0]}x{item.size[1]} pixels > limit {max_pixels}")
        return to_rgb(item)
    if isinstance(item, np.ndarray):
        if item.ndim >= 2 and item.shape[0] * item.shape[1] > max_pixels:
            raise ImageDecodeError(f"image too large: {item.shape[1]}x{item.shape[0]} pixels > limit {max_pixels}")
        return to_rgb(array_to_image(item))
    if isinstance(item, Sample):
        return decode_image(sample_bytes(item), max_pixels=max_pixels)
    if isinstance(item, InputProblem):
        raise ImageDecodeError(item.reason)
    raise ImageDecodeError(f"unsupported input type {type(item).__name__}")
