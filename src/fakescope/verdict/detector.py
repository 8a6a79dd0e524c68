"""`Detector`: the verdict pipeline behind every surface (API, CLI, service, page, Ray).

    from fakescope import Detector
    det = Detector.load()                          # the shipped pipeline (fakescope/weights/pipeline.json)
    det = Detector.load("my_model/")               # one model alone, with its domain check and operating point
    det = Detector.load(pipeline="mine.json")      # another pipeline file
    det.predict("photo.jpg")
    # {"verdict": "uncertain", "reason": "No verdict: outside the domain of every model (...)",
    #  "answered_by": None, "evidence": [...], "label": "real", "score": 0.01, "generator": None, "error": None}

`label`/`score`/`generator` are the raw model output as before (see fakescope.verdict.result);
`verdict` is the answer to trust: fake, real or uncertain, with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fakescope.data.decode import DEFAULT_MAX_PIXELS
from fakescope.detect.runner import DEFAULT_TOP_K, _backend_factory, physical_cores, predict_with
from fakescope.detect.inputs import ImageInput
from fakescope.models.io import CONFIG
from fakescope.models.hub import resolve_model

from .pipeline import Pipeline, single_model_spec


class Detector:
    """A loaded pipeline. `backend`, `config`, `model_dir`, `threshold` are those of its first model
    (what explanations, ONNX export and `info()` describe)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        models = pipeline.models
        self.primary = models[0] if models else None

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str] | None = None, *, pipeline: str | os.PathLike[str] | None = None,
             backend: str = "torch", device: str = "cpu", threads: int | None = None,
             watermarks: bool | None = None) -> "Detector":
        """No argument: the shipped pipeline (or $FAKESCOPE_MODEL as one model, or $FAKESCOPE_PIPELINE).
        `model_dir`: that model alone after the evidence stage. `pipeline`: a pipeline file."""
        if model_dir is not None and pipeline is not None:
            raise ValueError("give a model directory or a pipeline file, not both")
        _backend_factory(backend)  # an unknown backend fails before any loading
        from_env = ""
        if model_dir is None and pipeline is None:
            model_dir = os.environ.get("FAKESCOPE_MODEL") or None
            pipeline = os.environ.get("FAKESCOPE_PIPELINE") or None
            from_env = "FAKESCOPE_MODEL=" if model_dir else ""
        options = {"backend": backend, "device": device, "threads": threads, "watermarks": watermarks}
        if model_dir is not None:
            directory = resolve_model(model_dir)  # a path, a shipped model's name ("native") or hf:OWNER/NAME
            if not (directory / CONFIG).is_file():
                raise FileNotFoundError(f"{from_env}{directory} is not a model directory (no {CONFIG})")
            return cls(Pipeline.load(spec=single_model_spec(directory), **options))
        if pipeline is not None and not Path(pipeline).is_file():
            raise FileNotFoundError(f"pipeline file {pipeline} not found")
        return cls(Pipeline.load(pipeline, **options))

    # -- the first model, for what needs one model (explanations, ONNX, the table header) --------

    @property
    def backend(self) -> Any:
        """The first model's scoring backend when it is not the torch network (onnx); else None."""
        return getattr(self.primary, "scorer", None)

    @property
    def config(self) -> Any:
        return getattr(self.primary, "config", None)

    @property
    def model_dir(self) -> Path | None:
        d = getattr(self.primary, "model_dir", None)
        return Path(d) if d is not None else None

    @property
    def threshold(self) -> float:
        return float(self.config.threshold) if self.config is not None else 0.5

    def info(self) -> dict[str, Any]:
        """The first model's description (name, version, preprocessing, ...) plus the pipeline's."""
        out: dict[str, Any] = {}
        c = self.config
        if c is not None:
            out = {
                "name": c.name or (self.model_dir.name if self.model_dir else c.architecture),
                "architecture": c.architecture,
                "task": c.task,
                "version": (c.card.get("weights_sha256") or "")[:12],
                "input_size": c.preprocess.input_size,
                "preprocess": {**c.to_dict()["preprocess"]},
                "tta": list(c.tta),
                "labels": list(c.labels),
                "generators": list(c.generators),
                "threshold": c.threshold,
                "metrics": c.card.get("metrics") or c.metrics,
                "backend": type(self.backend).__name__ if self.backend is not None else "TorchBackend",
            }
        out["pipeline"] = self.pipeline.describe()
        return out

    # -- verdicts ----------------------------------------------------------------------------------

    def iter_predict(self, images: Iterable[ImageInput], *, batch_size: int = 64, threshold: float | None = None,
                     top_k: int = DEFAULT_TOP_K, workers: int | None = None,
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(input, result) pairs in input order, batch by batch (streams for huge inputs).

        `workers` threads read, decode and inspect the next files while the models judge the
        current batch (default: one per physical core; 0: all in the calling thread).
        `threshold` changes the raw `label` only; verdicts follow each model's operating point.
        """
        n_workers = physical_cores() if workers is None else int(workers)
        yield from self.pipeline.run(images, batch_size=batch_size, workers=n_workers, threshold=threshold,
                                     top_k=top_k, max_pixels=max_pixels)

    def predict(self, images: ImageInput | Iterable[ImageInput], *, batch_size: int = 64,
                threshold: float | None = None, top_k: int = DEFAULT_TOP_K,
                workers: int | None = None) -> dict[str, Any] | list[dict[str, Any]]:
        """One result dict for one input; a list of result dicts for a list of inputs."""
        return predict_with(self.iter_predict, images, batch_size=batch_size, threshold=threshold, top_k=top_k,
                            workers=workers)

    def __repr__(self) -> str:
        models = ", ".join(f"{m.name_version} ({m.config.architecture}, {m.config.preprocess.input_size}px)"
                           for m in self.pipeline.models)
        return f"Detector(pipeline {self.pipeline.name!r}: {models})"


__all__ = ["Detector"]
