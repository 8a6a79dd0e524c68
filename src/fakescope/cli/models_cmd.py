"""`fakescope models`: the registered detectors, the shipped models and the convertible published families."""

from __future__ import annotations

import typer

from .app import app, emit_json


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
           shipped: bool = typer.Option(False, "--shipped", help="With --json: list the shipped models instead.")) -> None:
    """List the registered detectors, the shipped models (load one with --model NAME), and the published
    families `fakescope convert` turns into models."""
    from fakescope.convert import FAMILIES
    from fakescope.models import list_detectors
    from fakescope.models.shipped import shipped_models

    specs = list_detectors()
    if as_json and shipped:
        emit_json([{"name": m.name, "summary": m.summary, "path": str(m.path), "installed": (m.path / "config.json").is_file()}
                   for m in shipped_models()])
        return
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
    typer.echo("\nshipped models (--model NAME, Detector.load(NAME)):")
    for m in shipped_models():
        state = "" if (m.path / "config.json").is_file() else "  [not installed]"
        typer.echo(f"  {m.name:<{width}}  {m.summary}{state}")
