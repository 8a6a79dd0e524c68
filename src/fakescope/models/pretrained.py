"""Named pretrained backbones for `train --pretrained`: timm tags, open_clip tags and hub ids.

    --pretrained PATH                       a local weights file (safetensors, or timm/PyTorch via weights_only)
    --pretrained timm                       the timm architecture's default pretrained tag (timm:resnet50 -> resnet50.a1_in1k)
    --pretrained timm:resnet50.a1_in1k      a named timm architecture.tag
    --pretrained hf-hub:timm/vit_small_patch16_224.augreg_in21k   a hub repository in timm's layout
    --pretrained openclip                   clip-probe: its CLIP config with the OpenAI weights (UnivFD's)
    --pretrained openclip:ViT-L-14-quickgelu/openai                clip-probe: an open_clip model/tag
    --pretrained hf-hub:OWNER/NAME          clip-probe: a hub repository in open_clip's layout

Downloads are timm's and open_clip's own (they fetch through huggingface_hub, so HF_HOME and
HF_HUB_OFFLINE apply, and offline runs read the local cache). The weights are loaded by those
libraries' real code paths (checkpoint filters included), then copied tensor by tensor into the
detector's backbone. What was loaded is recorded: the name given, the hub repository, the commit,
the file and its SHA-256.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fakescope.errors import UserError

from .io import file_sha256

TIMM_PREFIX = "timm"
OPENCLIP_PREFIX = "openclip"
HUB_PREFIX = "hf-hub:"
# Weight files the libraries look for in a hub repository, in their order of preference.
TIMM_FILES = ("model.safetensors", "pytorch_model.bin", "pytorch_model.pth", "model.pth")
OPENCLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin",
                  "open_clip_pytorch_model.pth", "model.safetensors")


def is_named(spec: str) -> bool:
    """A name a library resolves (as opposed to a local file or model directory)."""
    head = spec.split(":", 1)[0]
    return spec.startswith(HUB_PREFIX) or head in (TIMM_PREFIX, OPENCLIP_PREFIX)


def hub_file_record(repo_id: str, candidates: tuple[str, ...], revision: str | None = None) -> dict[str, Any] | None:
    """Which of `candidates` the library took from the hub cache for `repo_id`: commit, file, SHA-256."""
    from huggingface_hub import try_to_load_from_cache

    for name in candidates:
        path = try_to_load_from_cache(repo_id, name, revision=revision)
        if isinstance(path, str) and Path(path).is_file():
            return {"repo_id": repo_id, "commit": Path(path).parent.name if "/" not in name else None,
                    "file": name, "sha256": file_sha256(path)}
    return None


def local_file_record(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    return {"file": str(p.resolve()), "sha256": file_sha256(p)}


def _load_error(spec: str, exc: Exception) -> UserError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return UserError(f"--pretrained {spec}: could not load it ({type(exc).__name__}: {first[:300]}); offline, the "
                     "weights must already be in the hub cache (HF_HOME), or give a local weights file")


def timm_state(spec: str, architecture: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights for the timm backbone `architecture` from `timm`, `timm:NAME[.TAG]` or `hf-hub:OWNER/NAME`."""
    import timm

    if spec == TIMM_PREFIX:
        name = architecture
    elif spec.startswith(TIMM_PREFIX + ":"):
        name = spec.split(":", 1)[1]
    elif spec.startswith(HUB_PREFIX):
        name = spec
    else:
        raise UserError(f"--pretrained {spec}: not a timm name (timm, timm:NAME.TAG or hf-hub:OWNER/NAME)")
    try:
        source = timm.create_model(name, pretrained=True, num_classes=0)
    except Exception as exc:  # noqa: BLE001 - timm raises many kinds (unknown tag, offline, HTTP)
        raise _load_error(spec, exc) from None
    cfg = dict(getattr(source, "pretrained_cfg", {}) or {})
    record: dict[str, Any] = {"library": "timm", "timm_name": f"{cfg.get('architecture', name)}.{cfg.get('tag')}"
                              if cfg.get("tag") else name, "timm_version": timm.__version__}
    repo = cfg.get("hf_hub_id") or (spec[len(HUB_PREFIX):] if spec.startswith(HUB_PREFIX) else None)
    if repo:
        repo_id, _, revision = repo.partition("@")
        record.update(hub_file_record(repo_id, TIMM_FILES, revision or None) or {"repo_id": repo_id})
    elif cfg.get("url"):
        record["url"] = cfg["url"]
    return source.state_dict(), record


def openclip_visual_state(spec: str, clip_model: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """CLIP image-tower weights from `openclip`, `openclip:MODEL/TAG` or `hf-hub:OWNER/NAME` (open_clip layout)."""
    import open_clip

    if spec == OPENCLIP_PREFIX or spec.startswith(OPENCLIP_PREFIX + ":"):
        model, _, tag = (spec.split(":", 1)[1] if ":" in spec else clip_model).partition("/")
        tags = open_clip.list_pretrained_tags_by_model(model)
        tag = tag or ("openai" if "openai" in tags else (tags[0] if tags else ""))
        if tag not in tags:
            raise UserError(f"--pretrained {spec}: open_clip has no pretrained tag {tag!r} for {model} "
                            f"(known: {', '.join(tags) or 'none'})")
        args: tuple[str, dict[str, Any]] = (model, {"pretrained": tag})
        hub = (open_clip.get_pretrained_cfg(model, tag).get("hf_hub") or "").strip("/")
        record: dict[str, Any] = {"library": "open_clip", "open_clip_name": f"{model}/{tag}"}
    elif spec.startswith(HUB_PREFIX):
        args, hub = (spec, {}), spec[len(HUB_PREFIX):]
        record = {"library": "open_clip", "open_clip_name": spec}
    else:
        raise UserError(f"--pretrained {spec}: not an open_clip name (openclip, openclip:MODEL/TAG or hf-hub:OWNER/NAME)")
    try:
        model_obj = open_clip.create_model(args[0], **args[1])
    except Exception as exc:  # noqa: BLE001
        raise _load_error(spec, exc) from None
    record["open_clip_version"] = open_clip.__version__
    found = hub_file_record(hub, OPENCLIP_FILES) if hub else None
    if hub and found is None:  # open_clip builds a random model when a hub repo holds no weights: refuse that
        raise UserError(f"--pretrained {spec}: no open_clip weights file in {hub} ({', '.join(OPENCLIP_FILES)})")
    record.update(found or {})
    return model_obj.visual.state_dict(), record
