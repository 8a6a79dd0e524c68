"""`npr`: Neighbouring Pixel Relationships (Tan et al., CVPR 2024).

Generators up-sample; up-sampling makes neighbouring pixels within each 2x2 cell related in a way
cameras do not. NPR exposes it as a residual, the image minus its nearest-neighbour 2x down-then-up
sampled copy, and classifies that residual with a shallow ResNet (two stages, as the paper's
network, which is why it is small and fast). Resizing would rewrite the 2x2 structure, so the
default policy is a centre crop at native resolution.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import residual_stages
from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector
from fakescope.errors import UserError


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x - up2(down2(x)) with nearest-neighbour sampling; H and W must be even."""
    down = F.interpolate(x, scale_factor=0.5, mode="nearest")
    return x - F.interpolate(down, scale_factor=2.0, mode="nearest")


class NPRNet(nn.Module):
    def __init__(self, widths: list[int], depths: list[int]) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        self.stages = residual_stages(widths[0], widths, depths)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = widths[-1]

    @property
    def cam_target(self) -> nn.Module:
        return self.stages[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # The residual is small in magnitude; scaling keeps the first layer in a useful range.
        r = npr_residual(x) * (2.0 / 3.0) * 4.0
        return torch.flatten(self.pool(self.stages(self.stem(r))), 1)


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    return PreprocessConfig(input_size=224, resize="crop", interpolation="bilinear")


@register_detector(
    "npr",
    "NPR (Tan et al. CVPR 2024): shallow ResNet on the neighbouring-pixel up-sampling residual",
    preprocess=_preprocess,
    train_defaults={"lr": 2e-4, "batch_size": 32},
)
def build(config: ModelConfig) -> nn.Module:
    a = config.arch_args
    if config.network_input_size % 2:
        raise UserError("npr needs an even input size (2x2 neighbourhoods)")
    return NPRNet(list(a.get("widths", [64, 128])), list(a.get("depths", [3, 4])))
