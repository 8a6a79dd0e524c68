"""A case -> the result dict every surface returns (API, CLI, service, page, Ray).

    {"label", "score", "generator", "error",                 # as before: the raw model output
     "verdict", "reason", "answered_by", "evidence",          # the pipeline's answer
     "width", "height"}                                       # the decoded image (EXIF orientation applied)

`label`/`score`/`generator` are the raw output of the model that answered, or else of the first
model whose domain holds the image, or else of the first model that looked at it (None when no
model did, or the file could not be read). `label` uses the model's own threshold (or the caller's),
as before; the verdict uses the operating point and the domain. When the model has no generator
head, the generator the evidence names fills `generator` (score None, source "evidence").
"""

from __future__ import annotations

from typing import Any

from .cases import Case

RESULT_FIELDS = ("label", "score", "generator", "error", "verdict", "reason", "answered_by", "evidence", "width",
                 "height")


def _reported(case: Case) -> tuple[Any, Any] | None:
    """The (model, judgement) whose raw output the result shows."""
    if not case.judgements:
        return None
    if case.answer is not None and case.answer.answered_by:
        for model, j in case.judgements:
            if case.answer.answered_by == f"model:{model.name_version}":
                return model, j
    inside = [(m, j) for m, j in case.judgements if j.decision != "out-of-domain"]
    return (inside or case.judgements)[0]


def model_threshold(model: Any) -> float:
    config = getattr(model, "config", None)
    return float(config.threshold) if config is not None else 0.5


def case_result(case: Case, *, threshold: float | None = None, top_k: int = 5) -> dict[str, Any]:
    evidence = list(case.evidence.items) if case.evidence is not None else []
    size = {"width": case.facts.get("width"), "height": case.facts.get("height")}
    if case.error is not None:
        return {"label": None, "score": None, "generator": None, "error": case.error, "verdict": None,
                "reason": case.error, "answered_by": None, "evidence": evidence, **size}
    label = score = generator = None
    reported = _reported(case)
    if reported is not None and reported[1].score is not None:
        model, j = reported
        score = float(j.score)
        label = "fake" if score >= (model_threshold(model) if threshold is None else float(threshold)) else "real"
        generator = list(j.generator)[:top_k] if j.generator else None
    if generator is None and case.evidence is not None and case.evidence.generator:
        generator = [{"label": str(case.evidence.generator), "score": None, "source": "evidence"}]
    answer = case.answer
    return {"label": label, "score": score, "generator": generator, "error": None,
            "verdict": answer.verdict if answer else None, "reason": answer.reason if answer else None,
            "answered_by": answer.answered_by if answer else None, "evidence": evidence, **size}
