"""Command-line interface; `main` is the `fakescope` console script."""

from .app import app, build_app, main

__all__ = ["app", "build_app", "main"]
