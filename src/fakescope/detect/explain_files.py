"""`fakescope detect --explain OUTDIR`: explanation images per input, and an index linking them.

Per scored image: `<name>.gradcam.png` (or `.saliency.png`: the heatmap blended over the model's
input view) and, for frequency-based detectors, `<name>.spectrum.png`. `<name>` is derived from the
input's path (separators and unsafe characters become `_`, at most 80 characters) plus 8 hex
digits of the path's hash, so names are readable, safe on every filesystem and never collide.
`OUTDIR/index.json` lists, per input, its path, verdict, score and the files (relative to OUTDIR);
it is rewritten atomically at the end of the run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from fakescope.imageops import png_bytes
from fakescope.models import DetectorNet, ModelConfig
from fakescope.utils.atomic import atomic_write_bytes, atomic_write_json

from .explain import explain
from .inputs import load_input

INDEX = "index.json"
MAX_STEM = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def explanation_stem(origin: str) -> str:
    """A safe, unique file stem for an input path (or dataset row)."""
    readable = _UNSAFE.sub("_", origin.replace("\\", "/"))
    # the end of a path (the file name) says most; a name never starts with '.' or '-'
    tail = readable[-MAX_STEM:].lstrip("._-").rstrip("._") or "input"
    digest = hashlib.sha1(origin.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{tail}-{digest}"


class ExplanationWriter:
    """Explains each scored input with the torch model (explanations need gradients)."""

    def __init__(self, outdir: str | Path, model: DetectorNet, config: ModelConfig, model_info: dict[str, Any]) -> None:
        self.outdir = Path(outdir)
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.config = config
        self.model_info = model_info
        self.entries: list[dict[str, Any]] = []

    def add(self, item: Any, row: dict[str, Any]) -> dict[str, Any]:
        """Write the files for one scored input; returns what its result row links to."""
        stem = explanation_stem(row["path"])
        entry: dict[str, Any] = {"path": row["path"], "label": row["label"], "score": row["score"]}
        try:
            ex = explain(self.model, self.config, load_input(item))
        except (OSError, ValueError) as exc:  # the image decoded once already; keep going if not twice
            entry["error"] = f"explanation failed: {exc}"
            self.entries.append(entry)
            return {"error": entry["error"]}
        files = {"kind": ex.kind, "overlay": f"{stem}.{ex.kind}.png"}
        atomic_write_bytes(self.outdir / files["overlay"], png_bytes(ex.overlay))
        if ex.spectrum is not None:
            files["spectrum"] = f"{stem}.spectrum.png"
            atomic_write_bytes(self.outdir / files["spectrum"], png_bytes(ex.spectrum))
        entry.update(files)
        self.entries.append(entry)
        return {k: str(self.outdir / v) if k != "kind" else v for k, v in files.items()}

    def close(self) -> Path:
        return atomic_write_json(self.outdir / INDEX, {"model": self.model_info, "items": self.entries})
