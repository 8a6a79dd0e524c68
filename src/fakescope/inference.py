"""Scoring images with a loaded model: the one inference path behind evaluate, detect and serve.

Images are decoded by the data layer, optionally transformed (a degradation), preprocessed from the
model's own config, batched, and scored. Bad inputs produce a per-item error, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from fakescope.data import ImageDecodeError
from fakescope.models import ModelConfig
from fakescope.models.net import fake_probability, generator_probabilities
from fakescope.models.preprocess import prepare, to_input

ImageTransform = Callable[[Image.Image, Any], Image.Image]


class Backend(Protocol):
    """Anything that maps a uint8 NHWC batch to (P(fake), generator probabilities or None)."""

    config: ModelConfig

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class TorchBackend:
    """A `DetectorNet` in eval mode on a device; inputs are normalised from the model's config."""

    def __init__(self, model: torch.nn.Module, config: ModelConfig, device: str | torch.device = "cpu") -> None:
        # Channels-last: oneDNN's convolutions run faster on NHWC on the CPU as on CUDA (training
        # uses it for the same reason); values are unchanged, only the memory layout.
        self.model = model.eval().to(device).to(memory_format=torch.channels_last)
        self.config = config
        self.device = torch.device(device)

    @torch.inference_mode()
    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x = to_input(batch, self.config.preprocess).to(self.device).contiguous(memory_format=torch.channels_last)
        out = self.model(x)
        gen = generator_probabilities(out)
        return fake_probability(out).cpu().numpy().astype(np.float64), (gen.cpu().numpy() if gen is not None else None)


@dataclass
class Scored:
    """One input's result. `item` is what was given (a Sample, a path, ...); `error` replaces a score."""

    item: Any
    score: float | None = None
    generator_probs: np.ndarray | None = None
    error: str | None = None
    size: tuple[int, int] | None = None  # decoded width, height


def score_items(
    backend: Backend,
    items: Iterable[Any],
    load: Callable[[Any], Image.Image],
    *,
    batch_size: int = 64,
    transform: ImageTransform | None = None,
    on_result: Callable[[Scored], None] | None = None,
    workers: int = 0,
) -> Iterator[Scored]:
    """Score `items` in batches, in order. `load(item)` returns an RGB image or raises ImageDecodeError.

    `transform(image, item)` (a degradation, a format alignment) runs after decoding and before the
    model's preprocessing.

    `workers` > 0 decodes and preprocesses in that many threads while the model runs (see
    `fakescope.utils.parallel.ordered_map`); a batch is then also scored early when the input
    pauses, so results stream for slow inputs. 0 keeps everything in the calling thread.
    """
    pre = backend.config.preprocess
    pending: list[Scored] = []
    arrays: list[np.ndarray] = []

    def flush() -> Iterator[Scored]:
        if arrays:
            scores, gens = backend.run(np.stack(arrays))
            k = 0
            for r in pending:
                if r.error is None:
                    r.score = float(scores[k])
                    r.generator_probs = gens[k] if gens is not None else None
                    k += 1
        for r in pending:
            if on_result is not None:
                on_result(r)
            yield r
        pending.clear()
        arrays.clear()

    def prepared(item: Any) -> tuple[Scored, np.ndarray | None]:
        result = Scored(item)
        try:
            im = load(item)
            result.size = im.size
            if transform is not None:
                im = transform(im, item)
            return result, prepare(im, pre)
        except ImageDecodeError as exc:
            result.error = exc.reason
        except (OSError, ValueError) as exc:  # a transform or preprocessing failure stays per-item
            result.error = f"{type(exc).__name__}: {exc}"
        return result, None

    if workers > 0:
        from fakescope.utils.parallel import ordered_map

        stream: Iterable[tuple[tuple[Scored, np.ndarray | None], bool]] = ordered_map(
            prepared, items, workers, depth=2 * batch_size)
    else:
        stream = ((prepared(item), True) for item in items)
    for (result, array), more_ready in stream:
        pending.append(result)
        if array is not None:
            arrays.append(array)
        if len(arrays) >= batch_size or not more_ready:
            yield from flush()
    yield from flush()
