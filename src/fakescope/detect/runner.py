"""`ModelRunner`: one model directory, raw scores: P(fake), the label at the model's threshold.

    from fakescope.detect.runner import ModelRunner
    det = ModelRunner.load(model_dir)
    det.predict("photo.jpg")                   # {"label": "fake", "score": 0.97, "generator": [...] or None}
    det.predict(["a.png", pil_image, raw_bytes, numpy_array])   # a list, one result per input

This is the layer below verdicts: it knows nothing of domains, operating points or evidence. Users
want `fakescope.Detector` (fakescope.verdict.detector), which runs the verdict pipeline and adds
`verdict`, `reason`, `answered_by` and `evidence` to these fields.
Preprocessing comes from the model's own config.json; there is no second copy of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fakescope.inference import Backend, Scored, TorchBackend, score_items
from fakescope.models import ModelConfig, load_model, read_config
from fakescope.models.hub import resolve_model
from fakescope.models.io import CONFIG

from .inputs import ImageInput, describe_input, load_input

DEFAULT_TOP_K = 5


def default_model_dir() -> Path:
    """The model shipped inside the package (`fakescope/weights/default`), or FAKESCOPE_MODEL if set
    (a directory or a hub id, hf:OWNER/NAME[@REVISION])."""
    override = os.environ.get("FAKESCOPE_MODEL")
    if override:
        return resolve_model(override)
    return Path(__file__).resolve().parents[1] / "weights" / "default"


def physical_cores() -> int:
    """Cores that do floating-point work in parallel (hyper-threads share one): the thread default."""
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _torch_backend(model_dir: Path, device: str, threads: int | None) -> Backend:
    import torch

    if threads:
        torch.set_num_threads(threads)
    model, config = load_model(model_dir, device=device)
    return TorchBackend(model, config, device)


# Backends by name. Optional ones live in their own modules (fakescope.detect.<name>_backend) and
# register themselves on import, so their runtime (onnxruntime) is only imported when asked for.
BACKENDS: dict[str, Callable[[Path, str, int | None], Backend]] = {"torch": _torch_backend}
OPTIONAL_BACKENDS = ("onnx",)


def _import_backend(name: str) -> None:
    try:
        __import__(f"fakescope.detect.{name}_backend")
    except ImportError:
        pass


def _backend_factory(name: str) -> Callable[[Path, str, int | None], Backend]:
    if name not in BACKENDS and name in OPTIONAL_BACKENDS:
        _import_backend(name)
    if name not in BACKENDS:
        for other in OPTIONAL_BACKENDS:
            _import_backend(other)
        raise KeyError(f"unknown backend {name!r} (available: {', '.join(sorted(BACKENDS))})")
    return BACKENDS[name]


class ModelRunner:
    def __init__(self, backend: Backend, model_dir: Path | None = None) -> None:
        self.backend = backend
        self.config: ModelConfig = backend.config
        self.model_dir = model_dir

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str] | None = None, *, backend: str = "torch", device: str = "cpu",
             threads: int | None = None) -> "ModelRunner":
        """Load a model directory (model.safetensors + config.json), a shipped model by name ("default",
        "native": `fakescope models`) or a hub model (hf:OWNER/NAME[@REVISION]); None loads the shipped default."""
        directory = resolve_model(model_dir) if model_dir is not None else default_model_dir()
        factory = _backend_factory(backend)  # an unknown backend fails before any loading
        if not (directory / CONFIG).is_file():
            if model_dir is not None:
                raise FileNotFoundError(f"{directory} is not a model directory (no {CONFIG})")
            if os.environ.get("FAKESCOPE_MODEL"):
                raise FileNotFoundError(f"FAKESCOPE_MODEL={directory} is not a model directory (no {CONFIG})")
            raise FileNotFoundError(f"no default model is installed (expected at {directory}): "
                                    "pass a model directory (--model DIR) or set FAKESCOPE_MODEL")
        return cls(factory(directory, device, threads), directory)

    @property
    def threshold(self) -> float:
        return float(self.config.threshold)

    def info(self) -> dict[str, Any]:
        """What produced the verdicts: name, architecture, input size, preprocessing, vocabularies, metrics."""
        c = self.config
        return {
            "name": c.name or (self.model_dir.name if self.model_dir else c.architecture),
            "architecture": c.architecture,
            "task": c.task,
            "version": (c.card.get("weights_sha256") or "")[:12],
            "input_size": c.preprocess.input_size,
            "preprocess": {**c.to_dict()["preprocess"]},
            "tta": list(c.tta),
            "multicrop": c.to_dict()["multicrop"],
            "labels": list(c.labels),
            "generators": list(c.generators),
            "threshold": c.threshold,
            "metrics": c.card.get("metrics") or c.metrics,
            "backend": type(self.backend).__name__,
        }

    def _result(self, scored: Scored, threshold: float, top_k: int) -> dict[str, Any]:
        if scored.error is not None:
            return {"label": None, "score": None, "generator": None, "error": scored.error}
        gens = None
        if scored.generator_probs is not None:
            order = np.argsort(-scored.generator_probs)[:top_k]
            gens = [{"label": self.config.generators[i], "score": float(scored.generator_probs[i])} for i in order]
        score = float(scored.score)
        return {"label": "fake" if score >= threshold else "real", "score": score, "generator": gens}

    def iter_predict(self, images: Iterable[ImageInput], *, batch_size: int = 64, threshold: float | None = None,
                     top_k: int = DEFAULT_TOP_K, workers: int | None = None) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(input, result) pairs in input order, produced batch by batch (streams for huge inputs).

        `workers` threads decode and resize the next images while the model scores the current
        batch (default: one per physical core; 0: all in the calling thread). Reading ahead is
        bounded (two batches), and a batch is scored early when the input pauses.
        """
        t = self.threshold if threshold is None else float(threshold)
        n_workers = physical_cores() if workers is None else int(workers)
        for scored in score_items(self.backend, images, load_input, batch_size=batch_size, workers=n_workers):
            yield scored.item, self._result(scored, t, top_k)

    def predict(self, images: ImageInput | Iterable[ImageInput], *, batch_size: int = 64,
                threshold: float | None = None, top_k: int = DEFAULT_TOP_K,
                workers: int | None = None) -> dict[str, Any] | list[dict[str, Any]]:
        """One result dict for one input; a list of result dicts for a list of inputs."""
        return predict_with(self.iter_predict, images, batch_size=batch_size, threshold=threshold, top_k=top_k,
                            workers=workers)

    def __repr__(self) -> str:
        return f"ModelRunner({self.info()['name']!r}, {self.config.architecture}, {self.config.preprocess.input_size}px)"


def predict_with(iter_predict: Callable[..., Iterator[tuple[Any, dict[str, Any]]]],
                 images: ImageInput | Iterable[ImageInput], *, workers: int | None = None,
                 **options: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """`predict` over any `iter_predict` (one model or the verdict pipeline): one result dict for one
    input, a list of result dicts for a list of inputs."""
    single = not isinstance(images, (list, tuple)) and not _is_iterable_of_inputs(images)
    items = [images] if single else list(images)  # type: ignore[arg-type]
    if len(items) < 2:
        workers = 0  # nothing to overlap: no threads for a single image (the service's common case)
    results = [r for _, r in iter_predict(items, workers=workers, **options)]
    return results[0] if single else results


def _is_iterable_of_inputs(obj: Any) -> bool:
    if isinstance(obj, (str, bytes, bytearray, memoryview, os.PathLike, np.ndarray)):
        return False
    from PIL import Image

    if isinstance(obj, Image.Image):
        return False
    return isinstance(obj, Iterable)


__all__ = ["ModelRunner", "default_model_dir", "describe_input", "read_config"]
