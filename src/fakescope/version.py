"""The package version, in one place (pyproject.toml reads it too): importable from every layer
without importing the package face (`fakescope/__init__.py`, which sits above them all)."""

__version__ = "0.1.0"
