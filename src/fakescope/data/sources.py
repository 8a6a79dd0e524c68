"""`open_source`: one entry point for every dataset form, with the form detected from the files.

Formats are a registry, tried in order; each has a `sniff` (does this path look like me?) and an
`open`. A user can force one with `format=` (CLI `--format`) when detection guesses wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakescope.errors import UserError

from .folders import (
    TreeSource,
    cifake_layout,
    genimage_layout,
    imagefolder_layout,
    looks_like_cifake,
    looks_like_genimage,
    looks_like_imagefolder,
    names_label_every_image,
)
from .hub import HUB_PREFIX, HubSource
from .manifest import MANIFEST_SUFFIXES, ManifestSource, find_manifest
from .parquet import ParquetSource, parquet_files
from .sample import DataSource


class SourceError(UserError):
    """The spec names nothing readable; the message says why (CLI: exit code 2)."""


@dataclass(frozen=True)
class SourceFormat:
    name: str
    description: str
    sniff: Callable[[Path], bool]
    open: Callable[[str, Path, str | None], DataSource]


def _manifest_path(root: Path) -> Path:
    found = root if root.is_file() else find_manifest(root)
    if found is None:
        raise SourceError(f"{root}: no manifest file")
    return found


def _has_folder_manifest(root: Path) -> bool:
    """A manifest file in `root`, and folder names that do not label every image by themselves."""
    if find_manifest(root) is None:
        return False
    return not (looks_like_imagefolder(root) and names_label_every_image(root, imagefolder_layout))


FORMATS: list[SourceFormat] = [
    SourceFormat(
        "parquet",
        "Hugging Face parquet shards (Tiny GenImage / CIFAKE copies: image, label, generator) or "
        "Community Forensics (image_data, label, model_name, architecture)",
        lambda p: (p.is_file() and p.suffix == ".parquet") or (p.is_dir() and bool(parquet_files(p))),
        lambda spec, p, split: ParquetSource(spec, p, split),
    ),
    SourceFormat(
        "manifest",
        "CSV/TSV/JSONL manifest: path,label[,generator][,split]",
        lambda p: p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES,
        lambda spec, p, split: ManifestSource(spec, _manifest_path(p), split),
    ),
    SourceFormat(
        "cifake",
        "CIFAKE release folders: train|test/REAL|FAKE",
        lambda p: p.is_dir() and looks_like_cifake(p),
        lambda spec, p, split: TreeSource(spec, p, cifake_layout, "cifake", split),
    ),
    SourceFormat(
        "genimage",
        "GenImage release tree: [<Generator>/]<subset>/{train,val}/{ai,nature}",
        lambda p: p.is_dir() and looks_like_genimage(p),
        lambda spec, p, split: TreeSource(spec, p, genimage_layout, "genimage", split),
    ),
    # Before the label-named image folders: a folder's own manifest says more than folder names
    # that label only some images (native-pool keeps `Real/`, `SD14/`, ... beside its manifest.csv).
    # Where the folder names label every image (the release layouts above, cnndetection_ranking's
    # `<generator>/0_real|1_fake` beside its labels.csv) they keep their format, which also knows
    # each real image's subset; `--format manifest-dir` forces the manifest.
    SourceFormat(
        "manifest-dir",
        "a folder whose labels are in manifest.csv / labels.csv / metadata.csv (or .jsonl) beside the "
        "images, unless its folder names label every image",
        lambda p: p.is_dir() and _has_folder_manifest(p),
        lambda spec, p, split: ManifestSource(spec, _manifest_path(p), split),
    ),
    SourceFormat(
        "imagefolder",
        "image folders named by label (0_real/1_fake, real/fake, nature/ai), optionally per generator",
        lambda p: p.is_dir() and looks_like_imagefolder(p),
        lambda spec, p, split: TreeSource(spec, p, imagefolder_layout, "imagefolder", split),
    ),
]


def format_names() -> list[str]:
    return [f.name for f in FORMATS] + ["hf"]


def open_source(
    spec: str | Path,
    split: str | None = None,
    *,
    format: str | None = None,
    streaming: bool = False,
    **hub_kwargs: Any,
) -> DataSource:
    """Open a dataset in any supported form; iterate it for `Sample`s.

    spec: a folder, a parquet file, a CSV/JSONL manifest, or `hf:OWNER/NAME[:config]`.
    split: restrict to one split (sources without splits have a single split named "all").
    format: force a format instead of detecting it ("cifake", "genimage", "imagefolder", "parquet",
        "manifest", "manifest-dir", "hf").
    streaming: for hub datasets, stream rows instead of downloading the whole dataset first.
    """
    text = str(spec)
    if format == "hf" or (format is None and text.startswith(HUB_PREFIX)):
        try:
            source: DataSource = HubSource(text, split=split, streaming=streaming, **hub_kwargs)
        except (FileNotFoundError, ValueError, ConnectionError) as exc:
            raise SourceError(f"cannot load hub dataset {text}: {exc}") from None
        return source
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"{text}: no such file or directory")
    candidates = [f for f in FORMATS if f.name == format] if format else [f for f in FORMATS if f.sniff(path)]
    if format and not candidates:
        raise SourceError(f"unknown format {format!r} (known: {', '.join(format_names())})")
    if not candidates:
        raise SourceError(
            f"{text}: cannot tell the dataset format (expected one of: "
            + "; ".join(f"{f.name}: {f.description}" for f in FORMATS)
            + ")"
        )
    fmt = candidates[0]
    try:
        source = fmt.open(text, path, None)
    except (FileNotFoundError, ValueError) as exc:
        raise SourceError(f"{text}: {exc}") from None
    if split is not None:
        if split not in source.splits():
            raise SourceError(f"{text}: no split {split!r} (available: {', '.join(source.splits()) or 'none'})")
        source = source.with_split(split)
    return source
