"""`fakescope models`: the registered detectors."""

from __future__ import annotations

import typer

from .app import app, emit_json


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
           shipped: bool = typer.Option(False, "--shipped", help="With --json: list the shipped models instead.")) -> None:
    """List the registered detectors, then the shipped models (load one with --model NAME)."""
    from fakescope.models import list_detectors
    from fakescope.models.shipped import shipped_models

    specs = list_detectors()
    if as_json and shipped:
        emit_json([{"name": m.name, "summary": m.summary, "path": str(m.path), "installed": (m.path / "config.json").is_file()}
                   for m in shipped_models()])
        return
    if as_json:
        emit_json([{"name": s.display_name, "description": s.description, "fit": s.fit} for s in specs])
        return
    width = max(len(s.display_name) for s in specs)
    for s in specs:
        typer.echo(f"{s.display_name:<{width}}  {s.description}")
    typer.echo("\nshipped models (--model NAME, Detector.load(NAME)):")
    for m in shipped_models():
        state = "" if (m.path / "config.json").is_file() else "  [not installed]"
        typer.echo(f"  {m.name:<{width}}  {m.summary}{state}")
