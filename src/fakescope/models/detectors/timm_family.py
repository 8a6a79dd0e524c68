"""`timm:<name>`: any timm backbone (resnet50 is GenImage's main baseline), random init or local weights.

The preprocessing is derived from timm's own pretrained config for that architecture (input size,
interpolation, crop_pct, mean/std), never retyped. Pretrained weights come from a local file
(`--pretrained PATH`, safetensors or timm/PyTorch state dicts) or a name timm resolves through the
hub (`--pretrained timm`, `timm:NAME.TAG`, `hf-hub:OWNER/NAME`; see models/pretrained.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector
from ..pretrained import is_named, local_file_record, timm_state
from ..weights import load_matching, read_state_dict


def _timm_name(architecture: str) -> str:
    return architecture.split(":", 1)[1]


class TimmBackbone(nn.Module):
    def __init__(self, name: str, drop_rate: float = 0.0) -> None:
        super().__init__()
        import timm

        self.name = name
        self.model = timm.create_model(name, pretrained=False, num_classes=0, drop_rate=drop_rate)
        self.num_features = int(self.model.num_features)

    def load_pretrained(self, spec: str | Path) -> dict[str, Any]:
        """Local weights (a file) or a name timm resolves: timm, timm:NAME.TAG, hf-hub:OWNER/NAME."""
        if isinstance(spec, str) and is_named(spec):
            state, record = timm_state(spec, self.name)
        else:
            state, record = read_state_dict(spec), local_file_record(spec)
        return {**load_matching(self.model, state, str(spec)), "source": record}

    @property
    def cam_target(self) -> nn.Module | None:
        return timm_cam_target(self.model)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # num_classes=0: timm returns pooled pre-logit features


def timm_cam_target(model: nn.Module) -> nn.Module | None:
    """The last feature stage of a timm model (what Grad-CAM explains), from its own feature_info."""
    info = getattr(model, "feature_info", None)
    name = info[-1]["module"] if info else None
    return model.get_submodule(name) if name else None


def timm_preprocess(name: str) -> PreprocessConfig:
    """timm's own data config for architecture `name` (input size, interpolation, crop_pct, mean/std)."""
    import timm
    from timm.data import resolve_data_config

    model = timm.create_model(name, pretrained=False, num_classes=0)
    cfg = resolve_data_config({}, model=model)
    interp = cfg.get("interpolation", "bilinear")
    return PreprocessConfig(
        input_size=int(cfg["input_size"][-1]),
        resize="resize_crop",
        crop_pct=float(cfg.get("crop_pct", 1.0)),
        interpolation=interp if interp in ("nearest", "bilinear", "bicubic", "lanczos", "box") else "bilinear",
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
    )


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    return timm_preprocess(_timm_name(architecture))


@register_detector(
    "timm",
    "any timm backbone by name, e.g. timm:resnet50 (GenImage's baseline); --pretrained timm|timm:NAME.TAG|hf-hub:ID|PATH",
    preprocess=_preprocess,
    family=True,
    train_defaults={"lr": 1e-4, "batch_size": 32, "weight_decay": 0.05},
)
def build(config: ModelConfig) -> nn.Module:
    return TimmBackbone(_timm_name(config.architecture), float(config.arch_args.get("drop_rate", 0.0)))
