"""HTML reports: one self-contained page (figures embedded as base64 PNG, no external URL), with the
same PNGs written beside it. Small building blocks here; each report assembles its sections.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from fakescope.utils.atomic import atomic_write_bytes, atomic_write_text

FIGURE_DIR = "figures"
DPI = 150  # the resolution fakescope.eval.plots draws at


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 3) -> str:
    """A metric cell: the number, or a greyed n/a for undefined values."""
    if value is None:
        return '<span class="na">n/a</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def with_ci(value: float | None, ci: Mapping[str, float] | None, digits: int = 3) -> str:
    text = num(value, digits)
    if value is not None and ci:
        text += f' <span class="ci">[{ci["low"]:.{digits}f}, {ci["high"]:.{digits}f}]</span>'
    return text


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, left: int = 1, row_classes: Sequence[str] | None = None,
          css: str = "") -> str:
    """Cells are HTML already (escape text with `esc`); the first `left` columns are left-aligned."""
    head = "".join(f'<th class="l">{esc(h)}</th>' if i < left else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, cells in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        tds = "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(cells))
        body.append(f"<tr{cls}>{tds}</tr>")
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{''.join(parts)}</section>"


def note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def warning(text: str) -> str:
    return f'<div class="warning">{esc(text)}</div>'


class Figures:
    """Figures of one report: written as PNG files under OUT/figures and embedded in the page."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: dict[str, Path] = {}
        self._png: dict[str, bytes] = {}

    def add(self, name: str, png: bytes) -> str:
        path = atomic_write_bytes(self.out_dir / FIGURE_DIR / f"{name}.png", png)
        self.files[name] = path
        self._png[name] = png
        return name

    def html(self, name: str, caption: str) -> str:
        png = self._png[name]
        data = base64.b64encode(png).decode("ascii")
        # Drawn at 150 dpi: shown at 96 dpi so text has its printed size, and stays sharp on HiDPI screens.
        width = round(int.from_bytes(png[16:20], "big") * 96 / DPI)
        return (f'<figure id="fig-{esc(name)}" style="max-width:{width}px"><img alt="{esc(caption)}" data-figure="{esc(name)}" '
                f'width="{width}" src="data:image/png;base64,{data}"><figcaption>{esc(caption)}</figcaption></figure>')

    def row(self, *items: tuple[str, str]) -> str:
        return '<div class="figures">' + "".join(self.html(n, c) for n, c in items if n in self._png) + "</div>"

    def relative(self) -> list[str]:
        return [p.relative_to(self.out_dir).as_posix() for p in self.files.values()]


def _template(name: str) -> str:
    return resources.files("fakescope.eval").joinpath("templates", name).read_text(encoding="utf-8")


def write_page(path: Path, title: str, subtitle: str, body: str) -> Path:
    from fakescope.version import __version__

    page = Template(_template("page.html")).substitute(
        title=esc(title), subtitle=subtitle, body=body, css=_template("report.css"), version=esc(__version__),
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return atomic_write_text(path, page)


def badge(on: bool, text_on: str, text_off: str) -> str:
    return f'<span class="badge {"on" if on else "off"}">{esc(text_on if on else text_off)}</span>'
