"""`fakescope export onnx`: a model directory as an ONNX graph for onnxruntime and other runtimes."""

from __future__ import annotations

from typing import Optional

import typer

from .app import app, emit_json, user_errors

export_app = typer.Typer(help="Export a trained model for other runtimes.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("onnx")
@user_errors
def onnx(
    model: str = typer.Option(..., "--model", "-m", help="Model directory (model.safetensors + config.json) or hf:OWNER/NAME[@REVISION]."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Output .onnx file (default: MODEL/model.onnx, which --backend onnx uses)."),
    opset: Optional[int] = typer.Option(None, "--opset", help="ONNX opset (default: the exporter's)."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare onnxruntime with torch on a batch before writing."),
) -> None:
    """Export with a dynamic batch axis; input `input` (normalised float NCHW), outputs `binary` and/or
    `generator` logits. The file's metadata records the model's config and the weights' SHA-256.

    Prints one JSON object: the file, outputs, opset, weights_sha256 and the torch/onnx difference.
    """
    from pathlib import Path

    from fakescope.detect.onnx_export import ONNX_FILE, export_onnx
    from fakescope.models.hub import resolve_model

    directory = resolve_model(model)
    emit_json(export_onnx(directory, out or Path(directory) / ONNX_FILE, opset=opset, check=check))
