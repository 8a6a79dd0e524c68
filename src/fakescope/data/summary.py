"""`fakescope data summary`: per-split counts of a source and the files that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakescope.utils.progress import progress_bar

from .decode import ImageDecodeError, decode_image
from .sample import FAKE, REAL, DataSource, Sample


@dataclass
class SplitCounts:
    total: int = 0
    real: int = 0
    fake: int = 0
    generators: dict[str, int] = field(default_factory=dict)

    def add(self, sample: Sample) -> None:
        self.total += 1
        if sample.label == REAL:
            self.real += 1
        elif sample.label == FAKE:
            self.fake += 1
            name = sample.generator or "unknown"
            self.generators[name] = self.generators.get(name, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "real": self.real,
            "fake": self.fake,
            "generators": dict(sorted(self.generators.items())),
        }


def check_sample(sample: Sample, verify: bool) -> str | None:
    """The reason `sample` is unusable, or None. With `verify`, the pixels are fully decoded, the
    way training and evaluation decode them (same boundary, same reasons)."""
    if sample.problem is not None:
        return sample.problem
    try:
        data = sample.read_bytes()
        if verify:
            decode_image(data)
    except ImageDecodeError as exc:
        return exc.reason
    return None


def summarize(source: DataSource, verify: bool = True, progress: bool = True) -> dict[str, Any]:
    """Counts per split of the usable samples, and every skipped sample with its reason.

    With `verify` every image is decoded, so truncated and corrupt files are found and skipped;
    without it only what the listing knows (missing/empty files, unlabelled rows) is checked.
    """
    splits: dict[str, SplitCounts] = {}
    skipped: list[dict[str, str]] = []
    total = None
    try:
        total = len(source)
    except TypeError:
        pass
    bar = progress_bar(total=total, desc="summary", unit="img", enabled=progress, leave=False)
    for split in source.active_splits():
        counts = splits.setdefault(split, SplitCounts())
        for sample in source.with_split(split):
            reason = check_sample(sample, verify)
            if reason is None:
                counts.add(sample)
            else:
                skipped.append({"path": sample.origin, "reason": reason})
            bar.update(1)
    bar.close()
    return {
        "source": source.spec,
        "format": source.format,
        "splits": {name: c.as_dict() for name, c in splits.items()},
        "skipped": skipped,
    }
