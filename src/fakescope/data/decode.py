"""Safe, consistent image decoding.

Every image that enters fakescope (training, evaluation, detection, the service) goes through
`decode_image`, so a bad file behaves the same everywhere: it raises `ImageDecodeError` with a
one-line reason, and a good one comes back as an 8-bit RGB PIL image, EXIF orientation applied.

The per-file boundary is `guard_file`: every step that touches untrusted bytes (open, load, mode
conversion, EXIF transpose) runs inside it, so *any* `Exception` a decoder raises (Pillow plugins
raise NotImplementedError, struct.error, IndexError, DecompressionBombError from `load()`, ...)
becomes this file's `ImageDecodeError` with the exception's class and message. `BaseException`s
that are not `Exception`s (KeyboardInterrupt, SystemExit) pass through: Ctrl-C still stops a run.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import formats  # noqa: F401 - registers the HEIC/HEIF (and AVIF) plugins before any open

# Pillow's own decompression-bomb threshold (~89.5 MP). Over it we refuse the image ourselves with
# a clear reason instead of relying on Pillow's warning (below 2x) or exception (above 2x).
DEFAULT_MAX_PIXELS = int(os.environ.get("FAKESCOPE_MAX_PIXELS", 89_478_485))
# Reading a multi-GB "image" into memory is how a bad file takes a run down; refuse before reading.
DEFAULT_MAX_BYTES = int(os.environ.get("FAKESCOPE_MAX_BYTES", 256 * 1024 * 1024))

# Transparent pixels are composited onto white, the way a viewer shows them, so that the colour
# stored under alpha=0 (often arbitrary) never reaches a detector.
ALPHA_BACKGROUND = (255, 255, 255)


class ImageDecodeError(ValueError):
    """An input that is not a usable image. `reason` is a short, user-facing explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Exceptions whose reason must keep a fixed opening, because callers map reasons to outcomes (the
# service answers "image too large" with 413, fakescope.serve.images). Everything else: class + message.
_REASON_OPENINGS: tuple[tuple[type[BaseException], str], ...] = (
    (Image.DecompressionBombError, "image too large (decompression bomb check)"),
    (Image.DecompressionBombWarning, "image too large (decompression bomb check)"),
    (MemoryError, "image too large (out of memory while decoding)"),
)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe_exception(exc: BaseException) -> str:
    """`ExcClass: message`, the way a per-file error names an unexpected decoder failure."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    # object addresses ("<PIL... object at 0x7f...>") would make the same file's error differ per run
    message = _ADDRESS.sub("", message)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@contextmanager
def guard_file(what: str = "cannot decode image") -> Iterator[None]:
    """The per-file boundary: any `Exception` raised inside becomes `ImageDecodeError`.

    `ImageDecodeError` passes unchanged; a decompression bomb or MemoryError reads "image too large
    (...)"; anything else reads "`what`: ExcClass: message". KeyboardInterrupt and SystemExit are
    not `Exception`s and propagate.
    """
    try:
        yield
    except ImageDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - this is the boundary: hostile input may raise anything
        for kind, opening in _REASON_OPENINGS:
            if isinstance(exc, kind):
                raise ImageDecodeError(f"{opening}: {describe_exception(exc)}") from None
        raise ImageDecodeError(f"{what}: {describe_exception(exc)}") from None


def read_file_bytes(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file for decoding, refusing missing, empty and oversized files with a clear reason."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise ImageDecodeError("file not found") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot read file: {exc.strerror or exc}") from None
    if not p.is_file():
        raise ImageDecodeError("not a regular file")
    if size == 0:
        raise ImageDecodeError("empty file (0 bytes)")
    if size > max_bytes:
        raise ImageDecodeError(f"file too large: {size} bytes > limit {max_bytes}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"cannot read file: {exc.strerror or exc}") from None


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open and fully load encoded image bytes without converting the mode.

    Raises ImageDecodeError for empty, unidentifiable, oversized or truncated/corrupt data.
    """
    if not data:
        raise ImageDecodeError("empty file (0 bytes)")
    # Pillow warns (not raises) between 1x and 2x its limit, in open and, for plugins that learn
    # the size only then (an ICNS embedding a PNG), in load: make every path one error.
    with guard_file("corrupt image header"), warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Plugins warn about what they skip in a damaged file ("Corrupt EXIF data", "Tag data larger
        # than file"): noise about untrusted input, not something a user can act on.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise _unidentified(data) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageDecodeError(f"corrupt image header: {exc}") from None
        _check_size(im, max_pixels)
        with guard_file(f"truncated or corrupt image data ({im.format})"):
            try:
                im.load()
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise ImageDecodeError(f"truncated or corrupt image data ({im.format}): {exc}") from None
        # A plugin may learn the true size only in load (ICNS reports its icon slot, then opens the
        # embedded PNG): check again, so a max_pixels below Pillow's own limit holds for every plugin.
        _check_size(im, max_pixels)
    return im


def _check_size(im: Image.Image, max_pixels: int) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"invalid image size {w}x{h}")
    if w * h > max_pixels:
        raise ImageDecodeError(f"image too large: {w}x{h} = {w * h} pixels > limit {max_pixels}")


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, the one representation detectors see.

    Raises ImageDecodeError (never anything else) when the image cannot be converted.
    """
    with guard_file(f"cannot convert {im.mode} image to RGB"):
        return _to_rgb(im)


def _to_rgb(im: Image.Image) -> Image.Image:
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a malformed EXIF block must not lose an otherwise good image
        pass
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's own I->RGB conversion clips to 255, which whitens 16-bit images; rescale instead.
        arr = np.asarray(im, dtype=np.float64)
        scale = 257.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0
        arr8 = np.clip(np.rint(arr / scale), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        top = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        arr8 = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode encoded bytes to an 8-bit RGB image (EXIF orientation applied) or raise ImageDecodeError."""
    with guard_file():
        return to_rgb(open_image(data, max_pixels=max_pixels))


# EXIF's Orientation tag: values 5-8 turn the picture a quarter, so the decoded width is the stored height.
EXIF_ORIENTATION = 0x0112


def header_size(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, str | None]:
    """(width, height, format) from the header alone, as `decode_image` will orient the pixels.

    Behind the per-file boundary: whatever a hostile header makes Pillow raise becomes
    ImageDecodeError, and a header announcing more than `max_pixels` is refused as `decode_image`
    refuses it (for every plugin, HEIC/AVIF included); no pixel is decoded.
    """
    if not data:
        raise ImageDecodeError("empty file (0 bytes)")
    with guard_file("cannot read image header"), warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise _unidentified(data) from None
        with im:
            _check_size(im, max_pixels)
            w, h = im.size
            try:
                turned = im.getexif().get(EXIF_ORIENTATION) in (5, 6, 7, 8)
            except Exception:  # noqa: BLE001 - a malformed EXIF block: the decoder ignores it too
                turned = False
            return (h, w, im.format) if turned else (w, h, im.format)


def sniff_format(data: bytes) -> str | None:
    """The container format Pillow sees in `data` ("JPEG", "PNG", ...), without decoding pixels."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.format
    except Exception:  # noqa: BLE001 - any failure means "not an image we know"
        return None


def _unidentified(data: bytes) -> ImageDecodeError:
    """Why Pillow recognised no format: a damaged HEIC/AVIF (its plugin refused the file and Pillow
    says only "cannot identify") is a corrupt image, anything else is not an image we know."""
    brand = image_brand(data)
    if brand is not None:
        return ImageDecodeError(f"truncated or corrupt image data (HEIF/AVIF container, brand {brand!r}): "
                                "no decoder could read it")
    return ImageDecodeError(f"not a recognised image format ({_describe_head(data)})")


def image_brand(data: bytes) -> str | None:
    """The major brand of an ISO-BMFF still-image file (HEIC, HEIF, AVIF), from its `ftyp` box."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1")
        return brand if brand in formats.ISOBMFF_IMAGE_BRANDS else None
    return None


def _describe_head(data: bytes) -> str:
    head = data[:16]
    if head[:1] in (b"{", b"[") or all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "content looks like text"
    return f"first bytes {head[:8].hex()}"
