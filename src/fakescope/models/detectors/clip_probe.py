"""`clip-probe`: UnivFD (Ojha et al., CVPR 2023), a linear head on frozen CLIP image features.

The CLIP image tower is built with open_clip from a named config (`ViT-L-14-quickgelu` for the
OpenAI ViT-L/14 the paper uses) or an explicit config dict (tests use a tiny random one). Its
weights come from a local file (`--pretrained PATH`) or through open_clip (`--pretrained openclip`
for the OpenAI weights, `openclip:MODEL/TAG`, `hf-hub:OWNER/NAME`); the tower stays frozen and
in eval mode, only the heads train. The saved model directory holds the tower too, so it is
self-contained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import ModelConfig, PreprocessConfig
from ..registry import register_detector
from ..pretrained import TIMM_PREFIX, is_named, local_file_record, openclip_visual_state
from ..weights import load_matching, read_state_dict
from fakescope.errors import UserError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_CLIP = "ViT-L-14-quickgelu"


def _clip_config(args: dict[str, Any]) -> dict[str, Any]:
    import open_clip

    if "clip_config" in args:
        return dict(args["clip_config"])
    name = args.get("clip_model", DEFAULT_CLIP)
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise UserError(f"unknown open_clip model config {name!r}")
    return cfg


def build_clip_visual(clip_cfg: dict[str, Any]) -> nn.Module:
    """open_clip's image tower alone (the text tower is never needed: building it for ViT-L/14
    would cost 123 M parameters), frozen and in eval mode."""
    from open_clip.model import _build_vision_tower

    visual = _build_vision_tower(int(clip_cfg["embed_dim"]), dict(clip_cfg["vision_cfg"]),
                                 quick_gelu=bool(clip_cfg.get("quick_gelu", False)))
    for p in visual.parameters():
        p.requires_grad_(False)
    return visual.eval()


class ClipProbe(nn.Module):
    def __init__(self, clip_cfg: dict[str, Any], clip_model: str = DEFAULT_CLIP) -> None:
        super().__init__()
        self.clip_model = clip_model  # the open_clip name `--pretrained openclip` loads weights for

        cfg = dict(clip_cfg)
        self.visual = build_clip_visual(cfg)
        for p in self.visual.parameters():
            p.requires_grad_(False)
        self.visual.eval()
        self.num_features = int(cfg["embed_dim"])

    def train(self, mode: bool = True) -> "ClipProbe":
        super().train(mode)
        self.visual.eval()  # frozen features: no dropout, fixed norms, whatever the loop asks
        return self

    def load_pretrained(self, spec: str | Path) -> dict[str, Any]:
        """CLIP weights: a local file (a full open_clip/OpenAI checkpoint with visual.* keys, or a visual-only
        one) or a name open_clip resolves (openclip, openclip:MODEL/TAG, hf-hub:OWNER/NAME)."""
        if isinstance(spec, str) and is_named(spec):
            if spec.startswith(TIMM_PREFIX):
                raise UserError(f"--pretrained {spec}: clip-probe takes open_clip weights (openclip, openclip:MODEL/TAG, hf-hub:ID)")
            visual, record = openclip_visual_state(spec, self.clip_model)
        else:
            state, record = read_state_dict(spec), local_file_record(spec)
            visual = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")} or state
        return {**load_matching(self.visual, visual, str(spec)), "source": record}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.visual(x).float()


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    cfg = _clip_config(args)
    size = cfg["vision_cfg"].get("image_size", 224)
    size = size[0] if isinstance(size, (list, tuple)) else size
    return PreprocessConfig(input_size=int(size), resize="resize_crop", interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD)


@register_detector(
    "clip-probe",
    "UnivFD (Ojha et al. CVPR 2023): linear probe on frozen open_clip image features (--pretrained openclip|PATH)",
    preprocess=_preprocess,
    train_defaults={"lr": 1e-3, "batch_size": 64},
)
def build(config: ModelConfig) -> nn.Module:
    return ClipProbe(_clip_config(config.arch_args), config.arch_args.get("clip_model", DEFAULT_CLIP))
