"""`fakescope models`: the registered detectors."""

from __future__ import annotations

import typer

from .app import app, emit_json


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List the registered detectors, and the published families `fakescope convert` turns into models."""
    from fakescope.models import list_detectors

    from fakescope.convert import FAMILIES

    specs = list_detectors()
    if as_json:
        emit_json([{"name": s.display_name, "description": s.description, "fit": s.fit} for s in specs]
                  + [{"name": name, "convertible": True, **f} for name, f in FAMILIES.items()])
        return
    width = max(len(s.display_name) for s in specs)
    for s in specs:
        typer.echo(f"{s.display_name:<{width}}  {s.description}")
    typer.echo("\nPublished detectors (fakescope convert FAMILY CHECKPOINT --out DIR [--backbone ...]):")
    for name, f in FAMILIES.items():
        typer.echo(f"{name:<{width}}  {f['description']}\n{'':<{width}}  licence: {f['licence']}; backbone: {f['backbone']}")
