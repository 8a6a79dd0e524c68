"""A seeded, structure-aware mutation fuzzer for image files (tests and `benchmarks/bench_fuzz.py`).

Seeds are real files from the shared data (CIFAKE JPEG, native-pool PNG, a ComfyUI PNG with large
text chunks, a C2PA JPEG with JUMBF segments, CIFAKE parquet-embedded JPEG bytes) plus WebP
re-encodings of them (the shared data holds no WebP). Mutators know the containers: JPEG
segments, PNG chunks and RIFF chunks, so truncation happens at structural boundaries, segments
are dropped and duplicated whole, CRCs are wrong while everything else is right, and header
dimensions are set huge (up to 2^31) with a valid CRC so that the file passes the first checks.

Every case is a pure function of (master seed, index): `make_case(seeds, master, i)` rebuilds case
i exactly, so a failure reported as `seed=M case=i` reproduces.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .badfiles import icns_with_png

HUGE_VALUES = (0, 1, 255, 32_767, 65_535, 65_536, 100_000, 1 << 24, (1 << 31) - 1, 1 << 31)


# Formats Pillow decodes by content besides JPEG/PNG/WebP, each with the file extension it is
# known by. A service or a folder scan meets them too (an upload is judged by content, not name),
# and their plugins are where decoder exceptions escaped narrow handlers (ICNS, DDS).
OTHER_FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    "DDS": (".dds", {}), "TIFF": (".tif", {"compression": "tiff_lzw"}), "GIF": (".gif", {}),
    "BMP": (".bmp", {}), "ICO": (".ico", {}), "TGA": (".tga", {}), "PCX": (".pcx", {}), "SGI": (".sgi", {}),
    "JPEG2000": (".jp2", {}), "QOI": (".qoi", {}),
}


@dataclass(frozen=True)
class Seed:
    name: str
    fmt: str  # "jpeg" | "png" | "webp" | a key of OTHER_FORMATS | "ICNS"
    data: bytes

    @property
    def suffix(self) -> str:
        known = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "ICNS": ".icns"}
        return known.get(self.fmt) or OTHER_FORMATS[self.fmt][0]


@dataclass(frozen=True)
class Case:
    master: int
    index: int
    seed: str
    mutators: tuple[str, ...]
    data: bytes
    suffix: str

    @property
    def case_id(self) -> str:
        return f"seed={self.master} case={self.index}"

    def describe(self) -> str:
        return f"{self.case_id} from {self.seed} via {'+'.join(self.mutators)} ({len(self.data)} bytes)"


# ---------------------------------------------------------------- the containers' structure

Span = tuple[int, int]  # [start, end) of one segment / chunk


def jpeg_segments(data: bytes) -> list[Span]:
    """Marker segments after SOI; each scan's entropy-coded data is part of its SOS segment."""
    spans: list[Span] = []
    i = 2
    n = len(data)
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xD9:  # EOI
            spans.append((i, i + 2))
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            spans.append((i, i + 2))
            i += 2
            continue
        end = i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:  # entropy data runs to the next marker that is not a stuffed 0 or a restart
            j = end
            while j + 1 < n and not (data[j] == 0xFF and data[j + 1] not in (0x00, *range(0xD0, 0xD8))):
                j += 1
            end = j
        spans.append((i, min(end, n)))
        i = end
    return spans


def png_chunks(data: bytes) -> list[Span]:
    spans: list[Span] = []
    i = 8
    while i + 12 <= len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        end = i + 12 + length
        spans.append((i, min(end, len(data))))
        i = end
    return spans


def riff_chunks(data: bytes) -> list[Span]:
    spans: list[Span] = []
    i = 12
    while i + 8 <= len(data):
        size = struct.unpack("<I", data[i + 4:i + 8])[0]
        end = i + 8 + size + (size & 1)
        spans.append((i, min(end, len(data))))
        i = end
    return spans


def blocks(data: bytes) -> list[Span]:
    """Containers without a parser here: 16-byte blocks over the header area, then the rest."""
    head = min(len(data), 256)
    return [(i, min(i + 16, head)) for i in range(0, head, 16)] + ([(head, len(data))] if len(data) > head else [])


_SEGMENTERS: dict[str, Callable[[bytes], list[Span]]] = {"jpeg": jpeg_segments, "png": png_chunks, "webp": riff_chunks}


def segments(data: bytes, fmt: str) -> list[Span]:
    return _SEGMENTERS.get(fmt, blocks)(data)


def _png_fix_crc(data: bytearray, start: int) -> None:
    length = struct.unpack(">I", data[start:start + 4])[0]
    body = bytes(data[start + 4:start + 8 + length])
    data[start + 8 + length:start + 12 + length] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _find(spans: list[Span], data: bytes, pred: Callable[[bytes, int], bool]) -> list[int]:
    return [s for s, _ in spans if pred(data, s)]


# ---------------------------------------------------------------- mutators: (data, fmt, rng) -> bytes

Mutator = Callable[[bytes, str, random.Random], bytes]


def bit_flips(data: bytes, fmt: str, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        pos = rng.randrange(len(out))
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def header_bytes(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Overwrite a few bytes in the first 256 (where headers live) with 0x00, 0xFF or noise."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randrange(min(len(out), 256))
        out[pos] = rng.choice((0x00, 0xFF, rng.randrange(256)))
    return bytes(out)


def truncate(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Cut at a segment/chunk boundary (or a few bytes either side of one)."""
    spans = segments(data, fmt)
    cuts = [s for s, _ in spans] + [e for _, e in spans] or [len(data) // 2]
    cut = rng.choice(cuts) + rng.choice((0, 0, 0, -1, 1, 2, 4, 8))
    return data[:max(0, min(cut, len(data) - 1))]


def drop_segment(data: bytes, fmt: str, rng: random.Random) -> bytes:
    spans = segments(data, fmt)
    if not spans:
        return truncate(data, fmt, rng)
    s, e = rng.choice(spans)
    return data[:s] + data[e:]


def duplicate_segment(data: bytes, fmt: str, rng: random.Random) -> bytes:
    spans = segments(data, fmt)
    if not spans:
        return data + data
    s, e = rng.choice(spans)
    copies = rng.choice((1, 1, 2, 50))
    return data[:e] + data[s:e] * copies + data[e:]


def swap_segments(data: bytes, fmt: str, rng: random.Random) -> bytes:
    spans = segments(data, fmt)
    if len(spans) < 2:
        return bit_flips(data, fmt, rng)
    a, b = sorted(rng.sample(range(len(spans)), 2))
    (s1, e1), (s2, e2) = spans[a], spans[b]
    return data[:s1] + data[s2:e2] + data[e1:s2] + data[s1:e1] + data[e2:]


def wrong_lengths(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """A segment/chunk length field that lies (PNG: wrong CRC instead, half of the time)."""
    spans = segments(data, fmt)
    if not spans:
        return header_bytes(data, fmt, rng)
    out = bytearray(data)
    s, e = rng.choice(spans)
    if fmt == "png":
        if rng.random() < 0.5:
            out[e - 1] ^= 0xFF  # wrong CRC, content intact
        else:
            out[s:s + 4] = struct.pack(">I", rng.choice(HUGE_VALUES) & 0xFFFFFFFF)
    elif fmt == "jpeg" and e - s > 4:
        out[s + 2:s + 4] = struct.pack(">H", rng.choice((0, 1, 2, 0xFFFF, rng.randrange(1 << 16))))
    elif fmt == "webp":
        out[s + 4:s + 8] = struct.pack("<I", rng.choice(HUGE_VALUES) & 0xFFFFFFFF)
    return bytes(out)


def huge_dimensions(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Width/height header fields set to 0, 1 or huge values (PNG: CRC recomputed, so it passes)."""
    out = bytearray(data)
    w, h = rng.choice(HUGE_VALUES), rng.choice(HUGE_VALUES)
    if fmt == "png" and data[12:16] == b"IHDR":
        out[16:24] = struct.pack(">II", w & 0xFFFFFFFF, h & 0xFFFFFFFF)
        _png_fix_crc(out, 8)
    elif fmt == "jpeg":
        sofs = _find(jpeg_segments(data), data, lambda d, s: d[s + 1] in (0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA))
        for s in sofs:
            out[s + 5:s + 9] = struct.pack(">HH", h & 0xFFFF, w & 0xFFFF)
    elif fmt == "webp":
        for s in _find(riff_chunks(data), data, lambda d, s: d[s:s + 4] in (b"VP8X", b"VP8L", b"VP8 ")):
            kind = bytes(out[s:s + 4])
            if kind == b"VP8X":  # canvas size minus one, 24 bits each
                out[s + 12:s + 18] = ((w - 1) & 0xFFFFFF).to_bytes(3, "little") + ((h - 1) & 0xFFFFFF).to_bytes(3, "little")
            elif kind == b"VP8L":  # 14-bit width-1 and height-1 after the 0x2F signature
                bits = struct.unpack("<I", out[s + 9:s + 13])[0] & ~0x0FFFFFFF
                bits |= ((w - 1) & 0x3FFF) | (((h - 1) & 0x3FFF) << 14)
                out[s + 9:s + 13] = struct.pack("<I", bits)
            elif s + 20 <= len(out):  # VP8 key frame: 14-bit sizes after the start code
                out[s + 14:s + 18] = struct.pack("<HH", w & 0x3FFF, h & 0x3FFF)
    return bytes(out)


def nonsense_modes(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Bit depth, colour type, component counts, sampling factors, palette sizes set to nonsense."""
    out = bytearray(data)
    if fmt == "png" and data[12:16] == b"IHDR":
        field = rng.choice((24, 25, 26, 27, 28))  # bit depth, colour type, compression, filter, interlace
        out[field] = rng.choice((0, 1, 2, 3, 4, 6, 7, 8, 16, 255))
        if rng.random() < 0.5:  # and a palette that does not fit
            plte = _png_chunk(b"PLTE", bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 3, 768, 771)))))
            out[33:33] = plte
        _png_fix_crc(out, 8)
    elif fmt == "jpeg":
        for s in _find(jpeg_segments(data), data, lambda d, s: d[s + 1] in (0xC0, 0xC1, 0xC2)):
            target = rng.choice(("precision", "components", "sampling", "table"))
            if target == "precision":
                out[s + 4] = rng.choice((0, 1, 12, 16, 255))
            elif target == "components":
                out[s + 9] = rng.choice((0, 2, 4, 5, 255))
            elif s + 12 < len(out):
                out[s + 11 if target == "sampling" else s + 12] = rng.choice((0x00, 0x11, 0x44, 0xFF, 0x0F))
    elif fmt == "webp":
        for s in _find(riff_chunks(data), data, lambda d, s: d[s:s + 4] == b"VP8X"):
            out[s + 8] = rng.randrange(256)  # feature flags: alpha, animation, ICC, EXIF, XMP
    return bytes(out)


def tiny(data: bytes, fmt: str, rng: random.Random) -> bytes:
    return rng.choice((b"", data[:1], data[:2], data[:8]))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


MUTATORS: dict[str, Mutator] = {
    "bit_flips": bit_flips,
    "header_bytes": header_bytes,
    "truncate": truncate,
    "drop_segment": drop_segment,
    "duplicate_segment": duplicate_segment,
    "swap_segments": swap_segments,
    "wrong_lengths": wrong_lengths,
    "huge_dimensions": huge_dimensions,
    "nonsense_modes": nonsense_modes,
    "tiny": tiny,
}


def mutate(data: bytes, fmt: str, names: tuple[str, ...], rng: random.Random) -> bytes:
    for name in names:
        if data:
            data = MUTATORS[name](data, fmt, rng)
    return data


# ---------------------------------------------------------------- seeds and cases

def _reencode(data: bytes, fmt: str, **kw: object) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format=fmt, **kw)
        return buf.getvalue()


def load_seeds(shared: Path, *, large: bool = False) -> list[Seed]:
    """Real files of every format the shared data holds (sorted picks, so always the same files).

    `large` adds the big ones (a 1024-px ComfyUI PNG with its workflow text, a C2PA JPEG)."""
    import pyarrow.parquet as pq

    cifake_jpeg = sorted((shared / "cifake" / "test" / "FAKE").glob("*.jpg"))[0]
    native_png = sorted((shared / "native-pool" / "DALL-E-2").glob("*.png"))[0]
    parquet = sorted((shared / "cifake-parquet" / "data").glob("test-*.parquet"))[0]
    cell = pq.ParquetFile(parquet).read_row_group(0, columns=["image"]).slice(0, 1).to_pylist()[0]["image"]
    seeds = [
        Seed(f"cifake/{cifake_jpeg.name}", "jpeg", cifake_jpeg.read_bytes()),
        Seed(f"native-pool/{native_png.name}", "png", native_png.read_bytes()),
        Seed(f"cifake-parquet/{parquet.name}[0]", "jpeg", bytes(cell["bytes"])),
    ]
    seeds.append(Seed("cifake jpeg as lossy webp", "webp", _reencode(seeds[0].data, "WEBP", quality=80)))
    seeds.append(Seed("native-pool png as lossless webp", "webp", _reencode(seeds[1].data, "WEBP", lossless=True)))
    seeds.append(Seed("cifake jpeg as progressive jpeg", "jpeg", _reencode(seeds[0].data, "JPEG", progressive=True,
                                                                           quality=90)))
    # The other formats Pillow reads, re-encoded from a 64-px crop of the native-pool PNG.
    with Image.open(io.BytesIO(seeds[1].data)) as im:
        small = im.convert("RGB").crop((0, 0, 64, 64))
    for fmt, (_, kw) in OTHER_FORMATS.items():
        buf = io.BytesIO()
        small.save(buf, format=fmt, **kw)
        seeds.append(Seed(f"native-pool png crop as {fmt}", fmt, buf.getvalue()))
    buf = io.BytesIO()
    small.save(buf, format="PNG")
    seeds.append(Seed("native-pool png crop inside an ICNS icon", "ICNS", icns_with_png(buf.getvalue())))
    if large:
        comfy = shared / "provenance" / "comfyui" / "sd3__sd3_simple_example.png"
        c2pa = shared / "provenance" / "c2pa" / "Firefly_tabby_cat.jpg"
        seeds += [Seed(f"provenance/{comfy.name}", "png", comfy.read_bytes()),
                  Seed(f"provenance/{c2pa.name}", "jpeg", c2pa.read_bytes())]
    return seeds


def make_case(seeds: list[Seed], master: int, index: int) -> Case:
    """Case `index` of the run seeded `master`: the same bytes every time."""
    rng = random.Random(f"fakescope-fuzz:{master}:{index}")
    seed = seeds[rng.randrange(len(seeds))]
    names = tuple(rng.choice(sorted(MUTATORS)) for _ in range(rng.choice((1, 1, 1, 2, 3))))
    return Case(master, index, seed.name, names, mutate(seed.data, seed.fmt, names, rng), seed.suffix)


def make_cases(seeds: list[Seed], master: int, count: int, start: int = 0) -> Iterator[Case]:
    for i in range(start, start + count):
        yield make_case(seeds, master, i)


def write_cases(cases: list[Case], folder: Path) -> dict[str, Case]:
    """One file per case, named by its index with its seed's extension; returns file name -> case."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for case in cases:
        name = f"case-{case.index:06d}{case.suffix}"
        (folder / name).write_bytes(case.data)
        out[name] = case
    return out
