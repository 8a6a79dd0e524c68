"""Whole-image views: the resized image beside native-resolution crops spread over it.

A photograph of 4,000 px judged from one 224-px thumbnail loses the pixel-level traces a generator
leaves; judged from one native crop it loses the scene. Preprocessing policy "views" keeps both: the
canvas is a column of 1 + K squares of `input_size` px, the first the whole image (shorter side
resized to `input_size`, centre crop), then K crops cut without resampling at an even grid over the
whole image (random positions when training). The network splits the column back into views
(`split_views`) and combines their features as its config says, so one uint8 array per image still
travels through every surface (torch, ONNX, the service, Ray) unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from fakescope.imageops import pad_to, resample

from .config import PreprocessConfig


def grid_positions(width: int, height: int, size: int, crops: int) -> list[tuple[int, int]]:
    """(left, top) of `crops` crops of `size` px on an even n x n grid over a (padded) image."""
    n = math.isqrt(crops)
    room_x, room_y = max(0, width - size), max(0, height - size)
    xs = [room_x // 2] if n == 1 else [round(i * room_x / (n - 1)) for i in range(n)]
    ys = [room_y // 2] if n == 1 else [round(i * room_y / (n - 1)) for i in range(n)]
    return [(x, y) for y in ys for x in xs]


def random_positions(width: int, height: int, size: int, crops: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    room_x, room_y = max(0, width - size), max(0, height - size)
    return [(int(rng.integers(0, room_x + 1)), int(rng.integers(0, room_y + 1))) for _ in range(crops)]


def whole_view(im: Image.Image, pre: PreprocessConfig, left: int | None = None, top: int | None = None) -> Image.Image:
    """The whole image, shorter side resized to input_size; centre crop unless a position is given."""
    size = pre.input_size
    w, h = im.size
    if min(w, h) != size:
        scale = size / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), resample(pre.interpolation))
    w, h = im.size
    x = (w - size) // 2 if left is None else min(left, w - size)
    y = (h - size) // 2 if top is None else min(top, h - size)
    return im.crop((x, y, x + size, y + size))


def mosaic(im: Image.Image, pre: PreprocessConfig, rng: np.random.Generator | None = None) -> Image.Image:
    """The views canvas of `im` (height (1 + K) * input_size): grid crops, or random ones with `rng`."""
    size, k = pre.input_size, pre.native_crops
    native = pad_to(im, size)
    w, h = native.size
    if rng is None:
        whole = whole_view(im, pre)
        positions = grid_positions(w, h, size, k)
    else:
        whole = whole_view(im, pre, *_random_whole_offset(im, size, rng))
        positions = random_positions(w, h, size, k, rng)
    canvas = Image.new("RGB", (size, size * (1 + k)))
    canvas.paste(whole, (0, 0))
    for i, (x, y) in enumerate(positions, start=1):
        canvas.paste(native.crop((x, y, x + size, y + size)), (0, i * size))
    return canvas


def _random_whole_offset(im: Image.Image, size: int, rng: np.random.Generator) -> tuple[int, int]:
    w, h = im.size
    scale = size / min(w, h)
    room_x, room_y = max(0, round(w * scale) - size), max(0, round(h * scale) - size)
    return int(rng.integers(0, room_x + 1)), int(rng.integers(0, room_y + 1))


def split_views(x: torch.Tensor, views: int) -> torch.Tensor:
    """(N, C, V * S, S) canvases -> (N * V, C, S, S): image-major, view-minor (reshape, ONNX-friendly)."""
    _, c, _, s = x.shape
    return x.reshape(-1, c, views, s, s).transpose(1, 2).reshape(-1, c, s, s)
