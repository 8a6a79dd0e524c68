"""Generate the awkward inputs the data layer must survive, from one real image.

Used by the tests and the benchmarks: empty, truncated, mislabelled-text, decompression-bomb,
CMYK, 16-bit, palette (with and without transparency), alpha, grayscale and EXIF-rotated files.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# file name -> the reason fragment `decode_image` must report (None: must decode to RGB)
BAD_EXPECTED: dict[str, str] = {
    "empty.jpg": "empty file",
    "truncated.jpg": "truncated or corrupt",
    "truncated.png": "truncated or corrupt",
    "text_named.jpg": "not a recognised image format",
    "bomb.png": "image too large",
}
ODD_EXPECTED_SIZE: dict[str, tuple[int, int]] = {
    "cmyk.jpg": (64, 48),
    "gray16.png": (64, 48),
    "palette.png": (64, 48),
    "palette_alpha.png": (64, 48),
    "rgba.png": (64, 48),
    "gray.jpg": (64, 48),
    "exif_rotated.jpg": (48, 64),  # stored 64x48 with orientation 6 (rotate 90): shown 48x64
}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG header claiming width x height pixels with almost no data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_awkward_files(out: Path, base: Image.Image) -> dict[str, Path]:
    """Write every awkward file into `out` (created); returns name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    rgb = base.convert("RGB").resize((64, 48), Image.Resampling.BILINEAR)
    jpeg = _encode(rgb, "JPEG", quality=90)
    png = _encode(rgb, "PNG")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    gray16 = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    rgba = rgb.convert("RGBA")
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[:, :32] = 0  # left half fully transparent: must come out white
    rgba.putalpha(Image.fromarray(alpha))
    pal_alpha = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    files: dict[str, bytes] = {
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "text_named.jpg": b"this is a text file, not a JPEG\n" * 4,
        "bomb.png": bomb_png(),
        "cmyk.jpg": _encode(rgb.convert("CMYK"), "JPEG", quality=95),
        "gray16.png": _encode(Image.fromarray(gray16), "PNG"),
        "palette.png": _encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), "PNG"),
        "palette_alpha.png": _encode(pal_alpha, "PNG", transparency=0),
        "rgba.png": _encode(rgba, "PNG"),
        "gray.jpg": _encode(rgb.convert("L"), "JPEG", quality=95),
        "exif_rotated.jpg": _encode(rgb, "JPEG", quality=95, exif=exif),
    }
    paths = {}
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths[name] = out / name
    return paths
