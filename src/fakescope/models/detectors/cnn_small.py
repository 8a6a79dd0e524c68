"""`cnn-small`: a compact residual CNN for small images (CIFAKE's 32x32 world).

The family of Bird & Lotfi's CIFAKE classifier (a few 3x3 conv layers, 92.98 %), made deeper and
residual. It keeps full resolution in its first stage, because the evidence that separates
CIFAKE's Stable Diffusion images from CIFAR photographs is in the finest pixel statistics, and
downsampling early would throw it away.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fakescope.errors import UserError

from ..blocks import residual_stages
from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector

DEFAULT_WIDTHS = [32, 64, 128]
DEFAULT_DEPTHS = [1, 1, 1]


STEMS = ("conv", "s2d")


class CnnSmall(nn.Module):
    """`stem="conv"`: a 3x3 convolution at full resolution. `stem="s2d"`: space-to-depth first
    (PixelUnshuffle(2): 3x32x32 -> 12x16x16, lossless, every pixel still seen), so the stages run at
    half the resolution and the same CPU time buys about four times the width."""

    def __init__(self, widths: list[int], depths: list[int], drop_rate: float = 0.1, stem: str = "conv") -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"cnn-small stem must be one of {STEMS}, not {stem!r}")
        s2d = stem == "s2d"
        first = [nn.PixelUnshuffle(2)] if s2d else []
        self.stem = nn.Sequential(*first, nn.Conv2d(12 if s2d else 3, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.stages = residual_stages(widths[0], widths, depths)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate)
        self.num_features = widths[-1]

    @property
    def cam_target(self) -> nn.Module:
        """The layer Grad-CAM explains: the last stage, the finest map with class evidence."""
        return self.stages[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    # CIFAKE images are 32x32; larger inputs are resized down whole (no crop), as the training data.
    return PreprocessConfig(input_size=32, resize="resize", interpolation="bilinear", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


@register_detector(
    "cnn-small",
    "compact residual CNN for small images (CIFAKE 32x32), trains on a CPU",
    preprocess=_preprocess,
    train_defaults={"lr": 3e-3, "batch_size": 128, "epochs": 8, "weight_decay": 5e-4},
)
def build(config: ModelConfig) -> nn.Module:
    a = config.arch_args
    if a.get("stem") == "s2d" and config.network_input_size % 2:
        raise UserError(f"cnn-small's s2d stem needs an even input size, not {config.network_input_size}")
    return CnnSmall(list(a.get("widths", DEFAULT_WIDTHS)), list(a.get("depths", DEFAULT_DEPTHS)), float(a.get("drop_rate", 0.1)),
                    str(a.get("stem", "conv")))
