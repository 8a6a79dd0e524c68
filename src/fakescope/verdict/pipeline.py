"""The verdict pipeline: a declarative file of stages, loaded into `Pipeline`, run over inputs.

The shipped pipeline is `fakescope/weights/pipeline.json`:

    {"name": "fakescope-default",
     "stages": [{"stage": "evidence", "watermarks": false},
                {"stage": "models", "models": [{"model": "default"}, {"model": "native", "if_missing": "skip"}]},
                {"stage": "fallback"}]}

Model paths are relative to the pipeline file's folder. `single_model_spec(DIR)` is what
`--model DIR` runs: the same evidence stage, that one model (domain check and operating point
included), the fallback. JSON or TOML (by extension).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakescope.data.decode import DEFAULT_MAX_PIXELS
from fakescope.errors import UserError

from .cases import Case, open_case
from .result import case_result
from .stages import Stage, build_stage

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_PIPELINE = WEIGHTS_DIR / "pipeline.json"
# Decoded images wait in a batch until every model has judged them (the native-resolution model
# needs the full pixels), so a batch is also closed at this many pixels (~768 MB of RGB).
BATCH_PIXELS = 256_000_000


def read_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read pipeline file {p}: {exc.strerror or exc}") from None
    try:
        spec = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{p}: not a valid pipeline file: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("stages"), list) or not spec["stages"]:
        raise UserError(f"{p}: a pipeline file needs a non-empty list of 'stages'")
    return spec


def single_model_spec(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """One model alone (with its domain and operating point), after the evidence, before the fallback."""
    default = read_spec(DEFAULT_PIPELINE)
    evidence = [s for s in default["stages"] if s.get("stage") == "evidence"]
    return {"name": f"single model: {Path(model_dir).name}",
            "stages": evidence + [{"stage": "models", "models": [{"model": str(Path(model_dir).resolve())}]},
                                  {"stage": "fallback"}]}


@dataclass
class Pipeline:
    name: str
    stages: list[Stage]
    source: str

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, spec: dict[str, Any] | None = None,
             backend: str = "torch", device: str = "cpu", threads: int | None = None,
             watermarks: bool | None = None) -> "Pipeline":
        """A pipeline from a file (default: the shipped one) or an already-read spec."""
        file = Path(path) if path is not None else DEFAULT_PIPELINE
        source = str(file) if spec is None else "(built in: one model)"
        if spec is None:
            spec = read_spec(file)
        base = file.resolve().parent
        stages = []
        for entry in spec["stages"]:
            if not isinstance(entry, dict):
                raise UserError(f"{file}: every stage is an object with a 'stage' key, not {entry!r}")
            if entry.get("stage") == "evidence" and watermarks is not None:
                entry = {**entry, "watermarks": watermarks}
            stages.append(build_stage(entry, base=base, backend=backend, device=device, threads=threads))
        if stages[-1].kind != "fallback":
            raise UserError(f"{file}: the last stage must be 'fallback' (every image gets an answer)")
        return cls(str(spec.get("name") or file.stem), stages, source)

    @property
    def models(self) -> list[Any]:
        """The guarded models of every models stage, in order."""
        return [m for s in self.stages for m in getattr(s, "models", [])]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.source, "stages": [s.describe() for s in self.stages]}

    def prepare(self, item: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> Case:
        """Per file (in a reader thread): read the bytes once, decode, let each stage look at it."""
        case = open_case(item, max_pixels=max_pixels)
        for stage in self.stages:
            if case.data is not None or case.error is None:
                try:
                    stage.prepare(case)
                except Exception as exc:  # noqa: BLE001 - a reader bug on hostile bytes stays this file's problem
                    case.error = case.error or f"{stage.kind}: {type(exc).__name__}: {exc}"
        case.data = None  # the bytes are no longer needed; the batch keeps only the pixels
        return case

    def decide(self, cases: list[Case], *, top_k: int = 5) -> None:
        for stage in self.stages:
            stage.decide(cases, top_k=top_k)

    def run(self, items: Iterable[Any], *, batch_size: int = 64, workers: int = 0, threshold: float | None = None,
            top_k: int = 5, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(input, result) pairs in input order, batch by batch (streams for huge inputs)."""
        pending: list[Case] = []
        pixels = 0

        def flush() -> Iterator[tuple[Any, dict[str, Any]]]:
            self.decide(pending, top_k=top_k)
            for case in pending:
                yield case.item, case_result(case, threshold=threshold, top_k=top_k)
            pending.clear()

        def prepare(item: Any) -> Case:
            return self.prepare(item, max_pixels)

        if workers > 0:
            from fakescope.utils.parallel import ordered_map

            stream: Iterable[tuple[Case, bool]] = ordered_map(prepare, items, workers, depth=batch_size)
        else:
            stream = ((prepare(item), True) for item in items)
        for case, more_ready in stream:
            pending.append(case)
            pixels += case.pixels
            if len(pending) >= batch_size or pixels >= BATCH_PIXELS or not more_ready:
                yield from flush()
                pixels = 0
        if pending:
            yield from flush()
