"""What hub loading costs offline: `resolve_model("hf:...")` against a cached snapshot, and a whole
`Detector.load` from the hub against the same directory on disk (median of N, one process).

    HF_HUB_OFFLINE=1 python benchmarks/bench_hub.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    os.environ["HF_HOME"] = str(home)  # before huggingface_hub is imported: it reads these once
    os.environ["HF_HUB_OFFLINE"] = "1"
    from fakescope import Detector
    from fakescope.models.hub import resolve_model
    from fakescope.testing.hubcache import add_folder_to_hub_cache

    default = Path(__file__).resolve().parents[1] / "src" / "fakescope" / "weights" / "default"
    add_folder_to_hub_cache(home, "bench/default", default)

    def median_ms(fn) -> float:
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return round(statistics.median(times), 2)

    print(json.dumps({
        "runs": args.runs,
        "resolve_model_hub_ms": median_ms(lambda: resolve_model("hf:bench/default")),
        "detector_load_hub_ms": median_ms(lambda: Detector.load("hf:bench/default")),
        "detector_load_local_ms": median_ms(lambda: Detector.load(default)),
    }))
