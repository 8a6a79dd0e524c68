"""Published detectors -> fakescope model directories (DESIGN.md section 9).

    from fakescope.convert import convert_checkpoint, FAMILIES, family_of_repo
    convert_checkpoint("univfd", "fc_weights.pth", "models/univfd", backbone="open_clip_pytorch_model.bin")

Every family lives in its own module and registers itself; `FAMILIES` describes them (licence,
backbone needed). Checkpoints are read with `torch.load(weights_only=True)` or safetensors only.
"""

from __future__ import annotations

from .base import Family, all_families, get_family, read_checkpoint
from .convert import convert_checkpoint
from .repo import checkpoint_in_repo, family_of_repo

FAMILIES: dict[str, dict[str, str]] = {
    name: {"description": f.title, "licence": f.licence, "backbone": f.backbone or "none (the checkpoint is complete)",
           "detector": f.detector}
    for name, f in all_families().items()
}

__all__ = ["FAMILIES", "Family", "all_families", "checkpoint_in_repo", "convert_checkpoint", "family_of_repo", "get_family",
           "read_checkpoint"]
