"""Decode throughput of every dataset form, and peak memory of a full pass over the 100k split.

    python benchmarks/bench_data.py [--shared ../shared/data] [--out benchmarks/results/data.json]

Throughput counts `Sample.image()` (read + decode + RGB conversion) per second on one process.
The peak-memory pass runs in a fresh subprocess so its max RSS is not inflated by earlier work.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

FOLDERS = [
    ("cifake", None),
    ("cifake-parquet", "test"),
    ("tiny-genimage-sample", None),
    ("genimage-tree", None),
    ("genimage-tree/manifest.csv", None),
    ("genimage_biggan_fixtures", None),
    ("commfor-sample", None),
    ("cnndetection_ranking", None),
]


def throughput(spec: Path, split: str | None, repeat: int = 3) -> dict:
    from fakescope.data import open_source

    source = open_source(spec, split=split)
    best = None
    n = 0
    pixels = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        pixels = 0
        for sample in source:
            im = sample.image()
            n += 1
            pixels += im.size[0] * im.size[1]
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return {"source": str(spec), "split": split or "all", "format": source.format, "images": n,
            "mean_megapixels": round(pixels / max(n, 1) / 1e6, 4), "seconds": round(best, 3),
            "images_per_s": round(n / best, 1)}


def full_pass(spec: str) -> None:
    """Child process: decode the whole train split and print count, time and max RSS."""
    import psutil

    from fakescope.data import open_source

    source = open_source(spec, split="train")
    before_mb = psutil.Process().memory_info().rss / 2**20  # interpreter + pyarrow + Pillow loaded
    t0 = time.perf_counter()
    n = sum(1 for s in source if s.image() is not None)
    dt = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images": n, "seconds": round(dt, 2), "images_per_s": round(n / dt, 1),
                      "rss_before_pass_mb": round(before_mb, 1), "peak_rss_mb": round(rss_mb, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "data.json")
    parser.add_argument("--full-pass", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full_pass:
        full_pass(args.full_pass)
        return
    rows = [throughput(args.shared / folder, split) for folder, split in FOLDERS]
    for r in rows:
        print(f"{r['source']:<60} {r['split']:<6} {r['format']:<16} {r['images']:>6} img  {r['images_per_s']:>9.1f} img/s", flush=True)
    child = subprocess.run(
        [sys.executable, __file__, "--full-pass", str(args.shared / "cifake-parquet")],
        capture_output=True, text=True, check=True,
    )
    full = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"full pass over cifake-parquet train: {full}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                    "throughput": rows, "full_pass_100k": full}, indent=2) + "\n")


if __name__ == "__main__":
    main()
