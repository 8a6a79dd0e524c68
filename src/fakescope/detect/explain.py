"""Explanations: which regions drove a verdict (Grad-CAM), and the spectrum frequency detectors see.

Grad-CAM (Selvaraju et al. 2017) as Bird & Lotfi use it for CIFAKE: the gradients of the fake
logit with respect to the backbone's `cam_target` feature map weight its channels; the ReLU of the
weighted sum, up-sampled to the input, is the heatmap. Backbones without a convolutional target
(a ViT tower, hand-crafted features) get a gradient-times-input saliency map instead. Detectors
that read the Fourier spectrum (`spectral`) also get the log power spectrum they measured.

The heatmap is over the model's input view (after its resize/crop policy), which is what the
network actually saw; the overlay is drawn on that view, enlarged for display.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fakescope.models import DetectorNet, ModelConfig
from fakescope.models.preprocess import geometry, to_input

DISPLAY_MIN = 256  # overlays are enlarged (nearest) to at least this many pixels for viewing


@dataclass
class Explanation:
    kind: str  # "gradcam" or "saliency", for the class the model chose (fake or real)
    heatmap: np.ndarray  # (S, S) float32 in [0, 1], over the model's input view
    view: Image.Image  # the model's input view (RGB, S x S)
    overlay: Image.Image  # heatmap blended over the view, enlarged for display
    score: float  # P(fake) of this forward pass
    spectrum: Image.Image | None = None  # log power spectrum, for frequency-based detectors


def _fake_logit(out: dict[str, torch.Tensor]) -> torch.Tensor:
    if "binary" in out:
        return out["binary"]
    logits = out["generator"]
    # log-odds of "not Real" against "Real" (generator vocabularies put Real first)
    return torch.logsumexp(logits[:, 1:], dim=1) - logits[:, 0]


def _verdict_logit(out: dict[str, torch.Tensor]) -> torch.Tensor:
    """The logit of the class the model chose: what drove *this* verdict, fake or real."""
    logit = _fake_logit(out)
    return torch.where(logit >= 0, logit, -logit)


def _gradcam(model: DetectorNet, x: torch.Tensor, target: torch.nn.Module) -> tuple[np.ndarray, float]:
    store: dict[str, torch.Tensor] = {}

    def keep(_module: torch.nn.Module, _inp: object, output: torch.Tensor) -> None:
        output.retain_grad()
        store["act"] = output

    handle = target.register_forward_hook(keep)
    try:
        out = model(x)
        logit = _fake_logit(out)
        model.zero_grad(set_to_none=True)
        _verdict_logit(out).sum().backward()
    finally:
        handle.remove()
    act, grad = store["act"], store["act"].grad
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return cam.detach().numpy(), float(torch.sigmoid(logit.detach())[0])


def _saliency(model: DetectorNet, x: torch.Tensor) -> tuple[np.ndarray, float]:
    x = x.clone().requires_grad_(True)
    out = model(x)
    logit = _fake_logit(out)
    model.zero_grad(set_to_none=True)
    _verdict_logit(out).sum().backward()
    sal = (x.grad * x).abs().sum(1, keepdim=True)
    # smooth the pixel-level map so that it reads as regions, like a CAM
    k = max(3, x.shape[-1] // 16) | 1
    sal = F.avg_pool2d(sal, k, stride=1, padding=k // 2)[0, 0]
    return sal.detach().numpy(), float(torch.sigmoid(logit.detach())[0])


def _normalise(h: np.ndarray) -> np.ndarray:
    h = np.nan_to_num(h.astype(np.float32))
    span = float(h.max() - h.min())
    return (h - h.min()) / span if span > 1e-12 else np.zeros_like(h)


def colorize(heatmap: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8 through a matplotlib colormap."""
    from matplotlib import colormaps

    return (colormaps[cmap](np.clip(heatmap, 0, 1))[:, :, :3] * 255).astype(np.uint8)


def overlay(view: Image.Image, heatmap: np.ndarray, alpha: float = 0.45) -> Image.Image:
    size = max(DISPLAY_MIN, view.size[0])
    base = view.resize((size, size), Image.Resampling.NEAREST)
    heat = Image.fromarray(colorize(heatmap)).resize((size, size), Image.Resampling.BILINEAR)
    return Image.blend(base, heat, alpha)


def spectrum_image(model: DetectorNet, x: torch.Tensor) -> Image.Image | None:
    """The log power spectrum a frequency-based backbone computes, centred, as a colour image."""
    spectrum = getattr(model.backbone, "spectrum", None)
    if spectrum is None:
        return None
    with torch.no_grad():
        s = spectrum(x)[0].numpy()
    s = np.fft.fftshift(s)
    lo, hi = np.percentile(s, [1, 99.5])
    img = Image.fromarray(colorize(np.clip((s - lo) / max(hi - lo, 1e-6), 0, 1), "magma"))
    return img.resize((max(DISPLAY_MIN, img.size[0]),) * 2, Image.Resampling.NEAREST)


def explain(model: DetectorNet, config: ModelConfig, image: Image.Image) -> Explanation:
    """Explain one RGB image's verdict with the model's own preprocessing."""
    view = geometry(image, config.preprocess)
    x = to_input(np.array(view, dtype=np.uint8)[None], config.preprocess)
    was_training = model.training
    model.eval()
    target = getattr(model.backbone, "cam_target", None)
    try:
        with torch.enable_grad():
            if target is not None:
                heat, score = _gradcam(model, x, target)
                kind = "gradcam"
            else:
                heat, score = _saliency(model, x)
                kind = "saliency"
    finally:
        model.train(was_training)
    heat = _normalise(heat)
    return Explanation(kind=kind, heatmap=heat, view=view, overlay=overlay(view, heat), score=score,
                       spectrum=spectrum_image(model, x))
