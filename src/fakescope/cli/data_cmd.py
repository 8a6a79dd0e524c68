"""`fakescope data ...`: look at datasets before training on them."""

from __future__ import annotations

from typing import Optional

import typer

from .app import app, emit_json, user_errors

data_app = typer.Typer(help="Inspect datasets in any supported form.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("summary")
@user_errors
def summary(
    source: str = typer.Argument(..., help="Folder, parquet file, CSV/JSONL manifest, or hf:OWNER/NAME[:config]."),
    split: Optional[str] = typer.Option(None, "--split", "-s", help="Only this split."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout."),
    format: Optional[str] = typer.Option(None, "--format", help="Force a format instead of detecting it."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Decode every image to find corrupt files."),
    streaming: bool = typer.Option(False, "--streaming", help="Stream hub datasets instead of downloading."),
    progress: bool = typer.Option(True, "--progress/--no-progress",
                                  help="Progress on stderr: a live bar on a terminal, a line every few seconds in a file."),
) -> None:
    """Count images per split (real, fake, per generator) and list the files that cannot be used."""
    from fakescope.data import open_source, summarize

    src = open_source(source, split=split, format=format, streaming=streaming)
    result = summarize(src, verify=verify, progress=progress)
    if as_json:
        emit_json(result)
        return
    _print_summary(result)


def _print_summary(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{result['source']}[/bold]  format: {result['format']}")
    table = Table("split", "total", "real", "fake", "generators")
    for name, c in result["splits"].items():
        gens = ", ".join(f"{g} {n}" for g, n in c["generators"].items()) or "-"
        table.add_row(name, str(c["total"]), str(c["real"]), str(c["fake"]), gens)
    console.print(table)
    skipped = result["skipped"]
    if skipped:
        console.print(f"[yellow]skipped {len(skipped)} file(s):[/yellow]")
        for s in skipped:
            console.print(f"  {s['path']}: {s['reason']}", markup=False, highlight=False)
    else:
        console.print("skipped: none")
