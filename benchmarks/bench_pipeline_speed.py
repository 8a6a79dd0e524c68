"""What the verdict pipeline costs over the bare model: images/s on the same CIFAKE images.

    python benchmarks/bench_pipeline_speed.py [--n 2000] [--threads 1] [--rounds 2]

Three ways over the same N CIFAKE test JPEGs (paths, so every way reads the files), in one
process, alternating for `--rounds` rounds (the best round counts, as the machine is shared):
- `model only`: `ModelRunner` (decode + model, no domain check, no evidence): what detect was;
- `pipeline without evidence`: models stage (domain + OOD check + operating point) + fallback;
- `pipeline (shipped)`: evidence (headers and chunks, watermarks off) + models + fallback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", HERE.parent.parent / "shared" / "data")).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "pipeline_speed.json"))
    args = parser.parse_args()

    from fakescope import Detector
    from fakescope.detect.runner import ModelRunner
    from fakescope.utils.atomic import atomic_write_json
    from fakescope.verdict.pipeline import DEFAULT_PIPELINE, read_spec

    files = sorted((SHARED / "cifake" / "test").rglob("*.jpg"))[: args.n]
    spec = read_spec(DEFAULT_PIPELINE)
    no_evidence = {**spec, "name": "no-evidence", "stages": [s for s in spec["stages"] if s["stage"] != "evidence"]}
    with tempfile.TemporaryDirectory() as tmp:
        # model paths in the shipped file are relative to its folder: keep them resolvable
        for s in no_evidence["stages"]:
            for m in s.get("models", []):
                m["model"] = str(DEFAULT_PIPELINE.parent / m["model"])
        path = Path(tmp) / "no-evidence.json"
        path.write_text(json.dumps(no_evidence))
        ways = {"model only": ModelRunner.load(None, threads=args.threads),
                "pipeline without evidence": Detector.load(pipeline=path, threads=args.threads),
                "pipeline (shipped)": Detector.load(threads=args.threads)}
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, det in ways.items():
                start = time.perf_counter()
                results = det.predict(files, batch_size=64)
                rate = len(results) / (time.perf_counter() - start)
                best[name] = max(best.get(name, 0.0), rate)
                print(f"{name}: {rate:.1f} images/s", file=sys.stderr)
    base = best["model only"]
    record = {"command": "python benchmarks/bench_pipeline_speed.py " + " ".join(sys.argv[1:]), "n": len(files),
              "threads": args.threads, "rounds": args.rounds,
              "images_per_s": {k: round(v, 1) for k, v in best.items()},
              "relative_to_model_only": {k: round(v / base, 3) for k, v in best.items()}}
    atomic_write_json(Path(args.out), record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
