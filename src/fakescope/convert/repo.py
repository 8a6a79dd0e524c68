"""Recognising a published family from a hub repository (for `fakescope.models.hub`).

`family_of_repo(files, meta)` looks at the repository's file names and, when given, its id
(`meta["repo_id"]`) and parsed config.json (`meta["config"]`). A fakescope-format repository
(config.json with "architecture" and "preprocess") is not a published family: None.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Any

# file-name patterns of each family's released checkpoints, most specific first
CHECKPOINT_PATTERNS: dict[str, tuple[str, ...]] = {
    "univfd": ("fc_weights.pth",),
    "rine": ("model_*class_trainable.pth", "model_ldm_trainable.pth"),
    "npr": ("NPR.pth", "npr*.pth"),
    "cnndetection": ("blur_jpg_prob*.pth",),
    "commfor": ("model_v*_ViT_*_ckpt.pt",),
}
REPO_HINTS: dict[str, tuple[str, ...]] = {
    "commfor": ("commfor", "community-forensics", "communityforensics"),
    "univfd": ("universalfakedetect", "univfd"),
    "rine": ("rine",),
    "npr": ("npr-deepfake", "npr"),
    "cnndetection": ("cnndetection", "cnnspot"),
}


def _is_fakescope(config: dict[str, Any] | None) -> bool:
    return isinstance(config, dict) and "architecture" in config and "preprocess" in config


def family_of_repo(files: list[str], meta: dict[str, Any] | None = None) -> str | None:
    """The published family a hub repository holds, or None (fakescope format, or not recognised)."""
    meta = meta or {}
    config = meta.get("config")
    if _is_fakescope(config):
        return None
    names = [PurePosixPath(f).name for f in files]
    for family, patterns in CHECKPOINT_PATTERNS.items():
        if any(fnmatch.fnmatch(n, p) for n in names for p in patterns):
            return family
    # Community Forensics on the hub: PyTorchModelHubMixin (model.safetensors + config.json of its
    # constructor arguments: input_size, patch_size, model_size)
    if "model.safetensors" in names and isinstance(config, dict) and {"input_size", "patch_size"} <= set(config):
        return "commfor"
    repo = str(meta.get("repo_id", "")).lower().split("/")[-1]
    for family, hints in REPO_HINTS.items():
        if any(repo == h or repo.startswith(h + "-") or (len(h) > 4 and h in repo) for h in hints) and any(n.endswith((".pth", ".pt", ".safetensors", ".bin")) for n in names):
            return family
    return None


def checkpoint_in_repo(files: list[str], family: str) -> str | None:
    """Which of `files` is the family's checkpoint (the path as listed), or None."""
    for pattern in CHECKPOINT_PATTERNS.get(family, ()):
        for f in files:
            if fnmatch.fnmatch(PurePosixPath(f).name, pattern):
                return f
    weights = [f for f in files if f.endswith((".safetensors", ".pth", ".pt", ".bin"))]
    return weights[0] if len(weights) == 1 else ("model.safetensors" if "model.safetensors" in files else None)
