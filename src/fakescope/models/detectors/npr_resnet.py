"""`npr-resnet`: NPR exactly as Tan et al. (CVPR 2024) released it, for their published checkpoints.

fakescope's own `npr` detector is an NPR-style network of its own (basic blocks, ResNet-D
shortcuts, another input scale), so the authors' weights do not fit it. This is their network:
torchvision's ResNet-50 bottleneck blocks, a 3x3 stride-2 stem, only the first two stages
(64 and 128 planes, 3 and 4 blocks, 512 output channels) and the residual
x - up2(down2(x)) (nearest, both ways) scaled by 2/3 before the stem. Module names follow theirs
(conv1, bn1, layer1, layer2), so their state dict maps one to one.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x minus its nearest down-then-up sampled copy, with the authors' recompute_scale_factor
    semantics (odd sizes floor on the way down, as theirs do)."""
    down = F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
    up = F.interpolate(down, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)
    if up.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"npr-resnet needs even input sizes, got {tuple(x.shape[-2:])}")
    return x - up


class NPRResNet(nn.Module):
    def __init__(self, layers: list[int]) -> None:
        super().__init__()
        from torchvision.models.resnet import Bottleneck, ResNet

        # Build torchvision's ResNet for its _make_layer (the same bottleneck and downsample
        # layout as the authors' copy), then keep only what their network uses.
        full = ResNet(Bottleneck, [layers[0], layers[1], 1, 1], num_classes=1)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = full.bn1
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = full.layer1
        self.layer2 = full.layer2
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = 128 * Bottleneck.expansion

    @property
    def cam_target(self) -> nn.Module:
        return self.layer2

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(npr_residual(x) * (2.0 / 3.0))
        x = self.maxpool(self.relu(self.bn1(x)))
        x = self.layer2(self.layer1(x))
        return torch.flatten(self.avgpool(x), 1)


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    # The authors' test script resizes every image to 256 x 256 (bilinear) without cropping.
    return PreprocessConfig(input_size=256, resize="resize", interpolation="bilinear")


@register_detector(
    "npr-resnet",
    "NPR as released by Tan et al. (CVPR 2024): two ResNet-50 stages on the up-sampling residual (for their checkpoints)",
    preprocess=_preprocess,
    train_defaults={"lr": 2e-4, "batch_size": 32},
)
def build(config: ModelConfig) -> nn.Module:
    return NPRResNet(list(config.arch_args.get("layers", [3, 4])))
