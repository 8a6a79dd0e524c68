"""`encoder:<timm name>`: a pretrained image encoder, frozen, under a linear probe (and `encoder-ft:`,
the same with its last blocks fine-tuned).

The field's detectors that generalise all start from an encoder pretrained on millions of images
(UnivFD and RINE on CLIP, Community Forensics on ConvNeXt/ViT); a network trained from scratch on
a thousand crops does not. The encoder is any timm model; its weights come, in this order, from:
- the registry package that ships them (`models/package_weights.py`: ImageNet EfficientNet-Lite0/1/2,
  Apache-2.0), read offline from the installed package, never copied into the model directory
  (arch_args `"weights": "package"`, the default where a package exists);
- `train --pretrained timm|timm:NAME.TAG|hf-hub:ID|PATH` (timm's own resolution, or a local file),
  stored in model.safetensors like any other tensor (`"weights": "embedded"`).

Preprocessing is timm's for the architecture (mean, std, interpolation), at the encoder's own
input size; with policy "views" (`--native-crops K`) each image is judged from the whole resized
image plus K native-resolution crops over it (models/views.py), combined by `arch_args.combine`:
- "concat" (default): [features of the whole view, mean features of the crops] (2 x D): the head
  weighs scene-level and pixel-level evidence separately;
- "mean": the mean features of every view (D).
The probe (`fit="features"`) is logistic regression on standardised features (train/fit_features.py),
minutes on a CPU; `encoder-ft` trains the head and the last `trainable_blocks` parameter groups of
timm's `group_matcher` by gradient descent. The frozen part always runs in eval mode (fixed batch
norm statistics, no dropout).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fakescope.errors import UserError

from ..config import ModelConfig, PreprocessConfig
from ..package_weights import has_package_weights, package_state
from ..pretrained import is_named, local_file_record, timm_state
from ..registry import register_detector
from ..views import split_views
from .timm_family import timm_cam_target, timm_preprocess
from ..weights import load_matching, read_state_dict

COMBINE = ("concat", "mean")
WEIGHT_SOURCES = ("package", "embedded")


def encoder_name(architecture: str) -> str:
    return architecture.split(":", 1)[1]


def weight_source(architecture: str, args: dict[str, Any]) -> str:
    """Where the encoder's pretrained weights live: "package" where a registry package ships them."""
    source = args.get("weights") or ("package" if has_package_weights(encoder_name(architecture)) else "embedded")
    if source not in WEIGHT_SOURCES:
        raise UserError(f"encoder weights {source!r} not in {WEIGHT_SOURCES}")
    return source


class EncoderBackbone(nn.Module):
    def __init__(self, name: str, views: int, combine: str, weights: str, trainable_blocks: int) -> None:
        super().__init__()
        import timm

        if combine not in COMBINE:
            raise UserError(f"encoder combine {combine!r} not in {COMBINE}")
        self.name, self.views, self.combine = name, int(views), combine
        self.encoder = timm.create_model(name, pretrained=False, num_classes=0)
        dim = int(self.encoder.num_features)
        self.num_raw = dim * 2 if (combine == "concat" and self.views > 1) else dim
        self.num_features = self.num_raw
        # Standardisation of the features, fitted with the probe (stored in the weights).
        self.register_buffer("feat_mean", torch.zeros(self.num_raw))
        self.register_buffer("feat_std", torch.ones(self.num_raw))
        self.pretrained_record: dict[str, Any] | None = None
        if weights == "package":
            state, self.pretrained_record = package_state(self.encoder, name)
            self.encoder.load_state_dict(state, strict=False)  # the package's classifier has no place here
        trainable = _last_groups(self.encoder, trainable_blocks)
        for pname, p in self.encoder.named_parameters():
            p.requires_grad_(pname in trainable)
        # Tensors the package provides and training leaves untouched: not saved, restored on load.
        owners = {n.rsplit(".", 1)[0] for n in trainable}
        self._external = set() if weights != "package" else {
            k for k in self.encoder.state_dict() if k.rsplit(".", 1)[0] not in owners}
        self._register_state_dict_hook(_drop_external)
        self._register_load_state_dict_pre_hook(_restore_external, with_module=True)
        self.encoder.eval()

    def train(self, mode: bool = True) -> "EncoderBackbone":
        super().train(mode)
        self.encoder.eval()  # frozen statistics, whatever the loop asks
        return self

    def load_pretrained(self, spec: str | Path) -> dict[str, Any]:
        """`--pretrained`: a name timm resolves (timm, timm:NAME.TAG, hf-hub:ID) or a local weights file."""
        if self._external:
            raise UserError("this encoder takes its weights from the registry package; "
                            "give --arch-args '{\"weights\": \"embedded\"}' to load others with --pretrained")
        if isinstance(spec, str) and is_named(spec):
            state, record = timm_state(spec, self.name)
        else:
            state, record = read_state_dict(spec), local_file_record(spec)
        return {**load_matching(self.encoder, state, str(spec)), "source": record}

    @property
    def cam_target(self) -> nn.Module | None:
        return timm_cam_target(self.encoder)

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.views == 1:
            return self.encoder(x)
        feats = self.encoder(split_views(x, self.views))
        feats = feats.reshape(-1, self.views, feats.shape[-1])
        if self.combine == "mean":
            return feats.mean(1)
        return torch.cat([feats[:, 0], feats[:, 1:].mean(1)], 1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw_features(x) - self.feat_mean) / self.feat_std


def _last_groups(model: nn.Module, n: int) -> set[str]:
    """Parameter names of the last `n` of timm's fine-grained parameter groups (blocks, then the head)."""
    if n <= 0:
        return set()
    from timm.models import group_parameters

    groups = group_parameters(model, model.group_matcher(coarse=False))
    ordered = [groups[k] for k in sorted(groups)]
    return {name for group in ordered[-n:] for name in group}


def _drop_external(module: EncoderBackbone, state: dict[str, Any], prefix: str, _meta: Any) -> None:
    for key in module._external:
        state.pop(f"{prefix}encoder.{key}", None)


def _restore_external(module: EncoderBackbone, state: dict[str, Any], prefix: str, *_: Any) -> None:
    own = module.encoder.state_dict()
    for key in module._external:
        state.setdefault(f"{prefix}encoder.{key}", own[key])


def _preprocess(architecture: str, args: dict[str, Any]) -> PreprocessConfig:
    # timm's config for the encoder; with views the whole view is the image's shorter side, uncropped
    crops = int(args.get("native_crops", 0))
    pre = timm_preprocess(encoder_name(architecture))
    return replace(pre, resize="views", crop_pct=1.0, native_crops=crops) if crops else pre


def _build(config: ModelConfig, trainable_blocks: int) -> nn.Module:
    args = config.arch_args
    return EncoderBackbone(encoder_name(config.architecture), config.preprocess.views, args.get("combine", "concat"),
                           weight_source(config.architecture, args), trainable_blocks)


@register_detector(
    "encoder",
    "pretrained timm encoder, frozen, linear probe (ImageNet EfficientNet-Lite0 from its PyPI package by default: "
    "encoder:tf_efficientnet_lite0); --arch-args '{\"native_crops\": 4}' judges the whole image plus 4 native crops",
    preprocess=_preprocess,
    fit="features",
    family=True,
    train_defaults={"probe_c": 0.0},  # C by cross-validation: wide features overfit at C=1
)
def build_probe(config: ModelConfig) -> nn.Module:
    return _build(config, 0)


@register_detector(
    "encoder-ft",
    "the encoder family with its last blocks fine-tuned (--arch-args '{\"trainable_blocks\": N}', default 2) and a linear head",
    preprocess=_preprocess,
    family=True,
    train_defaults={"lr": 3e-4, "batch_size": 32, "weight_decay": 0.01},
)
def build_finetune(config: ModelConfig) -> nn.Module:
    return _build(config, int(config.arch_args.get("trainable_blocks", 2)))
