"""Test-time augmentation: score an image as the average over label-preserving views.

A model's config lists the views (`"tta": ["hflip"]`); `DetectorNet` applies them in eval mode
only, so training is unchanged and every inference path (evaluate, detect, serve, the ONNX graph
exported from the module) scores the same way. The views run as one batch and their logits are
averaged, which costs one forward pass over a k-times larger batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .config import TTA_VIEWS

# A horizontal mirror keeps every forensic statistic CIFAKE's detectors use (pixel correlations,
# spectra) and the semantics, so it is a view of the same evidence, not new evidence.
VIEWS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "hflip": lambda x: torch.flip(x, dims=[3]),
}
assert set(VIEWS) == set(TTA_VIEWS), "models/config.py TTA_VIEWS must name exactly the views defined here"


def stack_views(x: torch.Tensor, names: list[str]) -> torch.Tensor:
    """The original batch followed by each view of it: (1 + len(names)) * N images."""
    return torch.cat([x] + [VIEWS[n](x) for n in names])


def average_views(out: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """Mean logits over the k views of each image (inverse of `stack_views`'s batch layout)."""
    return {key: value.unflatten(0, (k, -1)).mean(0) for key, value in out.items()}
