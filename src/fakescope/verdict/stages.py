"""The pipeline's stages, in a registry: `evidence`, `models`, `fallback`.

A stage has two hooks. `prepare(case)` runs per file in the reader threads, beside decoding (the
evidence stage reads the file's metadata there); `decide(cases)` runs per batch, in pipeline order,
and may answer cases (set `case.answer`). A later stage never overwrites an answer: evidence
answers first, models only answer what is still open, the fallback answers the rest. The rules
themselves (what is conclusive, what conflicts, how reasons read) live in `fakescope.verdict.rules`;
stages only apply them. Adding a stage is one class here with `@register_stage("name")`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakescope.errors import UserError

from . import rules
from .cases import Case

STAGES: dict[str, type["Stage"]] = {}


def register_stage(name: str) -> Callable[[type["Stage"]], type["Stage"]]:
    def deco(cls: type["Stage"]) -> type["Stage"]:
        cls.kind = name
        STAGES[name] = cls
        return cls

    return deco


class Stage:
    kind = ""

    def prepare(self, case: Case) -> None:
        """Per-file work in a reader thread (must not raise for a bad file)."""

    def decide(self, cases: list[Case], *, top_k: int = 5) -> None:
        """Per-batch work in pipeline order; `top_k` generators per model judgement."""

    def describe(self) -> dict[str, Any]:
        return {"stage": self.kind}


@register_stage("evidence")
class EvidenceStage(Stage):
    """What the file declares about its own making (C2PA, IPTC, generator records, watermarks).

    A conclusive AI declaration answers `fake`; nothing here ever answers `real` (metadata proves
    presence, never absence). Decoding a watermark needs the pixels and costs time: off unless
    asked (`"watermarks": true` in the pipeline file, or `--watermarks`).
    """

    def __init__(self, *, watermarks: bool = False, c2pa_trust: list[str] | None = None) -> None:
        from fakescope.provenance import inspect_bytes  # fails at load, with the import error, if absent

        self.inspect_bytes = inspect_bytes
        self.watermarks = bool(watermarks)
        self.c2pa_trust = list(c2pa_trust) if c2pa_trust else None

    def prepare(self, case: Case) -> None:
        if case.data is None:
            return  # a PIL image or an array: no file, so nothing it declares
        case.evidence = self.inspect_bytes(case.data, name=os.path.basename(case.name), image=case.image,
                                           watermarks=self.watermarks, c2pa_trust=self.c2pa_trust)

    def decide(self, cases: list[Case], *, top_k: int = 5) -> None:
        for case in cases:
            if case.error is None and case.answer is None:
                case.answer = rules.evidence_answer(case.evidence)

    def describe(self) -> dict[str, Any]:
        return {"stage": self.kind, "watermarks": self.watermarks, "c2pa_trust": bool(self.c2pa_trust)}


def resolve_model_path(spec: str, base: Path) -> Path:
    """A model named in a pipeline file: a path relative to the file's own folder (the shipped
    pipeline's `"default"` and `"native"` are the model folders beside it), else a shipped model's
    name or a hub id (fakescope.models.hub.resolve_model), else the path as given."""
    from fakescope.models.hub import resolve_model

    p = Path(os.path.expanduser(spec))
    if p.is_absolute():
        return p
    if (base / p).exists():
        return base / p
    resolved = resolve_model(spec)
    return resolved if resolved != Path(spec) else base / p


@register_stage("models")
class ModelsStage(Stage):
    """Pixel models in order, each guarded by its own domain and operating point.

    Routing is by domain: every model looks at the cases no earlier model answered, and only a
    model whose domain holds the image and whose score is past one of its thresholds answers
    (`fakescope.verdict.GuardedModel` decides both). A decisive `fake` against a file that declares
    a camera capture is a conflict, and the case stays open for the fallback.
    """

    def __init__(self, *, models: list[dict[str, Any]], base: Path, backend: str = "torch", device: str = "cpu",
                 threads: int | None = None) -> None:
        from fakescope.verdict import GuardedModel

        if not models:
            raise UserError("a 'models' stage needs at least one model")
        self.models: list[Any] = []
        self.skipped: list[dict[str, str]] = []
        for entry in models:
            spec = entry["model"] if isinstance(entry, dict) else str(entry)
            path = resolve_model_path(spec, base)
            if not (path / "config.json").is_file():
                if isinstance(entry, dict) and entry.get("if_missing") == "skip":
                    self.skipped.append({"model": spec, "why": "not installed"})
                    continue
                raise UserError(f"pipeline model {spec!r}: {path} is not a model directory (no config.json)")
            self.models.append(GuardedModel.load(path, backend=backend, device=device, threads=threads))
        if not self.models:
            raise UserError("no model of the pipeline's 'models' stage is installed: "
                            + "; ".join(f"{s['model']}: {s['why']}" for s in self.skipped))

    def decide(self, cases: list[Case], *, top_k: int = 5) -> None:
        for model in self.models:
            todo = [c for c in cases if c.error is None and not c.decisive and c.conflict is None]
            if not todo:
                return
            judgements = model.judge([c.image for c in todo], [c.facts for c in todo], top_k=top_k)
            for case, j in zip(todo, judgements):
                case.judgements.append((model, j))
                if j.decision not in rules.DECISIVE:
                    continue
                case.decisive = True
                conflict = rules.conflict(case.evidence, model, j)
                if conflict is not None:
                    case.conflict = conflict
                elif case.answer is None:
                    case.answer = rules.model_answer(model, j)

    def describe(self) -> dict[str, Any]:
        return {"stage": self.kind, "models": [rules.describe_model(m) for m in self.models],
                "skipped": list(self.skipped)}


@register_stage("fallback")
class FallbackStage(Stage):
    """Whatever is still open is `uncertain`, with the reason (out of every domain, between
    thresholds, conflicting evidence)."""

    def decide(self, cases: list[Case], *, top_k: int = 5) -> None:
        for case in cases:
            if case.error is None and case.answer is None:
                case.answer = rules.uncertain_answer(case)


def build_stage(spec: dict[str, Any], **context: Any) -> Stage:
    kind = spec.get("stage")
    if kind not in STAGES:
        raise UserError(f"unknown pipeline stage {kind!r} (known: {', '.join(sorted(STAGES))})")
    options = {k: v for k, v in spec.items() if k != "stage"}
    cls = STAGES[kind]
    accepted = inspect.signature(cls).parameters
    given = {**options, **{k: v for k, v in context.items() if k in accepted}}  # what loading knows, if it needs it
    try:
        inspect.signature(cls).bind(**given)
    except TypeError as exc:  # a missing or misspelt option in the pipeline file
        raise UserError(f"pipeline stage {kind!r}: {exc}") from None
    return cls(**given)
