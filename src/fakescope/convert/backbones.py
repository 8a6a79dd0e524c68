"""Backbones a head-only checkpoint needs (UnivFD and RINE ship heads on a frozen CLIP ViT-L/14).

`--backbone` is a local file (open_clip / OpenAI CLIP state dict, full model or image tower, .bin,
.pth, .pt or .safetensors) or an open_clip pretrained tag for the family's architecture
(`openai`, or `hf-hub:ORG/NAME`), fetched by open_clip through huggingface_hub into its cache when
the machine is online. The architecture is read from the weights themselves (width, depth, patch,
image size, projection), so a converted model always matches the backbone it was given.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from fakescope.errors import UserError
from fakescope.models.config import PreprocessConfig
from fakescope.models.detectors.clip_probe import CLIP_MEAN, CLIP_STD

from .base import Tensors, read_checkpoint

OPENAI_VIT_L14 = "ViT-L-14-quickgelu"  # open_clip's name for OpenAI's ViT-L/14 (QuickGELU activations)
HEAD_WIDTH = 64  # open_clip's default head width: heads = width / 64 (16 for ViT-L/14)


def clip_visual_state(backbone: str | Path, arch: str = OPENAI_VIT_L14) -> tuple[Tensors, dict[str, Any]]:
    """The CLIP image tower's tensors (keys without `visual.`) and a record of where they came from."""
    spec = str(backbone)
    path = Path(spec).expanduser()
    if path.is_file():
        from fakescope.models.io import file_sha256

        state = read_checkpoint(path, "backbone")
        record = {"file": path.name, "sha256": file_sha256(path)}
    elif path.exists() or "/" in spec and not spec.startswith("hf-hub:"):
        raise UserError(f"--backbone {spec}: not a weights file")
    else:
        state = _open_clip_pretrained(arch, spec)
        record = {"open_clip": arch, "pretrained": spec}
    visual = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    visual = visual or state  # an image-tower-only file
    if "conv1.weight" not in visual or "proj" not in visual:
        raise UserError(f"--backbone {spec}: not a CLIP ViT image tower (no conv1.weight / proj; "
                        f"keys like {', '.join(sorted(state)[:4])})")
    return visual, record


def _open_clip_pretrained(arch: str, tag: str) -> Tensors:
    """Fetch a pretrained tower's weights file through open_clip's own registry (huggingface_hub under it:
    its cache, HF_HOME and HF_HUB_OFFLINE apply) and read it like a local file (weights only). The file
    is fetched before anything is built, so an offline machine answers at once."""
    import open_clip

    try:
        if tag.startswith("hf-hub:"):
            from huggingface_hub import hf_hub_download

            repo = tag[len("hf-hub:"):]
            try:
                path = hf_hub_download(repo, "open_clip_model.safetensors")
            except Exception:  # noqa: BLE001 - older repositories ship the .bin only
                path = hf_hub_download(repo, "open_clip_pytorch_model.bin")
        else:
            cfg = open_clip.get_pretrained_cfg(arch, tag)
            if not cfg:
                tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch))
                raise UserError(f"--backbone {tag}: not a local file, nor an open_clip tag of {arch} ({tags})")
            path = open_clip.download_pretrained(cfg, prefer_hf_hub=True)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - offline, unknown repository, ...: one line for the user
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise UserError(f"--backbone {tag}: could not fetch the {arch} weights ({type(exc).__name__}: {first}); "
                        "pass a local weights file instead") from None
    if not path:
        raise UserError(f"--backbone {tag}: open_clip found no weights file to fetch")
    return read_checkpoint(path, "backbone")


def clip_config_from_visual(visual: Tensors, quick_gelu: bool = True) -> dict[str, Any]:
    """The open_clip config of a ViT image tower, read off its tensor shapes."""
    conv = visual["conv1.weight"]
    width, patch = int(conv.shape[0]), int(conv.shape[-1])
    blocks = {int(m.group(1)) for k in visual if (m := re.match(r"transformer\.resblocks\.(\d+)\.", k))}
    if not blocks:
        raise UserError("the backbone has no transformer blocks (transformer.resblocks.N.*)")
    tokens = int(visual["positional_embedding"].shape[0]) - 1
    grid = math.isqrt(tokens)
    if grid * grid != tokens:
        raise UserError(f"the backbone's positional embedding ({tokens} patches) is not a square grid")
    mlp = int(visual["transformer.resblocks.0.mlp.c_fc.weight"].shape[0])
    if width % HEAD_WIDTH:
        raise UserError(f"backbone width {width} is not a multiple of the head width {HEAD_WIDTH}")
    vision = {"image_size": grid * patch, "layers": len(blocks), "width": width, "patch_size": patch}
    if mlp != 4 * width:
        vision["mlp_ratio"] = mlp / width
    return {"embed_dim": int(visual["proj"].shape[1]), "quick_gelu": bool(quick_gelu), "vision_cfg": vision}


def describe_clip(cfg: dict[str, Any]) -> str:
    v = cfg["vision_cfg"]
    same = v.get("width") == 1024 and v.get("layers") == 24 and v.get("patch_size") == 14 and "mlp_ratio" not in v
    shape = f"ViT width {v['width']}, {v['layers']} blocks, patch {v['patch_size']}, {v['image_size']} px, embed {cfg['embed_dim']}"
    return shape + (" (the ViT-L/14 architecture)" if same else " (NOT the ViT-L/14 architecture the authors used)")


# What UnivFD and RINE ask of the user, and how both authors feed CLIP at test time (a centre crop at
# native resolution, CLIP's mean/std, torchvision's crop arithmetic): one copy for both families.
CLIP_BACKBONE = "OpenAI CLIP ViT-L/14 image tower: a local open_clip/OpenAI state dict, or an open_clip tag (openai)"


def clip_test_preprocess(size: int) -> PreprocessConfig:
    return PreprocessConfig(input_size=size, resize="crop", interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD,
                            geometry="torchvision")
