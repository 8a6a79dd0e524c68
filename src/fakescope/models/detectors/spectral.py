"""`spectral`: the classical forensic baseline, hand-crafted features + logistic regression.

Features, all computed in torch so the model exports to ONNX like any other:
- the azimuthally averaged log power spectrum of the luminance (Durall et al. 2020: generators'
  up-sampling leaves a tell-tale high-frequency spectrum), through DFT matrices rather than
  torch.fft so that it is plain matrix algebra;
- statistics of the high-pass residual (image minus its 3x3 local mean): spread, heavy tails,
  flat-area fraction, per-channel spread and cross-channel correlation (demosaicing and camera
  noise correlate the channels of a photograph);
- colour statistics and JPEG 8x8 blockiness.
The features are standardised with statistics stored in the weights, and the heads (binary and/or
generator) are fitted in closed form by logistic regression (`fit="features"`), so it trains in
seconds on a CPU: the reference every learned detector must beat.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector

LUMA = (0.299, 0.587, 0.114)


def _dft_matrices(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    k = torch.arange(n, dtype=torch.float64)
    angle = 2 * math.pi * torch.outer(k, k) / n
    return torch.cos(angle).float(), torch.sin(angle).float()


def _radial_bins(n: int, bins: int) -> torch.Tensor:
    """(n*n, bins) averaging matrix: column b averages the spectrum cells at radius bin b."""
    f = torch.fft.fftfreq(n, dtype=torch.float64)
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2) / (0.5 * math.sqrt(2))
    idx = torch.clamp((radius * bins).long(), max=bins - 1).reshape(-1)
    onehot = F.one_hot(idx, bins).double()
    return (onehot / onehot.sum(0).clamp(min=1)).float()


class SpectralFeatures(nn.Module):
    def __init__(self, size: int, bins: int = 32) -> None:
        super().__init__()
        cos, sin = _dft_matrices(size)
        window = torch.hann_window(size, periodic=False, dtype=torch.float64)
        # Derived from `size`: rebuilt at load time, not stored in the weights file.
        self.register_buffer("dft_cos", cos, persistent=False)
        self.register_buffer("dft_sin", sin, persistent=False)
        self.register_buffer("window", torch.outer(window, window).float(), persistent=False)
        self.register_buffer("bin_matrix", _radial_bins(size, bins), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)
        self.size = size
        self.bins = bins
        self.num_raw = bins + 20
        # Standardisation of the raw features, fitted on the training data (stored in the weights).
        self.register_buffer("feat_mean", torch.zeros(self.num_raw))
        self.register_buffer("feat_std", torch.ones(self.num_raw))
        self.num_features = self.num_raw

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """log power spectrum (N, size, size) of the windowed, mean-removed luminance."""
        y = (x * self.luma).sum(1)
        y = (y - y.mean(dim=(1, 2), keepdim=True)) * self.window
        c, s = self.dft_cos, self.dft_sin
        real = c @ y @ c - s @ y @ s
        imag = -(c @ y @ s + s @ y @ c)
        return torch.log(real * real + imag * imag + 1e-8)

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        radial = self.spectrum(x).reshape(n, -1) @ self.bin_matrix  # (N, bins)

        local_mean = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        resid = x - local_mean  # (N, 3, H, W) high-pass residual
        r_luma = (resid * self.luma).sum(1).reshape(n, -1)
        r2 = (r_luma * r_luma).mean(1)
        r_std = torch.sqrt(r2 + 1e-12)
        r_abs = r_luma.abs().mean(1)
        r_kurt = (r_luma**4).mean(1) / (r2 * r2 + 1e-12)
        r_flat = (r_luma.abs() < 0.5 / 255).float().mean(1)
        rc = resid.reshape(n, 3, -1)
        rc = rc - rc.mean(2, keepdim=True)
        rc_std = torch.sqrt((rc * rc).mean(2) + 1e-12)  # (N, 3)
        cov = lambda a, b: (rc[:, a] * rc[:, b]).mean(1) / (rc_std[:, a] * rc_std[:, b])  # noqa: E731
        corr = torch.stack([cov(0, 1), cov(0, 2), cov(1, 2)], 1)

        flat = x.reshape(n, 3, -1)
        c_mean, c_std = flat.mean(2), flat.std(2)
        mx, mn = x.max(1).values, x.min(1).values
        sat = ((mx - mn) / (mx + 1e-6)).reshape(n, -1)
        y = (x * self.luma).sum(1)
        dx = (y[:, :, 1:] - y[:, :, :-1]).abs()
        dy = (y[:, 1:, :] - y[:, :-1, :]).abs()
        # JPEG blockiness: differences across 8x8 block borders relative to inside the blocks.
        bx = dx[:, :, 7::8].mean((1, 2)) / (dx.mean((1, 2)) + 1e-6)
        by = dy[:, 7::8, :].mean((1, 2)) / (dy.mean((1, 2)) + 1e-6)

        scalars = torch.stack([torch.log(r_std + 1e-6), torch.log(r_abs + 1e-6), torch.log(r_kurt + 1e-6), r_flat,
                               sat.mean(1), sat.std(1), bx, by], 1)
        return torch.cat([radial, scalars, torch.log(rc_std + 1e-6), corr, c_mean, c_std], 1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw_features(x) - self.feat_mean) / self.feat_std


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    # Pixel values in [0, 1] (mean 0, std 1), centre crop without resampling: resizing would
    # rewrite exactly the high frequencies these features measure.
    return PreprocessConfig(input_size=int(args.get("size", 64)), resize="crop", interpolation="bilinear",
                            mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


@register_detector(
    "spectral",
    "classical baseline: Fourier spectrum + residual/colour/JPEG statistics, logistic regression (trains in seconds)",
    preprocess=_preprocess,
    fit="features",
)
def build(config: ModelConfig) -> nn.Module:
    return SpectralFeatures(config.network_input_size, int(config.arch_args.get("bins", 32)))
