"""The limits a public detection service needs, as one small configurable record.

Every limit is enforced while the request is read or decoded, never after the fact: a body
larger than `max_request_bytes` is refused from its Content-Length or cut off while streaming,
so nothing a client sends can make the server hold more than these bounds in memory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fakescope.errors import UserError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServiceLimits:
    max_file_bytes: int = 20 * MIB  # one uploaded file (413 file_too_large)
    max_request_bytes: int = 64 * MIB  # the whole multipart body (413 request_too_large)
    max_files: int = 16  # images per request (413 too_many_files)
    # decoded pixels per image (413 image_too_large). 40 MP covers camera photos; a
    # decompression bomb claiming billions of pixels is refused from its header, before decoding.
    max_pixels: int = 40_000_000
    max_fields: int = 8  # non-file form fields (explain=...) per request
    max_field_bytes: int = 1024  # one non-file form field's value

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise UserError(f"service limit {name} must be a positive integer, got {value!r}")
        if self.max_file_bytes > self.max_request_bytes:
            raise UserError(
                f"max_file_bytes ({self.max_file_bytes}) cannot exceed max_request_bytes ({self.max_request_bytes})"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
