"""Multi-crop inference: judge an image from K crops at native resolution instead of one.

Preprocessing (config `preprocess`, policy "crop") gives a canvas of input_size px cut from the
image without resampling; in eval mode `DetectorNet` cuts K crops of `multicrop.size` px from it at
fixed positions, runs them as one batch and averages their logits. The positions depend only on
the config, so they are constants of the module: the ONNX graph exported from it, the torch
backend, evaluate, detect, serve and the Ray engine all score the same crops. Training sees single
random crops of the same size (train/augment.py), so every crop is in the network's own domain.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import MultiCropConfig


def crop_offsets(mc: MultiCropConfig, canvas: int) -> list[tuple[int, int]]:
    """(top, left) of each crop inside a canvas x canvas image; deterministic for a config."""
    room = canvas - mc.size
    if room < 0:
        raise ValueError(f"multicrop size {mc.size} exceeds the canvas {canvas}")
    if mc.how == "grid":
        n = round(mc.crops ** 0.5)
        # n evenly spaced positions from 0 to room: corners included, overlap when n * size > canvas;
        # a single crop sits in the centre.
        steps = [room // 2] if n == 1 else [round(i * room / (n - 1)) for i in range(n)]
        return [(top, left) for top in steps for left in steps]
    rng = np.random.default_rng(mc.seed)
    return [(int(rng.integers(0, room + 1)), int(rng.integers(0, room + 1))) for _ in range(mc.crops)]


def stack_crops(x: torch.Tensor, mc: MultiCropConfig) -> torch.Tensor:
    """(N, C, H, W) canvas batch -> (K * N, C, size, size): crop k of every image, then crop k + 1 ...

    The crop-major layout is the one `tta.average_views` undoes (mean over the first factor)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"multicrop expects square canvases, got {tuple(x.shape[-2:])}")
    s = mc.size
    return torch.cat([x[:, :, t:t + s, l:l + s] for t, l in crop_offsets(mc, int(x.shape[-1]))])
