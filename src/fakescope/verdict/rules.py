"""The verdict rules, in one place (docs/verdicts.md states the same rules for people).

(a) A file whose evidence declares it AI-generated or AI-edited is `fake`, answered by that
    evidence (`evidence:<source>`), whatever the models say.
(b) Otherwise the first model whose domain holds the image and whose score is past one of its
    operating-point thresholds answers (`model:<name@sha12>`).
(c) Otherwise `uncertain`, saying why: outside every model's domain, inside but between
    thresholds, or conflicting evidence (a file that declares a camera capture while a model
    says fake).
Evidence never makes an image `real`: metadata proves presence, never absence.
"""

from __future__ import annotations

from typing import Any

from .cases import Answer, Case

DECISIVE = ("fake", "real")
EVIDENCE_VERDICTS = {"ai-generated": "generated", "ai-edited": "AI-edited"}
CAPTURE_CLAIMS = ("captured",)


def model_name(model: Any) -> str:
    return str(model.name_version)


def describe_model(model: Any) -> dict[str, Any]:
    """What /v1/model and the table header say about one guarded model."""
    out: dict[str, Any] = dict(model.describe())
    out["model"] = model_name(model)
    out["input_size"] = model.config.preprocess.input_size
    return out


def evidence_source(evidence: Any) -> str:
    """The source of the item that decided the evidence verdict (c2pa, iptc, comfyui, ...): the
    strongest conclusive item, ranked as fakescope.provenance ranks them for its reason."""
    from fakescope.provenance.record import SOURCE_RANK, is_conclusive

    wanted = "generated" if evidence.verdict == "ai-generated" else "ai-edited"
    deciding = [i for i in evidence.items if is_conclusive(i) and i["claim"] == wanted]
    deciding.sort(key=lambda i: SOURCE_RANK.index(i["source"]) if i["source"] in SOURCE_RANK else len(SOURCE_RANK))
    return str(deciding[0]["source"]) if deciding else "metadata"


def evidence_answer(evidence: Any) -> Answer | None:
    """Rule (a): the file declares itself AI-generated or AI-edited -> fake; else no answer."""
    if evidence is None or evidence.verdict not in EVIDENCE_VERDICTS:
        return None
    what = EVIDENCE_VERDICTS[evidence.verdict]
    return Answer("fake", f"The file declares itself {what}: {_sentence(evidence.reason)}",
                  f"evidence:{evidence_source(evidence)}")


def model_answer(model: Any, judgement: Any) -> Answer:
    """Rule (b): a decisive judgement inside the model's domain."""
    return Answer(judgement.decision, _sentence(f"Model {model_name(model)}: {judgement.reason}"),
                  f"model:{model_name(model)}")


def _capture_item(evidence: Any) -> dict[str, Any] | None:
    if evidence is None:
        return None
    return next((i for i in evidence.items if i.get("claim") in CAPTURE_CLAIMS), None)


def conflict(evidence: Any, model: Any, judgement: Any) -> str | None:
    """Why a decisive model answer cannot stand: it says fake where the file declares a capture."""
    if judgement.decision != "fake":
        return None
    item = _capture_item(evidence)
    if item is None:
        return None
    who = f" signed by {item['signer']}" if item.get("signer") else ""
    state = f" ({item['validation']})" if item.get("validation") else ""
    return (f"Conflicting evidence: the file's {item.get('source', 'metadata')} record{who}{state} declares a camera "
            f"capture, but {model_name(model)} says fake (P(fake) {judgement.score:.3f})")


def uncertain_answer(case: Case) -> Answer:
    """Rule (c): no conclusive evidence and no decisive model; say which way it fell short."""
    if case.conflict is not None:
        return Answer("uncertain", _sentence(case.conflict))
    judged = case.judgements
    if not judged:
        why = "no model judged the pixels"
    elif all(j.decision == "out-of-domain" for _, j in judged):
        why = "outside the domain of every model (" + "; ".join(
            f"{model_name(m)}: {j.reason}" for m, j in judged) + ")"
    else:
        inside = [(m, j) for m, j in judged if j.decision == "uncertain"]
        why = "between the thresholds of every model whose domain holds it (" + "; ".join(
            f"{model_name(m)}: {j.reason}" for m, j in inside) + ")"
    note = ""
    if case.evidence is not None and case.evidence.items and case.evidence.verdict not in EVIDENCE_VERDICTS:
        note = f"; the file's metadata makes no AI claim ({_trim(case.evidence.reason)})"
    return Answer("uncertain", _sentence(f"No verdict: {why}{note}"))


def _trim(text: str) -> str:
    return str(text or "").strip().rstrip(".")


def _sentence(text: str) -> str:
    text = _trim(text)
    return text[:1].upper() + text[1:] + "." if text else ""
