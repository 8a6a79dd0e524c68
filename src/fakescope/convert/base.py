"""The machinery every published family shares: the family registry, reading an author's checkpoint
without arbitrary unpickling, loading the mapped tensors strictly into a registered fakescope
detector, and writing the model directory with its card.

A family module says only what is particular to it: which detector, which preprocessing (the
authors' test-time transform), how their keys map onto fakescope's, and what the output means.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fakescope.errors import UserError

Tensors = dict[str, torch.Tensor]



@dataclass(frozen=True)
class Mapped:
    """What a family's converter returns: a config and the state dict of the `DetectorNet` it describes."""

    config: Any  # fakescope.models.ModelConfig
    state: Tensors
    notes: list[str] = field(default_factory=list)  # caveats for the card (e.g. a preprocessing approximation)


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    citation: str
    url: str
    licence: str
    detector: str  # the fakescope detector the weights are mapped into
    backbone: str | None  # what --backbone must supply; None: the checkpoint holds the whole network
    output: str  # the authors' output convention, and how it becomes fakescope's P(fake)
    preprocessing: str  # the authors' test-time transform, in words, with where it comes from
    convert: Callable[[Tensors, Tensors | None], Mapped]
    variants: str = ""  # released checkpoints this family covers

    def describe(self) -> dict[str, Any]:
        return {"family": self.name, "title": self.title, "licence": self.licence, "detector": self.detector,
                "backbone": self.backbone or "none (the checkpoint is complete)", "output": self.output,
                "preprocessing": self.preprocessing, "citation": self.citation, "url": self.url, "variants": self.variants}


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    if family.name in _FAMILIES:
        raise ValueError(f"family {family.name!r} registered twice")
    _FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    _ensure_loaded()
    if name not in _FAMILIES:
        raise UserError(f"unknown published family {name!r} (known: {', '.join(sorted(_FAMILIES))})")
    return _FAMILIES[name]


def all_families() -> dict[str, Family]:
    _ensure_loaded()
    return dict(sorted(_FAMILIES.items()))


def _ensure_loaded() -> None:
    from . import cnndetection, commfor, npr, rine, univfd  # noqa: F401  (importing registers each family)


def read_checkpoint(path: str | Path, what: str = "checkpoint") -> Tensors:
    """A released weights file as a flat dict of tensors, never unpickling arbitrary objects.

    safetensors files are read directly; anything else goes through
    `torch.load(weights_only=True)`, which refuses classes, functions and code. A file that needs
    them (a whole pickled model, a TorchScript archive) is refused with a message saying so.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p} not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(p))
        except Exception as exc:  # noqa: BLE001 - any failure of an untrusted file is the user's to know
            raise UserError(f"{p}: not a readable safetensors file ({type(exc).__name__}: {exc})") from None
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{p}: refused - this {what} needs arbitrary unpickling (objects beyond tensors and "
                        f"plain containers), which fakescope never does; save its state_dict() "
                        f"(or safetensors) instead. torch said: {first}") from None
    except RuntimeError as exc:
        if _is_torchscript(p):
            raise UserError(f"{p}: a TorchScript archive, not a state dict; fakescope loads weights only "
                            f"(for CLIP, use open_clip's state-dict file, e.g. open_clip_pytorch_model.bin)") from None
        raise UserError(f"{p}: cannot read as a PyTorch weights file: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # noqa: BLE001 - zip errors, truncated files, ...
        raise UserError(f"{p}: cannot read as a PyTorch weights file ({type(exc).__name__}: {exc})") from None
    return _flatten(obj, p)


def _is_torchscript(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("constants.pkl") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _flatten(obj: Any, path: Path) -> Tensors:
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    # Training scripts wrap the weights: {"model": ...} (CNNDetection, Community Forensics), {"state_dict": ...}
    for key in ("model", "state_dict", "model_state_dict", "net"):
        inner = obj.get(key)
        if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            obj = inner
            break
    tensors = {_strip(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise UserError(f"{path}: holds no tensors")
    return tensors


def _strip(key: str) -> str:
    """Wrapper prefixes added by DataParallel/DDP and torch.compile."""
    for prefix in ("module.", "_orig_mod."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def take(state: Tensors, prefix: str, into: str = "") -> Tensors:
    """Tensors whose key starts with `prefix`, renamed to `into` + the rest."""
    return {into + k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def require(state: Tensors, keys: list[str], family: str) -> None:
    missing = [k for k in keys if k not in state]
    if missing:
        sample = ", ".join(sorted(state)[:6])
        raise UserError(f"not a {family} checkpoint: missing {', '.join(missing[:4])} (it has: {sample}, ...)")
