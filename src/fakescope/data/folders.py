"""Image trees whose folder names carry the labels: CIFAKE, the GenImage release, plain image folders.

The three differ only in how a file's relative path maps to (split, label, generator, subset):
each layout is a small `PathLayout` function, and `TreeSource` walks the tree lazily (sorted, so
every run sees the same order) and applies it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .formats import is_image_name
from .generators import canonical_generator
from .parquet import SPLIT_NAMES
from .sample import FAKE, NO_SPLIT, REAL, DataSource, Sample

REAL_DIRS = {"0_real": REAL, "real": REAL, "nature": REAL, "natural": REAL}
FAKE_DIRS = {"1_fake": FAKE, "fake": FAKE, "ai": FAKE, "synthetic": FAKE, "generated": FAKE}
LABEL_DIRS = {**REAL_DIRS, **FAKE_DIRS}


def walk_images(root: Path) -> Iterator[Path]:
    """Image files under `root` in a deterministic order, lazily; hidden entries are skipped."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and is_image_name(name):
                yield Path(dirpath) / name


@dataclass(frozen=True)
class PathInfo:
    split: str
    label: int | None
    generator: str | None
    subset: str | None
    problem: str | None = None


PathLayout = Callable[[tuple[str, ...]], PathInfo]


def _label_index(parts: tuple[str, ...]) -> int | None:
    """Index of the deepest folder whose name is a label name."""
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].lower() in LABEL_DIRS:
            return i
    return None


def _split_in(parts: tuple[str, ...]) -> str:
    for part in parts:
        if part.lower() in SPLIT_NAMES:
            return part.lower()
    return NO_SPLIT


def cifake_layout(parts: tuple[str, ...]) -> PathInfo:
    """`train|test/REAL|FAKE/<file>`; CIFAKE's fakes are all Stable Diffusion 1.4."""
    if len(parts) >= 3 and parts[-2] in ("REAL", "FAKE"):
        label = REAL if parts[-2] == "REAL" else FAKE
        return PathInfo(parts[-3].lower(), label, "SD14" if label == FAKE else None, None)
    return PathInfo(_split_in(parts), None, None, None, "not under <split>/REAL or <split>/FAKE")


def genimage_layout(parts: tuple[str, ...]) -> PathInfo:
    """`[<Generator>/]<subset>/{train,val}/{ai,nature}/<file>`, names canonicalised.

    The generator level, when present, names the generator (`stable_diffusion_v_1_4`); without it,
    the subset folder does (`imagenet_ai_0419_sdv4`). Both canonicalise to the same name (SD14).
    """
    i = _label_index(parts)
    if i is None or i < 1 or parts[i - 1].lower() not in SPLIT_NAMES:
        return PathInfo(_split_in(parts), None, None, None, "not under <subset>/<split>/{ai,nature}")
    label = LABEL_DIRS[parts[i].lower()]
    subset_dir = parts[i - 2] if i >= 2 else None
    gen_dir = parts[i - 3] if i >= 3 else None
    name = canonical_generator(gen_dir) if gen_dir else None
    name = name or (canonical_generator(subset_dir) if subset_dir else None)
    return PathInfo(parts[i - 1].lower(), label, name if label == FAKE else None, name)


def imagefolder_layout(parts: tuple[str, ...]) -> PathInfo:
    """`[<split>/][<generator>/]{0_real,1_fake,real,fake,nature,ai}/<file>` (CNNDetection and the like).

    The folder right above the label folder, when it is not a split name, is the generator of the
    fakes and the subset that pairs them with the reals beside them.
    """
    i = _label_index(parts)
    if i is None:
        return PathInfo(_split_in(parts), None, None, None, "no label folder (0_real/1_fake, real/fake, nature/ai) in path")
    label = LABEL_DIRS[parts[i].lower()]
    group = parts[i - 1] if i >= 1 and parts[i - 1].lower() not in SPLIT_NAMES else None
    gen = canonical_generator(group) if group else None
    return PathInfo(_split_in(parts[:i]), label, gen if label == FAKE else None, gen)


class TreeSource(DataSource):
    """A folder tree read through a `PathLayout`."""

    def __init__(self, spec: str, root: Path, layout: PathLayout, format_name: str, split: str | None = None) -> None:
        super().__init__(spec, split)
        self.root = root
        self.layout = layout
        self.format = format_name
        self._counts: dict[str, int] | None = None

    def _scan(self) -> Iterator[tuple[Path, PathInfo]]:
        for path in walk_images(self.root):
            yield path, self.layout(path.relative_to(self.root).parts)

    def _split_counts(self) -> dict[str, int]:
        # One walk of the names (no image reads) gives splits and counts; cached for the source's life.
        if self._counts is None:
            counts: dict[str, int] = {}
            for _, info in self._scan():
                counts[info.split] = counts.get(info.split, 0) + 1
            self._counts = counts
        return self._counts

    def splits(self) -> list[str]:
        order = {name: i for i, name in enumerate(SPLIT_NAMES)}
        return sorted(self._split_counts(), key=lambda s: (order.get(s, len(order)), s))

    def count(self, split: str) -> int:
        return self._split_counts().get(split, 0)

    def _iter_split(self, split: str) -> Iterator[Sample]:
        for path, info in self._scan():
            if info.split != split:
                continue
            rel = path.relative_to(self.root).as_posix()
            yield Sample(
                key=rel,
                label=info.label,
                generator=info.generator,
                split=info.split,
                origin=str(path),
                source_id=self.spec,
                subset=info.subset,
                path=str(path),
                problem=info.problem,
            )

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        for s in self._iter_split(split):
            size = os.stat(s.path).st_size if s.path else 0
            yield f"{s.key}|{size}|{s.label}|{s.generator}"


def _has_dirs(root: Path, pattern: str) -> bool:
    return any(p.is_dir() for p in root.glob(pattern))


def looks_like_cifake(root: Path) -> bool:
    return any((root / split / cls).is_dir() for split in ("train", "test") for cls in ("REAL", "FAKE"))


def looks_like_genimage(root: Path) -> bool:
    for depth in ("", "*/", "*/*/"):
        for split in ("train", "val"):
            for cls in ("ai", "nature"):
                if _has_dirs(root, f"{depth}{split}/{cls}"):
                    return True
    return False


def names_label_every_image(root: Path, layout: PathLayout) -> bool:
    """True when `layout` gives every image under `root` a label from its path alone.

    Stops at the first image it cannot label, so a tree that mixes label folders with others
    (a manifest's per-generator folders) is answered after a few names.
    """
    return all(layout(path.relative_to(root).parts).label is not None for path in walk_images(root))


def looks_like_imagefolder(root: Path, max_depth: int = 4) -> bool:
    for dirpath, dirnames, _ in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        if any(d.lower() in LABEL_DIRS for d in dirnames):
            return True
        if depth >= max_depth:
            dirnames[:] = []
    return False
