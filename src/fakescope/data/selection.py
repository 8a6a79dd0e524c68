"""Which samples a run uses: a stable key hash, the hold-out/subset predicate and one cheap scan.

A scan reads labels and keys only (no pixels) and fixes the selection (validation hold-out,
`--max-samples` subset), the class counts and the generator vocabulary. Training
(train/data.py), calibration (verdict/calibrate.py) and evaluation's subsets (eval/scoring.py)
all select through here, so the same key lands on the same side everywhere.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fakescope.data import FAKE, REAL, REAL_CLASS, DataSource, Sample


def key_hash(key: str, salt: str) -> int:
    """A stable 63-bit hash of a sample key: the same selection on every machine and run."""
    return int.from_bytes(hashlib.sha1(f"{salt}\0{key}".encode()).digest()[:8], "big") >> 1


@dataclass(frozen=True)
class Selection:
    """A deterministic, picklable predicate over samples: hold-out side and subset cut-off."""

    salt: str = "fakescope-v1"
    holdout_fraction: float = 0.0
    side: str = "all"  # "train": outside the hold-out; "val": inside it; "all": no hold-out
    cutoff: int | None = None  # keep only samples whose subset hash is <= cutoff (--max-samples)

    def __call__(self, sample: Sample) -> bool:
        if sample.problem is not None or sample.label not in (REAL, FAKE):
            return False
        if self.side != "all":
            inside = key_hash(sample.key, self.salt + ":holdout") % 1_000_000 < self.holdout_fraction * 1_000_000
            if inside != (self.side == "val"):
                return False
        if self.cutoff is not None and key_hash(sample.key, self.salt + ":subset") > self.cutoff:
            return False
        return True


@dataclass
class SplitStats:
    n: int = 0
    labels: Counter = field(default_factory=Counter)
    generators: Counter = field(default_factory=Counter)
    unusable: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "real": self.labels[REAL], "fake": self.labels[FAKE],
                "generators": dict(sorted(self.generators.items())), "unusable_rows": self.unusable}


@dataclass
class ScanRecords:
    """One pass over a source's labels and keys (no pixels), as arrays, to derive any selection."""

    holdout: np.ndarray  # key hash for the hold-out decision, in [0, 1e6)
    subset: np.ndarray  # key hash for the --max-samples subset
    labels: np.ndarray
    generators: list[str | None]
    unusable: int

    def mask(self, sel: Selection) -> np.ndarray:
        keep = np.ones(self.labels.shape, dtype=bool)
        if sel.side != "all":
            inside = self.holdout < sel.holdout_fraction * 1_000_000
            keep &= inside if sel.side == "val" else ~inside
        if sel.cutoff is not None:
            keep &= self.subset <= sel.cutoff
        return keep

    def stats(self, sel: Selection) -> SplitStats:
        keep = self.mask(sel)
        st = SplitStats(n=int(keep.sum()), unusable=self.unusable)
        st.labels.update(self.labels[keep].tolist())
        st.generators.update(g or "unknown" for g, k, y in zip(self.generators, keep, self.labels) if k and y == FAKE)
        return st


def scan_records(source: DataSource, salt: str = Selection.salt) -> ScanRecords:
    holdout, subset, labels, gens = [], [], [], []
    unusable = 0
    for s in source:
        if s.problem is not None or s.label not in (REAL, FAKE):
            unusable += 1
            continue
        holdout.append(key_hash(s.key, salt + ":holdout") % 1_000_000)
        subset.append(key_hash(s.key, salt + ":subset"))
        labels.append(s.label)
        gens.append(s.generator)
    return ScanRecords(np.asarray(holdout, dtype=np.int64), np.asarray(subset, dtype=np.int64),
                       np.asarray(labels, dtype=np.int64), gens, unusable)


def narrow(records: ScanRecords, selection: Selection, max_samples: int | None) -> tuple[Selection, SplitStats]:
    """`selection` limited to a uniform random subset of `max_samples` (the smallest subset hashes)."""
    keep = records.mask(selection)
    if max_samples is not None and keep.sum() > max_samples:
        cutoff = int(np.partition(records.subset[keep], max_samples - 1)[max_samples - 1])
        selection = Selection(selection.salt, selection.holdout_fraction, selection.side, cutoff)
    return selection, records.stats(selection)


def generator_vocabulary(stats: SplitStats) -> list[str]:
    """Task B classes from the training data: Real first, then the generators seen, sorted."""
    return [REAL_CLASS] + sorted(g for g in stats.generators if g != "unknown")
