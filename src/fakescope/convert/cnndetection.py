"""CNNDetection (Wang et al., CVPR 2020): "CNN-generated images are surprisingly easy to spot... for now".

Their checkpoints (blur_jpg_prob0.5.pth, blur_jpg_prob0.1.pth) hold {"model": state_dict} of a
torchvision ResNet-50 whose fc is Linear(2048, 1); sigmoid of that logit is P(synthetic). Their
eval.py tests without resizing and centre-crops 224 px (`no_resize = True`, cropSize 224), with
ImageNet normalisation: fakescope's "crop" policy at 224.
"""

from __future__ import annotations

from fakescope.errors import UserError
from fakescope.models.config import ModelConfig, PreprocessConfig

from .base import Family, Mapped, Tensors, register_family, require

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def convert(state: Tensors, backbone: Tensors | None) -> Mapped:
    require(state, ["conv1.weight", "layer4.0.conv1.weight", "fc.weight", "fc.bias"], "CNNDetection (torchvision ResNet-50)")
    if tuple(state["fc.weight"].shape) != (1, 2048) or tuple(state["conv1.weight"].shape) != (64, 3, 7, 7):
        raise UserError(f"not a CNNDetection ResNet-50: fc {tuple(state['fc.weight'].shape)}, conv1 {tuple(state['conv1.weight'].shape)}")
    mapped = {f"backbone.model.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    mapped["binary_head.weight"], mapped["binary_head.bias"] = state["fc.weight"], state["fc.bias"]
    pre = PreprocessConfig(input_size=224, resize="crop", interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD,
                           geometry="torchvision")
    notes = ["The authors' demo.py scores the whole image when no --crop is given; their eval.py (the paper's numbers) "
             "centre-crops 224 px, which is what this model does (fakescope batches need one size).",
]
    return Mapped(ModelConfig("timm:resnet50", preprocess=pre, name="cnndetection"), mapped, notes)


FAMILY = register_family(Family(
    name="cnndetection",
    title="CNNDetection (Wang et al., CVPR 2020): ResNet-50 trained on ProGAN with blur+JPEG augmentation",
    citation="Sheng-Yu Wang, Oliver Wang, Richard Zhang, Andrew Owens, Alexei A. Efros. CNN-generated images are "
             "surprisingly easy to spot... for now. CVPR 2020.",
    url="https://github.com/PeterWang512/CNNDetection",
    licence="CC BY-NC-SA 4.0 (the repository's LICENSE.txt; non-commercial)",
    detector="timm:resnet50",
    backbone=None,
    output="one logit; sigmoid = P(fake) (labels 0_real / 1_fake); kept as is",
    preprocessing="no resize, centre crop 224 px, ImageNet mean/std (eval.py: no_resize=True, cropSize 224)",
    convert=convert,
    variants="weights/blur_jpg_prob0.5.pth, weights/blur_jpg_prob0.1.pth ({'model': state_dict})",
))
