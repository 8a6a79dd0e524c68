"""Training throughput (images/s) of detectors through the real `fakescope train`, one after the other.

    python benchmarks/bench_train_speed.py [--out benchmarks/results/train_speed.json]
        [--case cnn-small:32:bf16:4096 --case timm:resnet50:224:bf16:256 ...]

A case is MODEL:IMAGE_SIZE:PRECISION:SAMPLES. Each runs one epoch of SAMPLES images of the
cifake-parquet train split (decode + augment + forward + backward + optimiser step, batch 128 or
32 for the big backbones) in a fresh process; the number is the epoch's own images/s from
train_log.jsonl, so start-up and validation are not in it. Random init (no weights are downloaded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "cifake-parquet"
DEFAULT_CASES = ["cnn-small:32:fp32:8192", "cnn-small:32:bf16:8192", "timm:resnet50:224:fp32:192",
                 "timm:resnet50:224:bf16:192"]


def run_case(case: str, workdir: Path) -> dict:
    *model_parts, size, precision, samples = case.split(":")
    model = ":".join(model_parts)
    batch = 128 if int(size) <= 64 else 32
    out = workdir / case.replace(":", "_")
    cmd = [str(Path(sys.executable).with_name("fakescope")), "train", "--data", str(DATA), "--model", model,
           "--image-size", size, "--precision", precision, "--max-samples", samples, "--epochs", "1",
           "--batch-size", str(batch), "--out", str(out), "--no-progress", "--no-resume"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    log = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
    return {"case": case, "model": model, "image_size": int(size), "precision": precision, "batch_size": batch,
            "train_images": log["train_images"], "epoch_seconds": log["seconds"], "images_per_s": log["images_per_s"],
            "process_wall_s": round(wall, 1), "loadavg_after": round(os.getloadavg()[0], 2), "command": " ".join(cmd)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", action="append", help="MODEL:IMAGE_SIZE:PRECISION:SAMPLES (repeatable)")
    p.add_argument("--out", type=Path, default=HERE / "results" / "train_speed.json")
    args = p.parse_args()
    import torch

    results = []
    with tempfile.TemporaryDirectory(prefix="bench_train_speed_") as tmp:
        for case in args.case or DEFAULT_CASES:
            r = run_case(case, Path(tmp))
            print(json.dumps({k: r[k] for k in ("case", "images_per_s", "epoch_seconds")}), flush=True)
            results.append(r)
    doc = {"machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                       "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                       "cuda": torch.cuda.is_available()}, "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
