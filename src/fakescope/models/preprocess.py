"""Turn decoded images into network input, derived only from a model's `PreprocessConfig`.

There is no second copy of these rules: training, evaluation, `detect`, the ONNX backend and the
service all call `prepare` (PIL -> uint8 HWC array at the network's size) and `to_input`
(uint8 batch -> normalised float NCHW tensor).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from fakescope.imageops import center_crop, center_crop_torchvision, resample

from .config import PreprocessConfig
from .views import mosaic


def geometry(im: Image.Image, pre: PreprocessConfig) -> Image.Image:
    """Apply the resize/crop policy deterministically (evaluation and inference)."""
    size = pre.input_size
    tv = pre.geometry == "torchvision"
    crop = center_crop_torchvision if tv else center_crop
    if pre.resize == "resize":
        return im if im.size == (size, size) else im.resize((size, size), resample(pre.interpolation))
    if pre.resize == "resize_crop":
        target = int(round(size / pre.crop_pct))
        w, h = im.size
        if min(w, h) != target:
            if tv:  # transforms.Resize(int): the shorter side becomes target, the longer one int(target * long / short)
                new = (target, int(target * h / w)) if w <= h else (int(target * w / h), target)
            else:
                scale = target / min(w, h)
                new = (max(target, round(w * scale)), max(target, round(h * scale)))
            im = im.resize(new, resample(pre.interpolation))
        return crop(im, size)
    if pre.resize == "views":
        return mosaic(im, pre)
    return crop(im, size)  # "crop"


def prepare(im: Image.Image, pre: PreprocessConfig) -> np.ndarray:
    """RGB PIL image -> uint8 array `pre.canvas_shape` ((size, size, 3) but for policy "views"), ready to batch."""
    out = geometry(im, pre)
    arr = np.asarray(out, dtype=np.uint8)
    if arr.shape != pre.canvas_shape:
        raise ValueError(f"preprocessing produced {arr.shape}, expected {pre.canvas_shape}")
    return arr


def to_input(batch: np.ndarray | torch.Tensor | Sequence[np.ndarray], pre: PreprocessConfig) -> torch.Tensor:
    """uint8 NHWC batch -> float32 NCHW, scaled to [0, 1] and normalised with the config's mean/std."""
    if isinstance(batch, (list, tuple)):
        batch = np.stack(batch)
    t = torch.as_tensor(batch)
    if t.dtype != torch.uint8 or t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected a uint8 NHWC batch, got {tuple(t.shape)} {t.dtype}")
    x = t.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(pre.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std).contiguous()


def normalization_arrays(pre: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) as float32 arrays shaped (1, 3, 1, 1), for backends that do not use torch."""
    return (
        np.asarray(pre.mean, dtype=np.float32).reshape(1, 3, 1, 1),
        np.asarray(pre.std, dtype=np.float32).reshape(1, 3, 1, 1),
    )
