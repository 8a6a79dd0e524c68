"""`inspect_bytes` / `inspect_path`: run every registered reader on one file and apply the rules."""

from __future__ import annotations

import os
from typing import Any

from PIL import Image

from . import readers  # noqa: F401 - importing registers every reader
from .container import read_container
from .record import FileEvidence, error_item, item
from .registry import READERS, ReadContext


def inspect_bytes(data: bytes, *, name: str = "", image: Image.Image | None = None, watermarks: bool = False,
                  c2pa_trust: list[str] | None = None) -> FileEvidence:
    """What the encoded file `data` declares about its own making. Never raises for bad metadata:
    a reader that fails contributes an item with claim "none" and the error in `detail`.

    `image`, when given, is the file already decoded (any mode): the watermark reader reuses it.
    `c2pa_trust` is a list of PEM texts (trust anchors); without it C2PA signers are 'untrusted'."""
    data = bytes(data)  # no copy for bytes; bytearray/memoryview become bytes once
    container = read_container(data)
    ctx = ReadContext(data, container, name=name, watermarks=watermarks, c2pa_trust=c2pa_trust,
                      given=image if isinstance(image, Image.Image) else None)
    items: list[dict[str, Any]] = []
    if container.notes:
        items.append(item("container", "none", detail={"format": container.format, "notes": container.notes}))
    for spec in READERS.values():
        try:
            items.extend(spec.func(ctx))
        except Exception as exc:  # noqa: BLE001 - per-reader boundary: one bad field never loses the file
            items.append(error_item(spec.name, exc))
    return FileEvidence.from_items(items)


def inspect_path(path: str | os.PathLike[str], **kwargs: Any) -> FileEvidence:
    """`inspect_bytes` on a file, read with the same limits as every other reader in fakescope
    (raises `ImageDecodeError` for a missing, empty or oversized file)."""
    from fakescope.data.decode import read_file_bytes

    return inspect_bytes(read_file_bytes(path), name=os.fspath(path), **kwargs)


def inspect_row(name: str, data: bytes | None, problem: str | None = None, *, watermarks: bool = False,
                c2pa_trust: list[str] | None = None) -> dict[str, Any]:
    """One `fakescope inspect` result row, the same on the local and the Ray engine:
    `{"path", "verdict", "generator", "reason", "evidence", "error"}`; `problem` (why the file could
    not be read) makes it an error row."""
    if problem is None and data is not None:
        from fakescope.data.decode import ImageDecodeError

        try:
            ev = inspect_bytes(data, name=name, watermarks=watermarks, c2pa_trust=c2pa_trust)
        except ImageDecodeError as exc:
            problem = exc.reason
        else:
            return {"path": name, **ev.to_dict(), "error": None}
    return {"path": name, "verdict": None, "generator": None, "reason": None, "evidence": [], "error": problem}
