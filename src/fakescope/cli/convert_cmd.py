"""`fakescope convert FAMILY CHECKPOINT --out DIR [--backbone PATH|NAME]`: published detectors -> model directories."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app, emit_json, user_errors


@app.command("convert")
@user_errors
def convert(
    family: str = typer.Argument(..., help="Published family: cnndetection, npr, univfd, rine, commfor (see `fakescope models`)."),
    checkpoint: Path = typer.Argument(..., help="The authors' weights file (.pth/.pt read with weights_only=True, or .safetensors)."),
    out: Path = typer.Option(..., "--out", help="Model directory to write (model.safetensors, config.json, MODEL_CARD.md)."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="For head-only families (univfd, rine): the CLIP ViT-L/14 "
                                           "weights file, or an open_clip pretrained tag (openai) fetched when online."),
) -> None:
    """Convert a published detector's checkpoint into a fakescope model directory; prints its summary."""
    import time

    from fakescope.convert import convert_checkpoint
    from fakescope.models import read_config

    t0 = time.time()
    directory = convert_checkpoint(family, checkpoint, out, backbone=backbone)
    config = read_config(directory)
    typer.echo(f"converted {family} -> {directory} ({config.architecture}, {config.preprocess.describe()})", err=True)
    emit_json({"family": family, "model_dir": str(directory), "architecture": config.architecture,
               "preprocess": config.to_dict()["preprocess"], "source": config.card.get("published", {}),
               "weights_sha256": config.card.get("weights_sha256"), "seconds": round(time.time() - t0, 2)})
