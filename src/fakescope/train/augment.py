"""Training-time image transform: augmentations, then the model's geometry with random placement.

The evaluation transform is `models.preprocess.prepare`; this one differs only where training
should (random crop position, flips, blur/JPEG), and uses the same image operations as the
evaluation degradations (`fakescope.imageops`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from fakescope.imageops import gaussian_blur, jpeg_reencode, pad_to, resample
from fakescope.models.config import PreprocessConfig
from fakescope.models.preprocess import prepare
from fakescope.models.views import mosaic

from .options import AugmentOptions


def _random_crop(im: Image.Image, size: int, rng: np.random.Generator) -> Image.Image:
    im = pad_to(im, size)
    w, h = im.size
    left = int(rng.integers(0, w - size + 1))
    top = int(rng.integers(0, h - size + 1))
    return im.crop((left, top, left + size, top + size))


def train_geometry(im: Image.Image, pre: PreprocessConfig, aug: AugmentOptions, rng: np.random.Generator) -> Image.Image:
    size = pre.input_size
    if not aug.crop:
        return Image.fromarray(prepare(im, pre))
    if pre.resize == "views":  # whole view at a random offset, native crops at random positions
        return mosaic(im, pre, rng)
    if pre.resize == "resize":
        # Whole-image resize, then CIFAR-style translation: reflect-pad by 1/8 and crop back.
        im = im if im.size == (size, size) else im.resize((size, size), resample(pre.interpolation))
        pad = max(1, size // 8)
        arr = np.pad(np.asarray(im), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        return _random_crop(Image.fromarray(arr), size, rng)
    if pre.resize == "resize_crop":
        target = int(round(size / pre.crop_pct))
        w, h = im.size
        if min(w, h) != target:
            scale = target / min(w, h)
            im = im.resize((max(target, round(w * scale)), max(target, round(h * scale))), resample(pre.interpolation))
    return _random_crop(im, size, rng)  # "crop": native resolution, random position


def image_augment(im: Image.Image, aug: AugmentOptions, rng: np.random.Generator) -> Image.Image:
    """The whole-image augmentations (blur, JPEG re-encoding), before any crop."""
    if aug.blur_prob and rng.random() < aug.blur_prob:
        im = gaussian_blur(im, float(rng.uniform(*aug.blur_sigma)))
    if aug.jpeg_prob and rng.random() < aug.jpeg_prob:
        im = jpeg_reencode(im, int(rng.integers(aug.jpeg_quality[0], aug.jpeg_quality[1] + 1)))
    return im


def train_transform(im: Image.Image, pre: PreprocessConfig, aug: AugmentOptions, rng: np.random.Generator) -> np.ndarray:
    """RGB PIL image -> augmented uint8 HWC array at the model's input size."""
    return crop_and_flip(image_augment(im, aug, rng), pre, aug, rng)


def crop_and_flip(im: Image.Image, pre: PreprocessConfig, aug: AugmentOptions, rng: np.random.Generator) -> np.ndarray:
    """The per-crop part of `train_transform`: random placement, then a random mirror.

    With several crops per image (--patches-per-image) the whole-image part runs once per decode
    and this part once per crop, so one JPEG re-encoding serves every crop of that image."""
    out = np.asarray(train_geometry(im, pre, aug, rng), dtype=np.uint8)
    if aug.flip and rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
