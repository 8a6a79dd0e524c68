"""Residual building blocks shared by the compact CNN detectors (cnn-small, npr)."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            # ResNet-D shortcut: average-pool, then a stride-1 1x1 projection. Besides using every
            # input pixel, it avoids strided 1x1 convolutions, whose channels-last backward crashes
            # (SIGSEGV) in torch 2.14 on CPU for fewer than 16 input channels and odd batch sizes.
            pool: nn.Module = nn.AvgPool2d(stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
            self.shortcut = nn.Sequential(pool, nn.Conv2d(cin, cout, 1, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.act(y + self.shortcut(x))


def residual_stages(stem_width: int, widths: list[int], depths: list[int], first_stride: int = 1) -> nn.Sequential:
    """Stages of BasicBlocks; every stage after the first halves the resolution."""
    layers: list[nn.Module] = []
    cin = stem_width
    for i, (width, depth) in enumerate(zip(widths, depths, strict=True)):
        stride = first_stride if i == 0 else 2
        blocks = [BasicBlock(cin, width, stride)] + [BasicBlock(width, width, 1) for _ in range(depth - 1)]
        layers.append(nn.Sequential(*blocks))
        cin = width
    return nn.Sequential(*layers)
