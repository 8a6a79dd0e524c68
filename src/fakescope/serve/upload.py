"""Read a multipart/form-data upload from the request stream, enforcing the limits as bytes arrive.

Starlette's own form parser spools every file to disk with no per-file bound; this reader feeds
`python_multipart`'s streaming parser chunk by chunk instead, so that:
- a declared Content-Length over the request limit is refused without storing the body (far over
  it, more than twice, without reading it at all);
- a body that turns out larger (chunked, or a lying Content-Length) stops being stored at the limit;
- a file over the per-file limit stops being stored (its size is still counted) and is reported;
- files beyond the per-request count are not stored either.
What stays in memory is bounded by `max_request_bytes`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .errors import ApiError
from .limits import ServiceLimits
from .observe import note_files

MAX_FILENAME = 255


@dataclass
class UploadedFile:
    filename: str
    data: bytearray = field(default_factory=bytearray)
    size: int = 0  # bytes received, including any not stored once over the limit
    too_large: bool = False


@dataclass
class Upload:
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    file_count: int = 0  # file parts seen, including any over max_files


def _too_large(limits: ServiceLimits, size: int | str) -> ApiError:
    return ApiError(413, "request_too_large",
                    f"request body of {size} bytes exceeds the limit of {limits.max_request_bytes} bytes")


def _boundary(request: Request) -> bytes:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        shown = ctype.decode("latin-1") or "none"
        raise ApiError(415, "unsupported_media_type",
                       f"send images as multipart/form-data file fields (Content-Type was {shown})")
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_multipart", "multipart/form-data without a boundary")
    return boundary


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"invalid Content-Length {raw[:40]!r}") from None


class _Collector:
    """python_multipart callbacks that keep files and fields within the limits."""

    def __init__(self, limits: ServiceLimits) -> None:
        self.limits = limits
        self.upload = Upload()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._file: UploadedFile | None = None
        self._field: tuple[str, bytearray] | None = None
        self._skip = False  # a file part beyond max_files: read through, keep nothing
        self.ended = False  # the closing boundary was seen

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._disposition, self._file, self._field, self._skip = b"", None, None, False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise ApiError(400, "bad_multipart", 'a multipart part has no Content-Disposition "name"')
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.upload.file_count += 1
            if self.upload.file_count > self.limits.max_files:
                self._skip = True
                return
            filename = options[b"filename"].decode("utf-8", "replace")[:MAX_FILENAME]
            self._file = UploadedFile(filename=filename)
        else:
            if len(self.upload.fields) >= self.limits.max_fields:
                raise ApiError(400, "too_many_fields", f"more than {self.limits.max_fields} form fields")
            self._field = (name[:64], bytearray())

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._file is not None:
            f = self._file
            f.size += n
            if f.size > self.limits.max_file_bytes:
                if not f.too_large:
                    f.too_large = True
                    f.data = bytearray()  # free what was kept; only the size matters now
                return
            f.data += data[start:end]
        elif self._field is not None:
            value = self._field[1]
            if len(value) + n > self.limits.max_field_bytes:
                raise ApiError(400, "field_too_large",
                               f"form field {self._field[0]!r} exceeds {self.limits.max_field_bytes} bytes")
            value += data[start:end]

    def on_part_end(self) -> None:
        if self._file is not None:
            # A browser sends an empty part with filename="" for a file input left blank.
            if self._file.filename or self._file.size:
                self.upload.files.append(self._file)
            else:
                self.upload.file_count -= 1
        elif self._field is not None:
            self.upload.fields[self._field[0]] = self._field[1].decode("utf-8", "replace")
        self._file, self._field = None, None


    def on_end(self) -> None:
        self.ended = True


async def _drain(stream: AsyncIterator[bytes], allowance: int) -> None:
    """Read and drop up to `allowance` more bytes, so that a client still sending its body can read
    our 413 instead of a connection reset; past the allowance the server just closes the connection.
    Draining costs time, never memory."""
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > allowance:
                return
    except ClientDisconnect:
        return


async def read_upload(request: Request, limits: ServiceLimits) -> Upload:
    """The files and form fields of a multipart request, or ApiError (400/413/415)."""
    boundary = _boundary(request)
    declared = _declared_length(request)
    if declared is not None and declared > limits.max_request_bytes:
        if declared <= 2 * limits.max_request_bytes:  # modestly over: let the client finish sending
            await _drain(request.stream(), declared)
        raise _too_large(limits, declared)
    collector = _Collector(limits)
    try:
        parser = MultipartParser(boundary, collector.callbacks())
    except (FormParserError, ValueError) as exc:
        raise ApiError(400, "bad_multipart", f"invalid multipart boundary: {exc}") from None
    stream = request.stream()
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > limits.max_request_bytes:
                await _drain(stream, limits.max_request_bytes)
                raise _too_large(limits, f"more than {received}")
            try:
                parser.write(chunk)
            except ApiError:
                await _drain(stream, limits.max_request_bytes)
                raise
        parser.finalize()
        if not collector.ended:
            # A cut-off body would otherwise look like a request with fewer (or no) files.
            raise ApiError(400, "bad_multipart", "multipart body ended before its closing boundary")
    except FormParserError as exc:
        raise ApiError(400, "bad_multipart", f"malformed multipart body: {exc}") from None
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "the client closed the connection mid-upload") from None
    note_files(request.scope, collector.upload.file_count)  # for the request log
    return collector.upload


def refuse_unknown_fields(upload: Upload, known: set[str] | frozenset[str]) -> None:
    """400 `unknown_field` for a text field an endpoint does not read: a typo never passes silently
    (each endpoint's OpenAPI body says `additionalProperties: false`)."""
    unknown = sorted(set(upload.fields) - set(known))
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ApiError(400, "unknown_field", f"unknown form field {unknown[0][:40]!r} (text fields: "
                       f"{listed}; images go in file parts)")
