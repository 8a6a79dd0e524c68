"""The documentation site: it builds with `mkdocs build --strict`, and every example in it runs.

The convention (docs/contributing.md, "These pages"): in docs/**/*.md, ```python blocks are
executed in order, one namespace per page; ```bash blocks hold `fakescope ...` lines, each run
through the real CLI (in this process, so torch is imported once) and required to exit 0; any
other line in a bash block is an error. ```console, ```text and ```json blocks are shown only.
Each page runs in its own temporary folder with the shared data beside it (../shared/data).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, SHARED

DOCS = REPO / "docs"
RUN = {"python", "bash"}
SHOWN = {"console", "text", "json"}
FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
PAGES = sorted(DOCS.rglob("*.md"))


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    code: str


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a page, in order (fences at the start of a line, as the docs write them)."""
    found: list[Block] = []
    lang, start, body = None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if lang is None and m:
            lang, start, body = m["lang"], number, []
        elif lang is not None and line.strip() == "```":
            found.append(Block(lang, start, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"a code block opened at line {start} is never closed"
    return found


def commands(code: str) -> list[list[str]]:
    """The `fakescope` command lines of a bash block as argument lists (comments dropped, `\\` joins lines)."""
    out: list[list[str]] = []
    for logical in code.replace("\\\n", " ").splitlines():
        words = shlex.split(logical, comments=True)
        if not words:
            continue
        if words[0] != "fakescope":
            raise ValueError(f"not a fakescope command (put it in a console block): {logical.strip()}")
        out.append(words[1:])
    return out


def run_page(page: Path, folder: Path) -> None:
    from typer.testing import CliRunner

    from fakescope.cli import build_app

    app = build_app()
    runner = CliRunner()
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page.read_text(encoding="utf-8")):
        where = f"{page.relative_to(REPO)}:{block.line}"
        if block.lang == "python":
            exec(compile(block.code, where, "exec"), namespace)  # noqa: S102 - the docs' own examples
        elif block.lang == "bash":
            for args in commands(block.code):
                result = runner.invoke(app, args, catch_exceptions=False)
                assert result.exit_code == 0, f"{where}: fakescope {shlex.join(args)} -> exit {result.exit_code}\n{result.output[-3000:]}"


def runnable(page: Path) -> bool:
    return any(b.lang in RUN for b in blocks(page.read_text(encoding="utf-8")))


@pytest.fixture
def page_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with the shared data beside it, as ../shared/data is beside a checkout."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(SHARED, target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("FAKESCOPE_MODEL", "FAKESCOPE_PIPELINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("FAKESCOPE_CACHE", str(tmp_path / "cache"))
    return work


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page: Path, page_folder: Path) -> None:
    run_page(page, page_folder)


def test_every_block_says_whether_it_runs() -> None:
    """A block without a language, or in one the convention does not name, would be skipped silently."""
    unknown = [f"{p.relative_to(REPO)}:{b.line} ```{b.lang}" for p in PAGES
               for b in blocks(p.read_text(encoding="utf-8")) if b.lang not in RUN | SHOWN]
    assert not unknown, "code blocks outside the docs convention (python, bash | console, text, json):\n" + "\n".join(unknown)
    bash = [c for p in PAGES for b in blocks(p.read_text(encoding="utf-8")) if b.lang == "bash" for c in commands(b.code)]
    assert len(bash) >= 10 and sum(b.lang == "python" for p in PAGES for b in blocks(p.read_text(encoding="utf-8"))) >= 10


def test_the_block_reader() -> None:
    page = "text\n```bash\nfakescope detect a.jpg \\\n  --format json   # one document\n\n```\n```console\nbash x.sh\n```\n"
    found = blocks(page)
    assert [(b.lang, b.line) for b in found] == [("bash", 2), ("console", 7)]
    assert commands(found[0].code) == [["detect", "a.jpg", "--format", "json"]]
    with pytest.raises(ValueError, match="not a fakescope command"):
        commands("pip install fakescope\n")
    with pytest.raises(AssertionError, match="never closed"):
        blocks("```python\nprint(1)\n")


def test_site_builds_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict`: broken links, pages missing from disk, API references to renamed
    objects and missing included files (model cards, pipeline.json) all fail the build."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "Detector" in api and "ModelRunner" in api and "iter_predict" in api  # rendered from the docstrings
    card = (site / "model-cards" / "default" / "index.html").read_text(encoding="utf-8")
    assert "fakescope-default-cifake" in card and "Verdicts: domain and operating point" in card
    assert "fonts.googleapis.com" not in (site / "index.html").read_text(encoding="utf-8")
