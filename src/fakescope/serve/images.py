"""Uploaded bytes -> RGB image, or the HTTP problem that explains why not.

Images are recognised by their content (Pillow's decoders), never by file name or declared
Content-Type: a `.jpg` that is text is refused (415), a PNG named `.txt` is accepted. The decode
itself is the data layer's `decode_image`, so the service refuses exactly what `detect` and
training refuse, with the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from fakescope.data.decode import ImageDecodeError, decode_image

from .limits import ServiceLimits
from .upload import UploadedFile

# decode_image's reasons start with these fragments (fakescope.data.decode); each maps to a status.
_REASON_STATUS: tuple[tuple[str, int, str], ...] = (
    ("image too large", 413, "image_too_large"),
    ("empty file", 415, "not_an_image"),
    ("not a recognised image format", 415, "not_an_image"),
)
# Anything else (truncated data, corrupt header, impossible size) is an image we cannot use: 422.
_DEFAULT = (422, "corrupt_image")


@dataclass
class FileProblem:
    filename: str
    status: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "status": self.status, "code": self.code, "message": self.message}


def classify(reason: str) -> tuple[int, str]:
    for fragment, status, code in _REASON_STATUS:
        if reason.startswith(fragment):
            return status, code
    return _DEFAULT


def size_problem(f: UploadedFile, limits: ServiceLimits) -> FileProblem | None:
    if f.too_large:
        return FileProblem(f.filename, 413, "file_too_large",
                           f"file of {f.size} bytes exceeds the limit of {limits.max_file_bytes} bytes")
    return None


def decode_upload(f: UploadedFile, limits: ServiceLimits) -> Image.Image | FileProblem:
    """The file's 8-bit RGB image (EXIF orientation applied), or why it cannot be scored."""
    problem = size_problem(f, limits)
    if problem is not None:
        return problem
    try:
        return decode_image(bytes(f.data), max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:  # decode_image's boundary (guard_file) turns any decoder failure into this
        status, code = classify(exc.reason)
        return FileProblem(f.filename, status, code, exc.reason)
