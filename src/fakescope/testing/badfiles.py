"""Generate the awkward inputs the data layer must survive, from one real image.

Used by the tests and the benchmarks: empty, truncated, mislabelled-text, decompression-bomb,
CMYK, 16-bit, palette (with and without transparency), alpha, grayscale and EXIF-rotated files,
plus the decoder failures seen in real-world corpora that escaped a narrow `except`: an ICNS icon
whose embedded PNG is a bomb (Pillow only learns the size inside `load()`) and DDS textures whose
pixel format Pillow does not implement (NotImplementedError from `open()`).
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
    "bomb_in_load.icns": "image too large",
    "dxgi93.dds": "NotImplementedError: Unimplemented DXGI format 93",
    "pfflags8.dds": "NotImplementedError: Unknown pixel format flags 8",
    "fourcc0.dds": "NotImplementedError: Unimplemented pixel format 0",
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


def icns_with_png(png: bytes) -> bytes:
    """A Mac OS icon holding `png` as its 512x512 slot (`ic09`): Pillow reports 512x512 at open and
    opens the embedded PNG (with its own size) only in `load()`."""
    entry = b"ic09" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


DDS_FOURCC, DDS_DX10 = 0x4, int.from_bytes(b"DX10", "little")


def dds_texture(pfflags: int, fourcc: int = 0, dxgi_format: int | None = None, size: int = 4) -> bytes:
    """A DirectDraw Surface header with the given pixel-format flags / FourCC / DXGI format, and
    a few zero bytes of pixel data."""
    pixel_format = struct.pack("<8I", 32, pfflags, fourcc, 0, 0, 0, 0, 0)
    header = (struct.pack("<6I", 0x1007, size, size, 0, 0, 0) + b"\0" * 44 + pixel_format
              + struct.pack("<5I", 0x1000, 0, 0, 0, 0))
    out = b"DDS " + struct.pack("<I", 4 + len(header)) + header
    if dxgi_format is not None:
        out += struct.pack("<5I", dxgi_format, 3, 0, 1, 0)  # DX10 extension: format, 2-D, 1 slice
    return out + b"\0" * 64


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
        "bomb_in_load.icns": icns_with_png(bomb_png()),
        "dxgi93.dds": dds_texture(DDS_FOURCC, DDS_DX10, dxgi_format=93),
        "pfflags8.dds": dds_texture(0x8),
        "fourcc0.dds": dds_texture(DDS_FOURCC, 0),
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
