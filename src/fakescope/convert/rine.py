"""RINE (Koutlis & Papadopoulos, ECCV 2024): "Leveraging representations from intermediate encoder-blocks
for synthetic image detection".

Their ckpt/model_{1,2,4}class_trainable.pth and model_ldm_trainable.pth hold everything but CLIP:
alpha [1, 24, proj_dim], proj1.* / proj2.* (Dropout + nproj x (Linear, ReLU, Dropout): indices
1, 4, 7, ...), head.0 / head.3 / head.6; sigmoid of the output = P(fake). The frozen OpenAI CLIP
ViT-L/14 comes from --backbone; the CLS token of every block's ln_2 output feeds proj1. Their
test transform (src/utils.py get_transforms) is CenterCrop(224) + CLIP normalisation.
"""

from __future__ import annotations

import re

from fakescope.errors import UserError
from fakescope.models.config import ModelConfig

from .backbones import CLIP_BACKBONE, clip_config_from_visual, clip_test_preprocess, describe_clip
from .base import Family, Mapped, Tensors, register_family, require


def convert(state: Tensors, backbone: Tensors | None) -> Mapped:
    require(state, ["alpha", "proj1.1.weight", "proj2.1.weight", "head.0.weight", "head.3.weight", "head.6.weight"],
            "RINE head (model_*_trainable.pth)")
    assert backbone is not None
    _, blocks, proj_dim = state["alpha"].shape
    nproj = len({m.group(1) for k in state if (m := re.match(r"proj1\.(\d+)\.weight$", k))})
    cfg = clip_config_from_visual(backbone)
    width, layers = cfg["vision_cfg"]["width"], cfg["vision_cfg"]["layers"]
    if blocks != layers:
        raise UserError(f"the RINE head weighs {blocks} blocks but the backbone has {layers}")
    if state["proj1.1.weight"].shape[1] != width:
        raise UserError(f"the RINE head takes {state['proj1.1.weight'].shape[1]}-d tokens but the backbone is {width} wide")
    mapped = {f"backbone.visual.{k}": v for k, v in backbone.items()}
    mapped["backbone.alpha"] = state["alpha"]
    for k, v in state.items():
        if k.startswith(("proj1.", "proj2.", "head.0.", "head.3.")):
            mapped[f"backbone.{k}"] = v
    mapped["binary_head.weight"], mapped["binary_head.bias"] = state["head.6.weight"], state["head.6.bias"]
    size = cfg["vision_cfg"]["image_size"]
    pre = clip_test_preprocess(size)
    notes = [f"Backbone: {describe_clip(cfg)}.",
             "The authors also report a ten-crop variant for their LDM-trained model; this model scores the centre crop.",
]
    args = {"clip_config": cfg, "nproj": nproj, "proj_dim": int(proj_dim)}
    return Mapped(ModelConfig("rine", preprocess=pre, arch_args=args, name="rine"), mapped, notes)


FAMILY = register_family(Family(
    name="rine",
    title="RINE (Koutlis & Papadopoulos, ECCV 2024): weighted CLS tokens of every CLIP ViT-L/14 block",
    citation="Christos Koutlis, Symeon Papadopoulos. Leveraging Representations from Intermediate Encoder-blocks for "
             "Synthetic Image Detection. ECCV 2024.",
    url="https://github.com/mever-team/rine",
    licence="Apache-2.0 (head); the CLIP backbone is OpenAI's (MIT)",
    detector="rine",
    backbone=CLIP_BACKBONE,
    output="one logit; sigmoid = P(fake); kept as is",
    preprocessing="centre crop 224 px at native resolution, CLIP mean/std (src/utils.py get_transforms)",
    convert=convert,
    variants="ckpt/model_1class_trainable.pth, model_2class_trainable.pth, model_4class_trainable.pth, model_ldm_trainable.pth",
))
