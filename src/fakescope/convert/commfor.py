"""Community Forensics (Park & Owens, CVPR 2025): "Using thousands of generators to train fake image detectors".

Their models.py wraps timm's vit_small_patch16_{224,384} (ImageNet-21k pretrained) as `self.vit`
with vit.head = Linear(384, 1); sigmoid = P(fake). Checkpoints: the PyTorch .pt files
({"model": state_dict} or flat) and the hub repositories OwensLab/commfor-model-224 / -384
(PyTorchModelHubMixin: model.safetensors, keys vit.*). Test transform (preprocess_input):
Resize(256) + CenterCrop(224), or Resize(440) + CenterCrop(384), bilinear, ImageNet mean/std.
"""

from __future__ import annotations

import math

from fakescope.errors import UserError
from fakescope.models.config import ModelConfig, PreprocessConfig

from .base import Family, Mapped, Tensors, register_family, require, take
from .cnndetection import IMAGENET_MEAN, IMAGENET_STD

RESIZE_FOR = {224: 256, 384: 440}  # crop size -> the shorter side their Resize() sets first


def convert(state: Tensors, backbone: Tensors | None) -> Mapped:
    require(state, ["vit.pos_embed", "vit.patch_embed.proj.weight", "vit.head.weight", "vit.head.bias"],
            "Community Forensics ViT (keys vit.*)")
    patch = int(state["vit.patch_embed.proj.weight"].shape[-1])
    width = int(state["vit.pos_embed"].shape[-1])
    grid = math.isqrt(int(state["vit.pos_embed"].shape[1]) - 1)
    size = grid * patch
    if patch != 16 or width != 384 or size not in RESIZE_FOR:
        raise UserError(f"not a Community Forensics ViT-S/16 at 224 or 384 px (patch {patch}, width {width}, {size} px)")
    if tuple(state["vit.head.weight"].shape) != (1, width):
        raise UserError(f"expected a one-logit head, found {tuple(state['vit.head.weight'].shape)}")
    body = take(state, "vit.", "backbone.model.")
    mapped = {k: v for k, v in body.items() if not k.startswith("backbone.model.head.")}
    mapped["binary_head.weight"], mapped["binary_head.bias"] = state["vit.head.weight"], state["vit.head.bias"]
    pre = PreprocessConfig(input_size=size, resize="resize_crop", crop_pct=size / RESIZE_FOR[size], interpolation="bilinear",
                           mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           geometry="torchvision")
    notes: list[str] = []
    return Mapped(ModelConfig(f"timm:vit_small_patch16_{size}", preprocess=pre, name=f"commfor-{size}"), mapped, notes)


FAMILY = register_family(Family(
    name="commfor",
    title="Community Forensics (Park & Owens, CVPR 2025): ViT-S/16 trained on images of 4,803 generators",
    citation="Jeongsoo Park, Andrew Owens. Community Forensics: Using Thousands of Generators to Train Fake Image "
             "Detectors. CVPR 2025.",
    url="https://github.com/JeongsooP/Community-Forensics",
    licence="not stated in the code repository; see the OwensLab/commfor-model-224 / -384 model cards",
    detector="timm:vit_small_patch16_224 / timm:vit_small_patch16_384",
    backbone=None,
    output="one logit; sigmoid = P(fake); kept as is",
    preprocessing="Resize(256)+CenterCrop(224) or Resize(440)+CenterCrop(384), bilinear, ImageNet mean/std (models.py preprocess_input)",
    convert=convert,
    variants="hf OwensLab/commfor-model-224 and -384 (model.safetensors), or the .pt checkpoints",
))
