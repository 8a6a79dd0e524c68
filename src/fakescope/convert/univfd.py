"""UnivFD (Ojha et al., CVPR 2023): "Towards universal fake image detectors that generalize across
generative models" - a linear layer on frozen OpenAI CLIP ViT-L/14 image features.

Their pretrained_weights/fc_weights.pth is that layer alone: weight [1, 768], bias [1]; sigmoid
of the output = P(fake). The CLIP tower comes from --backbone. Their validate.py centre-crops 224 px
at native resolution (no resize) and normalises with CLIP's mean/std.
"""

from __future__ import annotations

from fakescope.errors import UserError
from fakescope.models.config import ModelConfig

from .backbones import CLIP_BACKBONE, clip_config_from_visual, clip_test_preprocess, describe_clip
from .base import Family, Mapped, Tensors, register_family, require


def convert(state: Tensors, backbone: Tensors | None) -> Mapped:
    require(state, ["weight", "bias"], "UnivFD linear head (fc_weights.pth)")
    assert backbone is not None
    w = state["weight"]
    if w.ndim != 2 or w.shape[0] != 1:
        raise UserError(f"not a UnivFD head: weight {tuple(w.shape)}, expected [1, 768]")
    cfg = clip_config_from_visual(backbone)
    if cfg["embed_dim"] != w.shape[1]:
        raise UserError(f"the head takes {w.shape[1]}-d features but the backbone projects to {cfg['embed_dim']}-d")
    mapped = {f"backbone.visual.{k}": v for k, v in backbone.items()}
    mapped["binary_head.weight"], mapped["binary_head.bias"] = w, state["bias"]
    size = cfg["vision_cfg"]["image_size"]
    pre = clip_test_preprocess(size)
    notes = [f"Backbone: {describe_clip(cfg)}.",
]
    return Mapped(ModelConfig("clip-probe", preprocess=pre, arch_args={"clip_config": cfg}, name="univfd"), mapped, notes)


FAMILY = register_family(Family(
    name="univfd",
    title="UnivFD (Ojha et al., CVPR 2023): linear probe on frozen CLIP ViT-L/14 features",
    citation="Utkarsh Ojha, Yuheng Li, Yong Jae Lee. Towards Universal Fake Image Detectors that Generalize Across "
             "Generative Models. CVPR 2023.",
    url="https://github.com/WisconsinAIVision/UniversalFakeDetect",
    licence="MIT (head); the CLIP backbone is OpenAI's (MIT)",
    detector="clip-probe",
    backbone=CLIP_BACKBONE,
    output="one logit; sigmoid = P(fake); kept as is",
    preprocessing="centre crop 224 px at native resolution, CLIP mean/std (validate.py)",
    convert=convert,
    variants="pretrained_weights/fc_weights.pth",
))
