"""A source restricted to the samples of one subset: the cross-generator protocol trains on one
GenImage subset (its fakes with the reals of the same subset) or one Community Forensics pair.

The restriction is part of the source's identity: it changes the fingerprint, so a model trained
on one subset never records the fingerprint of the whole dataset.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from .sample import FAKE, DataSource, Sample


@dataclass(frozen=True)
class SubsetFilter:
    """Keeps samples whose `subset` equals `subset` (picklable: it crosses DataLoader workers)."""

    subset: str

    def __call__(self, sample: Sample) -> bool:
        return sample.subset == self.subset

    def describe(self) -> str:
        return f"subset={self.subset}"


@dataclass(frozen=True)
class LeaveOutFilter:
    """Keeps every sample except the fakes of `subset`: leave-one-generator-out training keeps all
    reals (whatever subset they are filed under) and every other generator's fakes."""

    subset: str

    def __call__(self, sample: Sample) -> bool:
        return not (sample.label == FAKE and sample.subset == self.subset)

    def describe(self) -> str:
        return f"without-fakes-of={self.subset}"


class FilteredSource(DataSource):
    """`base`, keeping only the samples `keep` accepts. Splits are the base's splits."""

    def __init__(self, base: DataSource, keep: SubsetFilter | LeaveOutFilter) -> None:
        super().__init__(base.spec, base.selected_split)
        self.base = base
        self.keep = keep
        self.format = base.format

    def splits(self) -> list[str]:
        return self.base.splits()

    def _iter_split(self, split: str) -> Iterator[Sample]:
        return (s for s in self.base._iter_split(split) if self.keep(s))

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        yield from self.base._fingerprint_parts(split)
        yield self.keep.describe()

    def __repr__(self) -> str:
        return f"<FilteredSource {self.keep.describe()} of {self.base!r}>"


def only_subset(source: DataSource, subset: str) -> FilteredSource:
    """`source` restricted to the samples whose `subset` field is `subset`."""
    return FilteredSource(source, SubsetFilter(subset))


class HeadSource(DataSource):
    """`base`, reading only the first `n` samples of each split: a bounded window on a stream.

    A streamed hub dataset (Community Forensics: hundreds of GB) has no size to plan a run over;
    the window makes one pass cheap and is part of the fingerprint, like a subset.
    """

    def __init__(self, base: DataSource, n: int) -> None:
        super().__init__(base.spec, base.selected_split)
        self.base = base
        self.n = int(n)
        self.format = base.format

    def splits(self) -> list[str]:
        return self.base.splits()

    def count(self, split: str) -> int | None:
        known = self.base.count(split)
        return self.n if known is None else min(known, self.n)

    def _iter_split(self, split: str) -> Iterator[Sample]:
        return itertools.islice(self.base._iter_split(split), self.n)

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        yield from self.base._fingerprint_parts(split)
        yield f"first={self.n}"

    def __repr__(self) -> str:
        return f"<HeadSource first {self.n} of {self.base!r}>"


def first_samples(source: DataSource, n: int) -> HeadSource:
    """`source` cut to the first `n` samples of each split (in the source's own order)."""
    return HeadSource(source, n)
def leave_out(source: DataSource, subset: str) -> FilteredSource:
    """`source` without the fakes whose `subset` field is `subset` (reals all kept)."""
    return FilteredSource(source, LeaveOutFilter(subset))
