"""Loading user-provided pretrained weights (timm, open_clip, PyTorch state dicts) without pickle."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from fakescope.errors import UserError


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A local weights file as a flat state dict, without unpickling arbitrary objects.

    safetensors is read directly; other files go through `torch.load(weights_only=True)`, which
    refuses anything but tensors and plain containers. Wrapper keys (state_dict, model) are unwrapped.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"pretrained weights {p} not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p))
    state = torch.load(p, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
            break
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_matching(module: nn.Module, state: dict[str, torch.Tensor], what: str = "weights") -> dict[str, int]:
    """Load the tensors of `state` whose names and shapes match `module`; returns the counts."""
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise UserError(f"{what}: no tensor matches the backbone (wrong architecture?)")
    module.load_state_dict(usable, strict=False)
    return {"loaded": len(usable), "skipped": len(state) - len(usable), "missing": len(own) - len(usable)}
