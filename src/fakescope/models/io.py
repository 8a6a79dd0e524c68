"""A trained model is a directory: `model.safetensors` + `config.json`. No pickle anywhere.

`config.json` records the SHA-256 of the weights file it belongs to, so a directory whose two
files do not match (a crash between the two writes, a hand-copied file) is refused on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from fakescope.utils.atomic import atomic_write, atomic_write_text

from .config import ModelConfig
from .net import DetectorNet, create_model
from fakescope.errors import UserError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def state_for_saving(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """CPU, contiguous, unshared tensors: what safetensors requires."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def save_model(model: torch.nn.Module, config: ModelConfig, out_dir: str | os.PathLike[str]) -> Path:
    """Write the model directory (weights first, then the config naming their checksum)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = getattr(model, "module", model)  # unwrap DDP
    # One metadata key only: safetensors writes its metadata map in a per-process random order, so two
    # keys would give the same weights a different file checksum (and so a different model version)
    # each time they are saved. The architecture is in config.json.
    metadata = {"format": "pt"}
    atomic_write(out / WEIGHTS, lambda p: save_file(state_for_saving(net), str(p), metadata=metadata))
    config.card["weights_sha256"] = file_sha256(out / WEIGHTS)
    atomic_write_text(out / CONFIG, config.to_json())
    return out


def read_config(model_dir: str | os.PathLike[str]) -> ModelConfig:
    path = Path(model_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no {CONFIG})")
    try:
        return ModelConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: invalid model config: {exc}") from None


def load_model(model_dir: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[DetectorNet, ModelConfig]:
    """Rebuild the network from config.json and load model.safetensors into it (strictly)."""
    directory = Path(model_dir)
    config = read_config(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{model_dir}: no {WEIGHTS}")
    expected = config.card.get("weights_sha256")
    if expected and file_sha256(weights) != expected:
        raise UserError(f"{weights} does not match the checksum in {CONFIG}: the directory is inconsistent")
    model = create_model(config)
    state = load_file(str(weights), device="cpu")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise UserError(f"{weights} does not fit the {config.architecture} network its config describes "
                        f"(saved by another fakescope version?): {first[:300]}") from None
    model.eval()
    return model.to(device), config


def is_model_dir(path: str | os.PathLike[str]) -> bool:
    """A fakescope model directory: weights and config side by side."""
    p = Path(path)
    return p.is_dir() and (p / WEIGHTS).is_file() and (p / CONFIG).is_file()


def warm_start(model: torch.nn.Module, config: ModelConfig, model_dir: str | os.PathLike[str]) -> str:
    """Copy a trained fakescope model's weights into `model` (fine-tuning): every tensor whose name
    and shape match, heads included; the architectures must be the same detector."""
    source = read_config(model_dir)
    if source.architecture != config.architecture or source.arch_args != config.arch_args:
        raise UserError(f"{model_dir} is a {source.architecture} {source.arch_args or ''} model; "
                        f"it cannot initialise {config.architecture} {config.arch_args or ''}")
    state = load_file(str(Path(model_dir) / WEIGHTS), device="cpu")
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fitting, strict=False)
    fresh = sorted(set(own) - set(fitting))
    return f"{len(fitting)} of {len(own)} tensors from {model_dir}" + (f"; new: {', '.join(fresh[:6])}" if fresh else "")
