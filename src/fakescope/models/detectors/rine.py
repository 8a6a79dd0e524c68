"""`rine`: RINE (Koutlis & Papadopoulos, ECCV 2024), intermediate CLIP encoder-blocks' CLS tokens.

Every transformer block of a frozen CLIP image tower contributes the CLS token of its ln_2 output
(the authors hook the modules named "ln_2"), so the detector sees low- and high-level features at
once. A projection MLP (proj1) maps each token, learned per-block weights (alpha, softmax over the
blocks) sum them, a second MLP (proj2) and a three-layer head follow. The last head layer is the
binary head `DetectorNet` adds; everything else lives here under the authors' module names.
"""

from __future__ import annotations

import threading
from typing import Any

import torch
from torch import nn

from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector
from .clip_probe import CLIP_MEAN, CLIP_STD, _clip_config, build_clip_visual

# The block tokens are read with forward hooks (as the authors do), which every forward on a module
# sees: two threads scoring with one model at once would mix their tokens, so hooked passes take turns.
_HOOKED_PASS = threading.Lock()


def _mlp(first_in: int, dim: int, n: int) -> nn.Sequential:
    """The authors' layout: Dropout, then n x (Linear, ReLU, Dropout) - indices 1, 4, 7, ..."""
    layers: list[nn.Module] = [nn.Dropout()]
    for i in range(n):
        layers += [nn.Linear(first_in if i == 0 else dim, dim), nn.ReLU(), nn.Dropout()]
    return nn.Sequential(*layers)


class Rine(nn.Module):
    def __init__(self, clip_cfg: dict[str, Any], nproj: int, proj_dim: int) -> None:
        super().__init__()
        self.visual = build_clip_visual(clip_cfg)
        blocks = [m for name, m in self.visual.named_modules() if name.endswith("ln_2")]
        width = int(clip_cfg["vision_cfg"]["width"])
        self.alpha = nn.Parameter(torch.zeros(1, len(blocks), proj_dim))
        self.proj1 = _mlp(width, proj_dim, nproj)
        self.proj2 = _mlp(proj_dim, proj_dim, nproj)
        # head.0 and head.3 of the authors' head; their head.6 is DetectorNet's binary head
        self.head = nn.Sequential(nn.Linear(proj_dim, proj_dim), nn.ReLU(), nn.Dropout(),
                                  nn.Linear(proj_dim, proj_dim), nn.ReLU(), nn.Dropout())
        self.num_features = proj_dim

    def train(self, mode: bool = True) -> "Rine":
        super().train(mode)
        self.visual.eval()  # the CLIP tower is frozen
        return self

    def block_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, blocks, width): the CLS token of every block's ln_2 output."""
        outputs: list[torch.Tensor] = []
        norms = [m for name, m in self.visual.named_modules() if name.endswith("ln_2")]
        with _HOOKED_PASS:
            handles = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for m in norms]
            try:
                with torch.no_grad():
                    self.visual(x)
            finally:
                for h in handles:
                    h.remove()
        batch_first = getattr(getattr(self.visual, "transformer", None), "batch_first", True)
        cls = [o[:, 0, :] if batch_first else o[0] for o in outputs]
        return torch.stack(cls, dim=1).float()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        g = self.proj1(self.block_tokens(x))
        z = torch.sum(torch.softmax(self.alpha, dim=1) * g, dim=1)
        return self.head(self.proj2(z))


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    # The authors' test transform: CenterCrop(224) at native resolution, CLIP normalisation.
    size = _clip_config(args)["vision_cfg"].get("image_size", 224)
    return PreprocessConfig(input_size=int(size), resize="crop", interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD)


@register_detector(
    "rine",
    "RINE (Koutlis & Papadopoulos ECCV 2024): every CLIP block's CLS token, weighted and projected (published checkpoints)",
    preprocess=_preprocess,
    train_defaults={"lr": 1e-3, "batch_size": 64},
)
def build(config: ModelConfig) -> nn.Module:
    a = config.arch_args
    return Rine(_clip_config(a), int(a.get("nproj", 4)), int(a.get("proj_dim", 128)))
