"""Response shapes of the HTTP API, for validation and for the OpenAPI document behind /docs."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field


class GeneratorScore(BaseModel):
    label: str = Field(description="Generator name from the model's vocabulary ('Real' included), or the one the "
                                   "file's evidence names.")
    score: Optional[float] = Field(description="Probability of this generator (null when it comes from the evidence).")
    source: Optional[str] = Field(None, description="'evidence' when the file's metadata names the generator.")


class EvidenceItem(BaseModel):
    source: str = Field(description="Which reader found it: c2pa, xmp, comfyui, a1111, watermark, ...")
    claim: str = Field(description="generated | ai-edited | captured | edited | workflow-only | none")
    generator: Optional[str] = None
    software: Optional[str] = None
    signer: Optional[str] = Field(None, description="Who signed the claim (C2PA), as the certificate says.")
    validation: Optional[str] = Field(None, description="The signature's validation state and its reasons.")
    detail: Any = Field(None, description="Reader-specific details (prompt, checkpoint, actions, errors).")


class Explanation(BaseModel):
    kind: Literal["gradcam", "saliency"] = Field(description="How the heatmap was computed.")
    overlay: str = Field(description="Heatmap over the model's input view, as a PNG data URL.")
    spectrum: Optional[str] = Field(None, description="Log power spectrum (frequency detectors), PNG data URL.")


class DetectionResult(BaseModel):
    filename: str
    width: int = Field(description="Decoded width in pixels (EXIF orientation applied).")
    height: int
    verdict: Literal["fake", "real", "uncertain"] = Field(
        description="The answer: from the file's own declaration, or a model inside its domain at its operating "
                    "point; otherwise 'uncertain'.")
    reason: str = Field(description="Why, in one sentence.")
    answered_by: Optional[str] = Field(
        None, description="'evidence:SOURCE' or 'model:NAME@SHA12'; null when uncertain.")
    evidence: list[EvidenceItem] = Field(description="What the file declares about its own making (may be empty).")
    label: Optional[Literal["real", "fake"]] = Field(
        None, description="The raw model label at its threshold (kept for compatibility; the verdict is the answer).")
    score: Optional[float] = Field(None, description="P(fake) in [0, 1] from the model the reason names (or the first "
                                                     "model that looked); label is 'fake' when score >= its threshold.")
    generator: Optional[list[GeneratorScore]] = Field(
        None, description="Top generators, most likely first; null for models without a generator head.")
    explanation: Optional[Explanation] = Field(None, description="Present when explain=true was requested.")


class DetectResponse(BaseModel):
    model: str = Field(description="Name of the pipeline's first model.")
    pipeline: str = Field(description="Name of the pipeline that produced the verdicts (GET /v1/model describes it).")
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
    model: Optional[str] = Field(description="The pipeline's first model; null while the pipeline is still loading.")


class Ready(BaseModel):
    status: Literal["ready"]
    model: str


ModelInfo = dict[str, Any]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# Every operation can fail with a bug; the body is still the one JSON error shape (code internal_error).
SERVER_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    500: _error("A bug in the service, logged on the server (code internal_error); never a traceback."),
}
# The access policy's answers (fakescope.serve.gate, .state), on every /v1/* operation.
API_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("No API key, or not a valid one (code unauthorized), when the service was started with keys: send "
                "`Authorization: Bearer KEY`. The response carries `WWW-Authenticate: Bearer`."),
    429: _error("The key's (or, without keys, the client address's) rate limit is used up (code rate_limited); "
                "`Retry-After` says in how many whole seconds to retry."),
    503: _error("Not ready: the pipeline is still loading (not_ready, with Retry-After) or failed to load "
                "(load_failed); or busy: --max-connections requests are in flight already (busy, Retry-After: 1)."),
    504: _error("The request was not answered within --request-timeout seconds (request_timeout)."),
    **SERVER_ERROR_RESPONSES,
}
# /healthz and /readyz: open to all; /readyz is 503 until the pipeline is loaded.
PROBE_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: _error("/readyz while the pipeline is loading (not_ready) or after it failed to load (load_failed); "
                "any probe when the service is busy (busy)."),
    **SERVER_ERROR_RESPONSES,
}
# Every status `POST /v1/detect` and `POST /v1/inspect` answer besides 200, each with the JSON error body.
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
    **API_RESPONSES,
}
