"""`convert_checkpoint`: read an author's file, map it with its family, check the mapping by loading it
strictly into the fakescope network, write model.safetensors + config.json + MODEL_CARD.md."""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from pathlib import Path

import torch

from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write_text

from .base import get_family, read_checkpoint
from .card import model_card

CARD = "MODEL_CARD.md"


def convert_checkpoint(family: str, checkpoint: str | Path, out: str | Path, backbone: str | Path | None = None) -> Path:
    """Convert `checkpoint` (the authors' file) of `family` into the fakescope model directory `out`."""
    from fakescope.version import __version__
    from fakescope.models import create_model, save_model
    from fakescope.models.io import file_sha256

    from .backbones import clip_config_from_visual, clip_visual_state, describe_clip

    fam = get_family(family)
    ckpt = Path(checkpoint)
    state = read_checkpoint(ckpt)
    backbone_state, backbone_record = None, None
    if fam.backbone:
        if backbone is None:
            raise UserError(f"{family} ships a head only: pass --backbone ({fam.backbone})")
        backbone_state, backbone_record = clip_visual_state(backbone)
        backbone_record["architecture"] = describe_clip(clip_config_from_visual(backbone_state))
    elif backbone is not None:
        raise UserError(f"{family} checkpoints hold the whole network; --backbone is not used")
    mapped = fam.convert(state, backbone_state)
    config = mapped.config
    net = create_model(config)
    tensors = dict(mapped.state)
    own = net.state_dict()
    for k, v in own.items():  # BatchNorm step counters are not weights; older checkpoints lack them
        if k.endswith("num_batches_tracked") and k not in tensors:
            tensors[k] = v
    missing, unexpected = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    wrong = [k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape]
    if missing or unexpected or wrong:
        raise UserError(f"{ckpt.name} does not map onto {config.architecture}: missing {missing[:3]}, "
                        f"unexpected {unexpected[:3]}, wrong shapes {wrong[:3]}")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()}, strict=True)
    net.eval()
    source = {"family": fam.name, "file": ckpt.name, "sha256": file_sha256(ckpt), "url": fam.url, "licence": fam.licence,
              "citation": fam.citation, "backbone": backbone_record, "output": fam.output,
              "authors_preprocessing": fam.preprocessing, "notes": mapped.notes,
              "fakescope_version": __version__, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": _command(family, ckpt, Path(out), backbone)}
    config.card = {"published": source, "licence": fam.licence}
    config.training = {"source": f"converted from the authors' {fam.name} checkpoint (not trained by fakescope)"}
    with torch.no_grad():
        save_model(net, config, out)
    atomic_write_text(Path(out) / CARD, model_card(fam, config, source, mapped.notes))
    return Path(out)


def _command(family: str, ckpt: Path, out: Path, backbone: str | Path | None) -> str:
    parts = ["fakescope", "convert", family, str(ckpt), "--out", str(out)]
    if backbone is not None:
        parts += ["--backbone", str(backbone)]
    return " ".join(shlex.quote(p) for p in parts)


