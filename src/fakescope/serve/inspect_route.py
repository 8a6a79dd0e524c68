"""`POST /v1/inspect`: what each uploaded file declares about its own making (fakescope.provenance).

The same upload reader, limits and JSON errors as /v1/detect: a request is all or nothing (a file
over the size limit, not an image, over the pixel limit or corrupt refuses the request with every
problem listed). Files are checked by their header; pixels are decoded only for watermarks.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import APIRouter, Query, Request
from PIL import Image
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fakescope.data.decode import ImageDecodeError, header_size, open_image

from .errors import ApiError
from .images import FileProblem, classify, size_problem
from .limits import ServiceLimits
from .schemas import ERROR_RESPONSES
from .upload import Upload, UploadedFile, read_upload, refuse_unknown_fields

INSPECT_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        # minItems: a request without a file is refused (400 no_files); any text field is refused
        # (400 unknown_field): the document says what the shared upload reader does
        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                                "description": "One or more images (any field name works; repeat the field)."}},
        "additionalProperties": False,
    }}},
}


class EvidenceItem(BaseModel):
    source: str = Field(description="c2pa, iptc, a1111, comfyui, invokeai, novelai, novelai-signature, fooocus, "
                                    "swarmui, drawthings, midjourney, software, watermark, container")
    claim: Literal["generated", "ai-edited", "captured", "edited", "workflow-only", "none"]
    generator: Optional[str] = None
    software: Optional[str] = None
    signer: Optional[str] = None
    validation: Optional[str] = Field(None, description="First word: trusted, valid, certificate-expired, tampered, "
                                                        "revoked, signature-invalid, verified, not-checked, unreadable.")
    detail: Any = None


class InspectResult(BaseModel):
    filename: str
    verdict: Literal["ai-generated", "ai-edited", "no-claim"] = Field(
        description="What the file declares. no-claim is never evidence of a real image.")
    generator: Optional[str] = None
    reason: str
    evidence: list[EvidenceItem]


class InspectResponse(BaseModel):
    results: list[InspectResult]


def _check(f: UploadedFile, limits: ServiceLimits, watermarks: bool) -> Image.Image | FileProblem | None:
    """The decoded image (watermarks), None (header checked only), or the file's problem."""
    problem = size_problem(f, limits)
    if problem is not None:
        return problem
    data = bytes(f.data)
    try:
        if watermarks:
            return open_image(data, max_pixels=limits.max_pixels)
        w, h, _ = header_size(data)
        if w * h > limits.max_pixels:
            raise ImageDecodeError(f"image too large: {w}x{h} = {w * h} pixels > limit {limits.max_pixels}")
        return None
    except ImageDecodeError as exc:
        status, code = classify(exc.reason)
        return FileProblem(f.filename, status, code, exc.reason)


def inspect_upload(upload: Upload, limits: ServiceLimits, watermarks: bool) -> list[dict[str, Any]]:
    from fakescope.provenance import inspect_bytes

    from .scoring import _refusal

    if upload.file_count == 0:
        raise ApiError(400, "no_files", "no images in the request: send one or more multipart file fields")
    if upload.file_count > limits.max_files:
        raise ApiError(413, "too_many_files", f"{upload.file_count} files in one request; the limit is {limits.max_files}")
    checked = [_check(f, limits, watermarks) for f in upload.files]
    problems = [c for c in checked if isinstance(c, FileProblem)]
    if problems:
        raise _refusal(problems, len(upload.files))
    out = []
    for f, image in zip(upload.files, checked):
        ev = inspect_bytes(bytes(f.data), name=f.filename, image=image, watermarks=watermarks)
        out.append({"filename": f.filename, **ev.to_dict()})
    return out


def inspect_router(limits: ServiceLimits) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/inspect", response_model=InspectResponse, responses=ERROR_RESPONSES,
                 openapi_extra={"requestBody": INSPECT_BODY}, summary="What files declare about their making")
    async def inspect(request: Request, watermarks: bool = Query(
            True, description="Decode pixels for invisible watermarks (false: headers and metadata only).")):
        """C2PA Content Credentials (offline: remote manifests are reported, never fetched), IPTC
        DigitalSourceType, generator records (A1111, ComfyUI, InvokeAI, NovelAI, ...) and the Stable
        Diffusion invisible watermarks, with the verdict the evidence rules give."""
        upload = await read_upload(request, limits)
        refuse_unknown_fields(upload, frozenset())  # POST /v1/inspect reads no text field
        return {"results": await run_in_threadpool(inspect_upload, upload, limits, watermarks)}

    return router
