"""The house's layers (DESIGN.md section 10): no module imports a higher layer.

Every module under src/fakescope is parsed (ast, nothing imported), every `import` and
`from ... import` of fakescope code is resolved to the room it lands in, and an import whose
room sits above the importer's room fails the test. Lazy imports inside functions count too:
they are arrows all the same. A new room must be placed in LAYERS before its modules can pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fakescope"

# The layer table, bottom-up; rooms on one line share a layer and may import each other.
# "" is the package face (fakescope/__init__.py: `fakescope.Detector`), above everything it exposes.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "utils", "imageops", "version", "metrics"),
    ("data", "provenance"),  # provenance reads bytes, not models: beside data
    ("models", "convert"),  # convert/ and hub loading live beside models/io.py
    ("inference",),
    ("detect",),  # one model's raw scores (detect/runner.py), backends, inputs, writers
    ("verdict",),  # the public Detector: domains, operating points, evidence, stage order
    ("train", "serve"),
    ("eval",),
    ("cli", "testing", "__main__", ""),
]
RANK = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}


def module_name(path: Path) -> str:
    parts = ("fakescope", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str:
    """`fakescope.detect.runner` -> "detect"; `fakescope` -> "" (the package face)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) for every fakescope import in `source`, a module of `package`."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from fakescope import imageops` names a module, `from fakescope import Detector` the face
            if target == "fakescope":
                found += [(node.lineno, _submodule_or_face(alias.name)) for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, m) for line, m in found if m == "fakescope" or m.startswith("fakescope.")]


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    here = room_of(own)
    found = []
    for line, target in imported_modules(source if source is not None else path.read_text(encoding="utf-8"), package):
        there = room_of(target)
        if RANK[there] > RANK[here]:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} "
                         f"({there or 'the package face'} sits above {here or 'the face'})")
    return found


def _submodule_or_face(name: str) -> str:
    is_module = (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()
    return f"fakescope.{name}" if is_module else "fakescope"


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_room_is_in_the_layer_table() -> None:
    rooms = {room_of(module_name(p)) for p in MODULES}
    assert rooms <= set(RANK), f"rooms missing from LAYERS: {sorted(rooms - set(RANK))}"
    assert len(MODULES) > 100  # the walk found the package, not an empty folder


def test_no_module_imports_a_higher_layer() -> None:
    upward = [arrow for path in MODULES for arrow in upward_imports(path)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_one_class_named_detector() -> None:
    owners = [str(p.relative_to(PACKAGE)) for p in MODULES
              for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
              if isinstance(node, ast.ClassDef) and node.name == "Detector"]
    assert owners == ["verdict/detector.py"]
    names = [p.relative_to(PACKAGE) for p in MODULES if p.name == "detector.py"]
    assert [str(n) for n in names] == ["verdict/detector.py"]


@pytest.mark.parametrize("source, expected, is_upward", [
    ("from fakescope.verdict.detector import Detector\n", "fakescope.verdict.detector", True),
    ("from ..verdict import GuardedModel\n", "fakescope.verdict", True),
    ("from . import runner\n", "fakescope.detect", False),
    ("from fakescope import Detector\n", "fakescope", True),
    ("from fakescope import imageops\n", "fakescope.imageops", False),
    ("import os\n\ndef f():\n    import fakescope.eval.metrics as m\n", "fakescope.eval.metrics", True),
    ("from fakescope.models.io import read_config\n", "fakescope.models.io", False),
])
def test_the_checker_sees_each_import_form(source: str, expected: str, is_upward: bool) -> None:
    """The checker itself: each spelling of an import resolves to the module it names, and an
    upward one, written any of these ways in a module of detect/, is reported with its line."""
    probe = PACKAGE / "detect" / "probe.py"  # never written: the source is passed in
    line = len(source.splitlines())  # each probe ends with its fakescope import
    assert imported_modules(source, "fakescope.detect") == [(line, expected)]
    arrows = upward_imports(probe, source)
    assert arrows == ([f"fakescope/detect/probe.py:{line} imports {expected} "
                       f"({room_of(expected) or 'the package face'} sits above detect)"] if is_upward else [])
