"""Image operations shared by training augmentation and evaluation degradations.

One implementation of each operation, so that "JPEG quality 30" means the same encoder and the
same settings whether it is an augmentation or a robustness condition (DESIGN.md, pitfall 3).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, features

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def resample(name: str) -> Image.Resampling:
    return _RESAMPLE[name]


def encoder_description() -> dict[str, str]:
    """Which encoder produced re-encoded images: recorded in every protocol that re-encodes."""
    return {
        "library": f"Pillow {Image.__version__}",
        "jpeg": f"libjpeg-turbo {features.version('libjpeg_turbo') or 'unknown'} (4:2:0 subsampling, optimize off)",
        "png": f"zlib {features.version('zlib') or 'unknown'} (compress_level 6)",
    }


def jpeg_reencode(im: Image.Image, quality: int) -> Image.Image:
    """Encode as baseline JPEG at `quality` (Pillow/libjpeg-turbo, 4:2:0) and decode again."""
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0")
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def jpeg_bytes(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def png_reencode(im: Image.Image) -> Image.Image:
    out = Image.open(io.BytesIO(png_bytes(im)))
    out.load()
    return out.convert("RGB")


def gaussian_blur(im: Image.Image, sigma: float) -> Image.Image:
    """Gaussian blur with standard deviation `sigma` pixels (Pillow's GaussianBlur radius is sigma)."""
    if sigma <= 0:
        return im
    return im.filter(ImageFilter.GaussianBlur(radius=float(sigma)))


def downsample_shorter(im: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    """Resize so the shorter side is `size` (GenImage's low-resolution setting); never upsamples."""
    w, h = im.size
    short = min(w, h)
    if short <= size:
        return im
    scale = size / short
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    if min(new) != size:  # rounding must not move the shorter side off `size`
        new = (size, new[1]) if w <= h else (new[0], size)
    return im.resize(new, resample(interpolation))


def add_gaussian_noise(im: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Add zero-mean Gaussian noise of `sigma` (in 0-255 units), clipped to 8 bits."""
    arr = np.asarray(im, dtype=np.float32)
    noisy = arr + rng.normal(0.0, sigma, size=arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), mode="RGB")


def center_crop(im: Image.Image, size: int) -> Image.Image:
    """Centre crop `size` x `size`; smaller images are reflect-padded first (no resampling)."""
    im = pad_to(im, size)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    return im.crop((left, top, left + size, top + size))


def center_crop_torchvision(im: Image.Image, size: int) -> Image.Image:
    """torchvision's CenterCrop on a PIL image, pixel for pixel: smaller images are padded with black
    (the extra pixel of an odd padding on the right/bottom), and the offset is int(round(margin / 2)),
    Python's half-to-even rounding. Published detectors' test transforms use it."""
    w, h = im.size
    if w < size or h < size:
        pw, ph = max(0, size - w), max(0, size - h)
        canvas = Image.new("RGB", (w + pw, h + ph), (0, 0, 0))
        canvas.paste(im, (pw // 2, ph // 2))
        im, (w, h) = canvas, canvas.size
        if (w, h) == (size, size):
            return im
    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def pad_to(im: Image.Image, size: int) -> Image.Image:
    w, h = im.size
    if w >= size and h >= size:
        return im
    arr = np.asarray(im)
    ph, pw = max(0, size - h), max(0, size - w)
    mode = "reflect" if (h > ph // 2 + 1 and w > pw // 2 + 1) else "edge"
    arr = np.pad(arr, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode=mode)
    return Image.fromarray(arr, mode="RGB")
