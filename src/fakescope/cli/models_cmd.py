"""`fakescope models`: the registered detectors."""

from __future__ import annotations

import typer

from .app import app, emit_json


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List the registered detectors with a one-line description."""
    from fakescope.models import list_detectors

    specs = list_detectors()
    if as_json:
        emit_json([{"name": s.display_name, "description": s.description, "fit": s.fit} for s in specs])
        return
    width = max(len(s.display_name) for s in specs)
    for s in specs:
        typer.echo(f"{s.display_name:<{width}}  {s.description}")
