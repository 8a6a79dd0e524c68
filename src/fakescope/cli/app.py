"""The `fakescope` command-line application: one Typer app, one module per command group."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

app = typer.Typer(
    name="fakescope",
    help="Detect AI-generated images and attribute them to their generator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


class UsageProblem(Exception):
    """A bad argument or unreadable input named on the command line: one line, exit code 2."""


def user_errors(func: F) -> F:
    """Turn the library's 'you asked for something that is not there' errors into exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fakescope.errors import UserError

        try:
            return func(*args, **kwargs)
        except (UsageProblem, UserError, FileNotFoundError, KeyError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            typer.echo(f"error: {msg}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any) -> None:
    """Machine output: exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _print_version(value: bool) -> None:
    if value:
        from fakescope import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Detect AI-generated images and attribute them to their generator."""


COMMAND_MODULES = ("data_cmd", "models_cmd", "train_cmd", "detect_cmd", "export_cmd", "evaluate_cmd", "benchmark_cmd", "serve_cmd",
                   "convert_cmd", "push_cmd", "calibrate_cmd", "inspect_cmd", "adapt_cmd")


def build_app() -> typer.Typer:
    """The app with every command registered.

    Command modules register themselves on `app` when imported; each keeps its heavy imports
    (torch, timm, datasets) inside the command so `--help` stays fast.
    """
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return app


def main() -> None:
    build_app()()
