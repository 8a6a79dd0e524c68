"""NPR (Tan et al., CVPR 2024): "Rethinking the up-sampling operations in CNN-based generative network".

Their NPR.pth is a flat state dict of networks/resnet.py's resnet50(num_classes=1) - which only
ever runs conv1 (3x3, stride 2), layer1 and layer2, then fc1 = Linear(512, 1); sigmoid = P(fake).
Their test.py resizes every image to 256 x 256 (transforms.Resize((256, 256)), bilinear) and does
not crop (`no_resize: False, no_crop: True` for ForenSynths, DiffusionForensics and
UniversalFakeDetect), ImageNet normalisation.
"""

from __future__ import annotations

import re

from fakescope.errors import UserError
from fakescope.models.config import ModelConfig, PreprocessConfig

from .base import Family, Mapped, Tensors, register_family, require
from .cnndetection import IMAGENET_MEAN, IMAGENET_STD


def _blocks(state: Tensors, layer: str) -> int:
    return len({m.group(1) for k in state if (m := re.match(rf"{layer}\.(\d+)\.", k))})


def convert(state: Tensors, backbone: Tensors | None) -> Mapped:
    require(state, ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.conv1.weight", "fc1.weight", "fc1.bias"],
            "NPR (Tan et al.)")
    if tuple(state["conv1.weight"].shape) != (64, 3, 3, 3) or tuple(state["fc1.weight"].shape) != (1, 512):
        raise UserError(f"not an NPR ResNet: conv1 {tuple(state['conv1.weight'].shape)}, fc1 {tuple(state['fc1.weight'].shape)}")
    layers = [_blocks(state, "layer1"), _blocks(state, "layer2")]
    # Their ResNet-50 also defines layer3/layer4 (never run): they are dropped, not mapped.
    mapped = {f"backbone.{k}": v for k, v in state.items() if k.split(".")[0] in ("conv1", "bn1", "layer1", "layer2")}
    mapped["binary_head.weight"], mapped["binary_head.bias"] = state["fc1.weight"], state["fc1.bias"]
    pre = PreprocessConfig(input_size=256, resize="resize", interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           geometry="torchvision")
    notes = ["The authors test GANGen-Detection images at native size (no resize); batches here need one size, so "
             "every image is resized to 256 x 256 as in their other three test sets."]
    return Mapped(ModelConfig("npr-resnet", preprocess=pre, arch_args={"layers": layers}, name="npr"), mapped, notes)


FAMILY = register_family(Family(
    name="npr",
    title="NPR (Tan et al., CVPR 2024): neighbouring-pixel up-sampling residual, two ResNet-50 stages",
    citation="Chuangchuang Tan, Huan Liu, Yao Zhao, Shikui Wei, Guanghua Gu, Ping Liu, Yunchao Wei. Rethinking the "
             "Up-Sampling Operations in CNN-based Generative Network for Generalizable Deepfake Detection. CVPR 2024.",
    url="https://github.com/chuangchuangtan/NPR-DeepfakeDetection",
    licence="not stated (no LICENSE file in the authors' repository); ask the authors before redistributing",
    detector="npr-resnet",
    backbone=None,
    output="one logit; sigmoid = P(fake); kept as is",
    preprocessing="resize to 256 x 256 (bilinear), no crop, ImageNet mean/std (test.py)",
    convert=convert,
    variants="NPR.pth (flat state dict)",
))
