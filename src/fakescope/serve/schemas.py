"""Response shapes of the HTTP API, for validation and for the OpenAPI document behind /docs."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field


class GeneratorScore(BaseModel):
    label: str = Field(description="Generator name from the model's vocabulary ('Real' included).")
    score: float = Field(description="Probability of this generator.")


class Explanation(BaseModel):
    kind: Literal["gradcam", "saliency"] = Field(description="How the heatmap was computed.")
    overlay: str = Field(description="Heatmap over the model's input view, as a PNG data URL.")
    spectrum: Optional[str] = Field(None, description="Log power spectrum (frequency detectors), PNG data URL.")


class DetectionResult(BaseModel):
    filename: str
    width: int = Field(description="Decoded width in pixels (EXIF orientation applied).")
    height: int
    label: Literal["real", "fake"]
    score: float = Field(description="P(fake) in [0, 1]; label is 'fake' when score >= the model's threshold.")
    generator: Optional[list[GeneratorScore]] = Field(
        None, description="Top generators, most likely first; null for models without a generator head.")
    explanation: Optional[Explanation] = Field(None, description="Present when explain=true was requested.")


class DetectResponse(BaseModel):
    model: str = Field(description="Name of the model that produced the verdicts.")
    results: list[DetectionResult] = Field(description="One result per uploaded file, in upload order.")


class FileProblemModel(BaseModel):
    filename: str
    status: int
    code: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_an_image, file_too_large.")
    message: str = Field(description="One-line explanation for people.")
    files: Optional[list[FileProblemModel]] = Field(None, description="Per-file problems of a refused upload.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]
    model: str


ModelInfo = dict[str, Any]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# Every operation can fail with a bug; the body is still the one JSON error shape (code internal_error).
SERVER_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    500: _error("A bug in the service, logged on the server (code internal_error); never a traceback."),
}
# Every status `POST /v1/detect` answers besides 200, each with the JSON error body (fakescope.serve.errors).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed request: no files (no_files), bad multipart (bad_multipart), bad Content-Length "
                "(bad_request), a bad, unknown or oversized form field (bad_field, unknown_field, field_too_large, "
                "too_many_fields)."),
    413: _error("Too large: request body (request_too_large), one file (file_too_large), decoded pixels "
                "(image_too_large), or too many files (too_many_files)."),
    415: _error("Not multipart/form-data (unsupported_media_type), or a file that is not an image by content "
                "(not_an_image)."),
    422: _error("A truncated or corrupt image (corrupt_image), or an invalid query parameter (invalid_request)."),
    501: _error("explain=true on a detector without a torch model to explain with (explain_unavailable)."),
    **SERVER_ERROR_RESPONSES,
}
