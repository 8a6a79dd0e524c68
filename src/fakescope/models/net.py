"""`DetectorNet`: a registered backbone plus the heads its task needs, and how outputs become scores."""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig, PreprocessConfig
from .registry import get_spec
from .multicrop import stack_crops
from .tta import average_views, stack_views


class DetectorNet(nn.Module):
    """backbone -> features -> binary head (P(fake) logit) and/or generator head (class logits)."""

    def __init__(self, backbone: nn.Module, config: ModelConfig) -> None:
        super().__init__()
        dim = int(getattr(backbone, "num_features"))
        self.backbone = backbone
        self.binary_head = nn.Linear(dim, 1) if config.has_binary else None
        self.generator_head = nn.Linear(dim, len(config.generators)) if config.has_generator else None
        self.config = config

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.training:  # training batches are single crops (or whole inputs): no views, no crops
            return self._heads(x)
        mc = self.config.multicrop
        if mc is not None:  # multi-crop (config "multicrop"): K native crops of the canvas, mean logit
            return average_views(self._views(stack_crops(x, mc)), mc.crops)
        return self._views(x)

    def _views(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        views = self.config.tta
        if views:  # test-time augmentation (config "tta"): one pass over every view, logits averaged
            return average_views(self._heads(stack_views(x, views)), 1 + len(views))
        return self._heads(x)

    def _heads(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads_from_features(self.backbone.forward_features(x))

    def heads_from_features(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        """The heads on penultimate features (models/features.py reads both for the OOD score)."""
        out: dict[str, torch.Tensor] = {}
        if self.binary_head is not None:
            out["binary"] = self.binary_head(feats).squeeze(1)
        if self.generator_head is not None:
            out["generator"] = self.generator_head(feats)
        return out


def fake_probability(out: dict[str, torch.Tensor]) -> torch.Tensor:
    """P(fake) per image: the binary head when present, else 1 - P(Real) of the generator head."""
    if "binary" in out:
        return torch.sigmoid(out["binary"].float())
    probs = torch.softmax(out["generator"].float(), dim=1)
    return 1.0 - probs[:, 0]  # generator vocabularies put "Real" first


def generator_probabilities(out: dict[str, torch.Tensor]) -> torch.Tensor | None:
    if "generator" not in out:
        return None
    return torch.softmax(out["generator"].float(), dim=1)


def default_preprocess(architecture: str, arch_args: dict | None = None, **overrides: object) -> PreprocessConfig:
    """The detector's own preprocessing, with explicit overrides (None values are ignored, as timm does)."""
    pre = get_spec(architecture).preprocess(architecture, dict(arch_args or {}))
    values = {k: v for k, v in overrides.items() if v is not None}
    if not values:
        return pre
    merged = {**pre.__dict__, **values}
    return PreprocessConfig(**merged)


def create_model(config: ModelConfig) -> DetectorNet:
    """Build the network a config describes (random init; `load_model` restores trained weights)."""
    backbone = get_spec(config.architecture).build(config)
    return DetectorNet(backbone, config)
