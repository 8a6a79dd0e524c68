"""Iterating a split keeps memory bounded: the 100,000-image CIFAKE train split, decoded, in one pass."""

from __future__ import annotations

from pathlib import Path

import psutil

from fakescope.data import open_source


def test_full_pass_over_100k_split_has_bounded_memory(shared: Path) -> None:
    proc = psutil.Process()
    source = open_source(shared / "cifake-parquet", split="train")
    n = 0
    baseline = None
    peak = 0
    for sample in source:
        im = sample.image()
        assert im.size == (32, 32)
        n += 1
        if n == 5000:  # after warm-up: imports, first parquet batches, allocator pools
            baseline = proc.memory_info().rss
        if n % 5000 == 0:
            peak = max(peak, proc.memory_info().rss)
    assert n == 100000
    assert baseline is not None
    growth_mb = (peak - baseline) / 2**20
    # Holding the split would take >300 MB (bytes + decoded pixels); a streaming pass stays flat.
    assert growth_mb < 48, f"RSS grew by {growth_mb:.1f} MB over the pass"
