"""False positives of the evidence readers on real images: no real image may carry a claim.

    nice -n 5 python benchmarks/bench_watermark_fp.py [--shared ../shared/data] [--out benchmarks/results/watermark_fp.json]

Every real (label 0) image of the shared datasets is inspected (all readers, watermarks on), and
each watermark payload's best bit match (both channel orders) is recorded, so that the thresholds
in src/fakescope/provenance/watermarks.json can be checked against the highest match any real
image reaches. One thread: run it in the background on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

SOURCES = ["cifake", "native-pool", "genimage-tree", "commfor-sample", "cnndetection_ranking", "tiny-genimage-sample"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "watermark_fp.json"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many images per source (0: all)")
    args = ap.parse_args()

    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    from fakescope.data import open_source
    from fakescope.data.decode import open_image
    from fakescope.provenance import inspect_bytes
    from fakescope.provenance.readers.watermark import matches
    from fakescope.utils.atomic import atomic_write_json

    report: dict = {"protocol": "every label-0 image of each shared source; inspect_bytes(watermarks=True) and the "
                                "best dwtDct bit match per payload over BGR and RGB orders", "sources": {}}
    total = Counter()
    start = time.perf_counter()
    for name in SOURCES:
        stats = {"images": 0, "errors": 0, "claims": [], "verdicts": Counter(), "max_bits": {}, "decodable": Counter(),
                 "top_bits": {}}
        bits: dict[str, list[int]] = {}
        for sample in open_source(Path(args.shared) / name):
            if sample.label != 0:
                continue
            if args.limit and stats["images"] >= args.limit:
                break
            try:
                data = sample.data if sample.data else Path(sample.path).read_bytes()
                im = open_image(data)
            except Exception as exc:  # noqa: BLE001 - a broken real file is counted, not fatal
                stats["errors"] += 1
                continue
            stats["images"] += 1
            ev = inspect_bytes(data, name=sample.origin, image=im, watermarks=True)
            stats["verdicts"][ev.verdict] += 1
            if ev.verdict != "no-claim":
                stats["claims"].append({"origin": sample.origin, "verdict": ev.verdict, "reason": ev.reason})
            for m in matches(np.asarray(im.convert("RGB"), dtype=np.uint8)):
                if m["order"]:
                    bits.setdefault(m["name"], []).append(m["matched"])
                    stats["decodable"][m["name"]] += 1
        for payload, values in bits.items():
            stats["max_bits"][payload] = max(values)
            stats["top_bits"][payload] = sorted(values)[-5:]
        stats["verdicts"] = dict(stats["verdicts"])
        stats["decodable"] = dict(stats["decodable"])
        report["sources"][name] = stats
        total["images"] += stats["images"]
        total["claims"] += len(stats["claims"])
        print(f"{name}: {stats['images']} real images, {len(stats['claims'])} claims, max bits {stats['max_bits']}",
              file=sys.stderr, flush=True)
    from fakescope.provenance.readers.watermark import payloads

    report["thresholds"] = {p["name"]: {"min_bits": p["min_bits"], "of": len(p["bits"])} for p in payloads()}
    report["max_bits_overall"] = {p["name"]: max((s["max_bits"].get(p["name"], 0) for s in report["sources"].values()),
                                                 default=0) for p in payloads()}
    report["total"] = dict(total)
    report["seconds"] = round(time.perf_counter() - start, 1)
    atomic_write_json(args.out, report)
    print(json.dumps({"total": report["total"], "max_bits_overall": report["max_bits_overall"],
                      "thresholds": report["thresholds"]}))


if __name__ == "__main__":
    main()
