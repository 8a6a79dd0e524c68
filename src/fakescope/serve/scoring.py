"""Turn one validated upload into per-image results: the verdict pipeline, and (on request) explain.

Each file's bytes go to the pipeline as they are, so the evidence stage reads what the file
declares (C2PA, IPTC, generator records) and the decoder the pixels, from the same bytes.

Concurrency: scoring runs in the server's worker threads against the detector's backend without a
lock. A model in eval mode under `no_grad` (torch) or an onnxruntime session keeps no state between
calls, so concurrent requests cannot mix results (tests/test_serve_api.py checks it with 16
threads). Explanations are different: Grad-CAM installs hooks and runs backward passes, which
would leak into concurrent forward passes. They therefore use a separate copy of the torch model,
loaded on the first request that asks, and are serialised by one lock.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Iterator
from typing import Any

from PIL import Image

from fakescope.imageops import png_bytes
from fakescope.verdict.detector import Detector

from .errors import ApiError
from .images import FileProblem, classify, decode_upload, size_problem
from .limits import ServiceLimits
from .upload import Upload, UploadedFile


def data_url(im: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(im)).decode("ascii")


def _refusal(problems: list[FileProblem], total: int) -> ApiError:
    first = problems[0]
    if total == 1:
        message = f"{first.filename or 'upload'}: {first.message}"
    else:
        message = f"{len(problems)} of {total} files cannot be used; first: {first.filename or 'upload'}: {first.message}"
    return ApiError(first.status, first.code, message, files=[p.to_dict() for p in problems])


class Scorer:
    """What the service does with images; shared by all requests, safe to call from many threads."""

    def __init__(self, detector: Detector, limits: ServiceLimits) -> None:
        self.detector = detector
        self.limits = limits
        self._explain_lock = threading.Lock()
        self._explain_model: Any = None

    def _explainer(self) -> Any:
        """A private torch copy of the model for gradients (call with the explain lock held)."""
        if self._explain_model is None:
            if self.detector.model_dir is not None:
                from fakescope.models import load_model

                self._explain_model, _ = load_model(self.detector.model_dir, device="cpu")
            else:
                model = getattr(self.detector.backend, "model", None)
                if model is None:
                    raise ApiError(501, "explain_unavailable",
                                   "explanations need the torch model, and this detector has no model directory")
                self._explain_model = copy.deepcopy(model).cpu()
            self._explain_model.eval()
        return self._explain_model

    def explain(self, image: Image.Image) -> dict[str, Any]:
        from fakescope.detect.explain import explain

        with self._explain_lock:
            ex = explain(self._explainer(), self.detector.config, image)
        return {
            "kind": ex.kind,
            "overlay": data_url(ex.overlay),
            "spectrum": data_url(ex.spectrum) if ex.spectrum is not None else None,
        }

    def detect(self, upload: Upload, explain: bool = False) -> list[dict[str, Any]]:
        """One result per file, in upload order; ApiError when any file cannot be used."""
        limits = self.limits
        if upload.file_count == 0:
            raise ApiError(400, "no_files", "no images in the request: send one or more multipart file fields")
        if upload.file_count > limits.max_files:
            raise ApiError(413, "too_many_files",
                           f"{upload.file_count} files in one request; the limit is {limits.max_files}")
        problems: dict[int, FileProblem] = {}  # by position in the upload
        scored: list[tuple[int, UploadedFile]] = []

        def files() -> Iterator[bytes]:
            for i, f in enumerate(upload.files):
                problem = size_problem(f, limits)
                if problem is not None:
                    problems[i] = problem
                    continue
                scored.append((i, f))
                yield bytes(f.data)

        results = [r for _, r in self.detector.iter_predict(files(), batch_size=limits.max_files, workers=0,
                                                             max_pixels=limits.max_pixels)]
        for (i, f), r in zip(scored, results):
            if r.get("error"):
                # the decoder's reason says which refusal it is (too large, not an image, corrupt)
                status, code = classify(r["error"])
                problems[i] = FileProblem(f.filename, status, code, r["error"])
        if problems:
            raise _refusal([problems[i] for i in sorted(problems)], len(upload.files))
        out = []
        for (_, f), r in zip(scored, results):
            item: dict[str, Any] = {"filename": f.filename, **r, "explanation": None}
            if explain:
                image = decode_upload(f, limits)
                assert not isinstance(image, FileProblem)  # it decoded a moment ago
                item["explanation"] = self.explain(image)
            out.append(item)
        return out
