"""Resumable training state: model, optimiser and RNG in safetensors, the rest in JSON.

A checkpoint is the folder `OUT/checkpoint/`. It is written as `checkpoint.tmp/` and swapped in by
renames, so a kill at any moment leaves either the previous complete checkpoint or the new one
(`checkpoint.old/` is used if the kill fell between the two renames). What is kept:
- the model weights and the optimiser state (AdamW moments, step counts), exactly;
- the position: completed epochs, optimiser steps into the current epoch, the global step;
- the torch RNG state (dropout), the best validation metric so far, the epochs without improvement.
The data order and augmentations are not stored: they are recomputed from (seed, epoch, shard).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from fakescope.models.io import file_sha256, state_for_saving
from fakescope.errors import UserError

CHECKPOINT = "checkpoint"


@dataclass
class TrainState:
    epoch: int = 0  # completed epochs
    step_in_epoch: int = 0  # optimiser steps already taken in epoch `epoch` (mid-epoch checkpoint)
    global_step: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    epochs_without_improvement: int = 0
    options_hash: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _split_optimizer(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v.detach().to("cpu").contiguous().clone()
            else:
                plain.setdefault(str(pid), {})[k] = v
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(pid): dict(v) for pid, v in meta["state"].items()}
    for key, t in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = t
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: TrainState) -> Path:
    final = out / CHECKPOINT
    tmp = out / f"{CHECKPOINT}.tmp"
    old = out / f"{CHECKPOINT}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    net = getattr(model, "module", model)
    tensors = {f"model.{k}": v for k, v in state_for_saving(net).items()}
    optim_tensors, optim_meta = _split_optimizer(optimizer.state_dict())
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(tmp / "state.safetensors"))
    meta = {"train_state": asdict(state), "optimizer": optim_meta, "sha256": file_sha256(tmp / "state.safetensors")}
    (tmp / "state.json").write_text(json.dumps(meta, indent=1, default=str))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def find_checkpoint(out: Path) -> Path | None:
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):
        d = out / name
        if (d / "state.json").is_file() and (d / "state.safetensors").is_file():
            return d
    return None


def load_checkpoint(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> TrainState:
    meta = json.loads((directory / "state.json").read_text())
    weights = directory / "state.safetensors"
    if file_sha256(weights) != meta["sha256"]:
        raise UserError(f"{directory}: checkpoint files do not match (interrupted write?)")
    tensors = load_file(str(weights))
    net = getattr(model, "module", model)
    net.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    optimizer.load_state_dict(_join_optimizer(tensors, meta["optimizer"]))
    torch.set_rng_state(tensors["rng.torch"])
    return TrainState(**meta["train_state"])


def read_train_state(directory: Path) -> TrainState:
    meta = json.loads((directory / "state.json").read_text())
    return TrainState(**meta["train_state"])
