"""What a file's container holds, read from its headers and chunks without decoding any pixel.

PNG chunks, JPEG segments and WebP (RIFF) chunks are walked here once per file; every reader then
looks at the same `Container` (text chunks, EXIF fields, the XMP packet, whether a C2PA/JUMBF box
is present, the pixel size). Every length field comes from an untrusted file, so each is checked
against the bytes actually present, and text larger than `MAX_TEXT_BYTES` is skipped with a note
instead of being decoded (a 50 MB iTXt chunk costs no more than its own bytes).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_BYTES = 8 * 1024 * 1024  # a ComfyUI workflow is hundreds of KB; nothing real comes close
PNG_SIG = b"\x89PNG\r\n\x1a\n"
XMP_JPEG_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_SIG = b"Exif\x00\x00"
# EXIF tags generator readers use (TIFF IFD0 and the Exif sub-IFD).
EXIF_FIELDS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
               0x013B: "Artist", 0x8298: "Copyright"}
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286


@dataclass
class Container:
    """The metadata a file carries, as found in its container (never pixels)."""

    format: str = "unknown"
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False
    text: dict[str, str] = field(default_factory=dict)    # PNG tEXt/zTXt/iTXt keyword -> text; JPEG "Comment"
    exif: dict[str, str] = field(default_factory=dict)    # EXIF field name (EXIF_FIELDS + "UserComment") -> text
    xmp: str | None = None
    c2pa_box: bool = False                                 # a JUMBF/C2PA store is embedded (caBX, APP11, C2PA chunk)
    notes: list[str] = field(default_factory=list)         # what was skipped or malformed, for the record

    @property
    def size(self) -> tuple[int, int] | None:
        return (self.width, self.height) if self.width and self.height else None


def read_container(data: bytes) -> Container:
    """Walk the container of `data`. Never raises for malformed input: problems become notes."""
    c = Container()
    try:
        if data.startswith(PNG_SIG):
            c.format = "PNG"
            _walk_png(data, c)
        elif data[:3] == b"\xff\xd8\xff":
            c.format = "JPEG"
            _walk_jpeg(data, c)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            c.format = "WEBP"
            _walk_webp(data, c)
        else:
            _other_format(data, c)
    except Exception as exc:  # noqa: BLE001 - a malformed container is a note, never a crash
        from fakescope.data.decode import describe_exception  # the per-file wording, without object addresses

        c.notes.append(f"container: {describe_exception(exc)}")
    return c


# ---------------------------------------------------------------- PNG


def _walk_png(data: bytes, c: Container) -> None:
    pos, n = len(PNG_SIG), len(data)
    while pos + 8 <= n:
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body_start, body_end = pos + 8, pos + 8 + length
        if ctype == b"caBX":
            c.c2pa_box = True  # even when cut short: the C2PA reader reports what is wrong with it
        if body_end > n:
            c.notes.append(f"PNG chunk {ctype!r} truncated ({length} bytes announced, {n - body_start} present)")
            break
        if ctype == b"IHDR" and length >= 13:
            c.width, c.height, _, color_type = struct.unpack(">IIBB", data[body_start:body_start + 10])
            c.has_alpha = color_type in (4, 6)
        elif ctype == b"tRNS":
            c.has_alpha = True
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            if length > MAX_TEXT_BYTES:
                c.notes.append(f"PNG {ctype.decode()} chunk of {length} bytes skipped (limit {MAX_TEXT_BYTES})")
            else:
                _png_text(ctype, data[body_start:body_end], c)
        elif ctype == b"eXIf":
            _exif(data[body_start:body_end], c)
        elif ctype == b"IEND":
            break
        pos = body_end + 4  # skip the CRC


def _png_text(ctype: bytes, body: bytes, c: Container) -> None:
    key, sep, rest = body.partition(b"\x00")
    if not sep:
        c.notes.append(f"PNG {ctype.decode()} chunk without a keyword separator")
        return
    keyword = key.decode("latin-1")
    if ctype == b"tEXt":
        text = rest.decode("latin-1")
    elif ctype == b"zTXt":
        text = _inflate(rest[1:], c, keyword).decode("latin-1")
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        flag = rest[0] if rest else 0
        parts = rest[2:].split(b"\x00", 2)
        payload = parts[2] if len(parts) == 3 else b""
        text = (_inflate(payload, c, keyword) if flag else payload).decode("utf-8", "replace")
    if keyword == "XML:com.adobe.xmp":
        c.xmp = text
    else:
        c.text[keyword] = text


def _inflate(payload: bytes, c: Container, what: str) -> bytes:
    """zlib-decompress with a ceiling: a small compressed chunk must not expand without limit."""
    d = zlib.decompressobj()
    out = d.decompress(payload, MAX_TEXT_BYTES)
    if d.unconsumed_tail:
        c.notes.append(f"compressed text {what!r} expands past {MAX_TEXT_BYTES} bytes: cut there")
    return out


# ---------------------------------------------------------------- JPEG


def _walk_jpeg(data: bytes, c: Container) -> None:
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            c.notes.append(f"JPEG: no marker at byte {pos}")
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no metadata after the header
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xEB and b"jumb" in body[:32]:
            c.c2pa_box = True  # even when cut short: the C2PA reader reports what is wrong with it
        if length < 2 or pos + 2 + length > n:
            c.notes.append(f"JPEG segment 0x{marker:02X} truncated")
            break
        if marker == 0xE1 and body.startswith(EXIF_SIG):
            _exif(body[len(EXIF_SIG):], c)
        elif marker == 0xE1 and body.startswith(XMP_JPEG_SIG):
            c.xmp = body[len(XMP_JPEG_SIG):].decode("utf-8", "replace")
        elif marker == 0xFE:
            c.text.setdefault("Comment", body.decode("utf-8", "replace"))
        elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF) and len(body) >= 5:
            c.height, c.width = struct.unpack(">HH", body[1:5])
        pos += 2 + length


# ---------------------------------------------------------------- WebP


def _walk_webp(data: bytes, c: Container) -> None:
    pos, n = 12, len(data)
    while pos + 8 <= n:
        ctype, length = struct.unpack("<4sI", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if pos + 8 + length > n:
            c.notes.append(f"WebP chunk {ctype!r} truncated")
            break
        if ctype == b"VP8X" and length >= 10:
            c.has_alpha = bool(body[0] & 0x10)
            c.width = 1 + int.from_bytes(body[4:7], "little")
            c.height = 1 + int.from_bytes(body[7:10], "little")
        elif ctype == b"VP8L" and length >= 5 and c.width is None:
            bits = int.from_bytes(body[1:5], "little")
            c.width, c.height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
            c.has_alpha = bool((bits >> 28) & 1)
        elif ctype == b"VP8 " and length >= 10 and c.width is None:
            c.width = int.from_bytes(body[6:8], "little") & 0x3FFF
            c.height = int.from_bytes(body[8:10], "little") & 0x3FFF
        elif ctype == b"EXIF":
            _exif(body[len(EXIF_SIG):] if body.startswith(EXIF_SIG) else body, c)
        elif ctype == b"XMP ":
            c.xmp = body.decode("utf-8", "replace")
        elif ctype == b"C2PA":
            c.c2pa_box = True
        pos += 8 + length + (length & 1)  # RIFF chunks are padded to even sizes


# ---------------------------------------------------------------- other formats and EXIF


def _other_format(data: bytes, c: Container) -> None:
    """Formats without a walker here (TIFF, AVIF, HEIC/HEIF, GIF...): Pillow reads header and EXIF lazily.

    HEIC/HEIF and AVIF keep EXIF and XMP in ISO-BMFF metadata items, which their plugins hand over
    as `getexif()` and `info["xmp"]`: the same fields the JPEG walk fills."""
    from PIL import Image

    from fakescope.data import formats  # noqa: F401 - the HEIC/HEIF (and AVIF) plugins, registered

    with Image.open(io.BytesIO(data)) as im:
        c.format = im.format or "unknown"
        c.width, c.height = im.size
        c.has_alpha = "A" in im.getbands()
        for k, v in im.info.items():
            if isinstance(v, str) and len(v) <= MAX_TEXT_BYTES:
                c.text[k] = v
        xmp = im.info.get("xmp")
        if isinstance(xmp, (bytes, str)):
            c.xmp = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
        exif = im.getexif()
        if exif:
            _exif_fields(exif, c)
    c.c2pa_box = b"jumb" in data[:1 << 20] and b"c2pa" in data[:1 << 20]


def _exif(tiff: bytes, c: Container) -> None:
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(tiff)
    except Exception as exc:  # noqa: BLE001 - a broken EXIF block is a note
        c.notes.append(f"EXIF unreadable: {type(exc).__name__}: {exc}")
        return
    _exif_fields(exif, c)


def _exif_fields(exif: Any, c: Container) -> None:
    for tag, name in EXIF_FIELDS.items():
        value = exif.get(tag)
        if value is not None:
            c.exif[name] = _exif_text(value)
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception as exc:  # noqa: BLE001
        c.notes.append(f"EXIF sub-IFD unreadable: {type(exc).__name__}: {exc}")
        return
    comment = sub.get(USER_COMMENT)
    if comment is not None:
        c.exif["UserComment"] = decode_user_comment(comment)


def _exif_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("utf-8", "replace")
    return str(value).rstrip("\x00")


def decode_user_comment(raw: Any) -> str:
    """EXIF UserComment: an 8-byte character-code prefix, then the text. A1111 writes
    'UNICODE\\0' + UTF-16 (big-endian per piexif, though some writers use little-endian); broken
    UTF-16 is replaced, never fatal."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes):
        return str(raw)
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        if len(body) % 2:
            body = body[:-1]
        # Pick the byte order by where the zero bytes of ASCII text fall.
        be = body[0:200:2].count(0) >= body[1:200:2].count(0)
        return body.decode("utf-16-be" if be else "utf-16-le", "replace").rstrip("\x00")
    if prefix in (b"ASCII\x00\x00\x00", b"\x00" * 8, b"JIS\x00\x00\x00\x00\x00"):
        return body.rstrip(b"\x00").decode("utf-8", "replace")
    return raw.rstrip(b"\x00").decode("utf-8", "replace")
