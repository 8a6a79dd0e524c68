"""Train a detector on the CIFAKE parquet train split and score it on the de-duplicated test split.

    python benchmarks/bench_train.py --model cnn-small --out runs/cnn_small [train options...]
    python benchmarks/bench_train.py --model spectral --out runs/spectral -- --image-size 32

Everything after the known options is passed to `fakescope train` unchanged. The test split is
de-duplicated by content hash against the train split before scoring (CIFAKE contains
byte-identical images across its splits), and the number removed is reported. Writes
OUT/benchmark.json with wall-clock training time, training throughput and test metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "cifake-parquet"


def content_hashes(spec: str, split: str) -> set[str]:
    from fakescope.data import open_source

    return {hashlib.sha256(s.read_bytes()).hexdigest() for s in open_source(spec, split=split)}


def score_test(model_dir: Path, spec: str, train_hashes: set[str], batch_size: int = 256) -> dict:
    from fakescope.data import open_source
    from fakescope.metrics import binary_metrics
    from fakescope.inference import TorchBackend, score_items
    from fakescope.models import load_model

    model, config = load_model(model_dir)
    test = [s for s in open_source(spec, split="test")]
    kept = [s for s in test if hashlib.sha256(s.read_bytes()).hexdigest() not in train_hashes]
    t0 = time.perf_counter()
    results = list(score_items(TorchBackend(model, config), kept, lambda s: s.image(), batch_size=batch_size))
    seconds = time.perf_counter() - t0
    ok = [r for r in results if r.error is None]
    metrics = binary_metrics([r.item.label for r in ok], [r.score for r in ok], config.threshold)
    metrics.update({"test_total": len(test), "removed_duplicates_of_train": len(test) - len(kept),
                    "errors": len(results) - len(ok), "scoring_images_per_s": round(len(ok) / seconds, 1)})
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--skip-train", action="store_true", help="only score an existing OUT model directory")
    args, train_args = parser.parse_known_args()
    train_args = [a for a in train_args if a != "--"]

    cmd = [str(Path(sys.executable).with_name("fakescope")), "train", "--data", args.data, "--model", args.model,
           "--out", str(args.out), "--no-progress", *train_args]
    wall = None
    if not args.skip_train:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
    config = json.loads((args.out / "config.json").read_text())
    log_path = args.out / "train_log.jsonl"
    log = [json.loads(x) for x in log_path.read_text().splitlines()] if log_path.exists() else []
    test = score_test(args.out, args.data, content_hashes(args.data, "train"))
    result = {
        "command": " ".join(cmd),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "train_wall_seconds": round(wall, 1) if wall else config["training"].get("seconds"),
        "epochs": len(log) or 1,
        "train_images_per_s_last_epoch": log[-1]["images_per_s"] if log else None,
        "validation": config["metrics"]["validation"],
        "test": test,
    }
    (args.out / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("train_wall_seconds", "epochs", "train_images_per_s_last_epoch")}))
    print(json.dumps({k: test[k] for k in ("n", "accuracy", "real_accuracy", "fake_accuracy", "auroc", "ap",
                                           "removed_duplicates_of_train")}))


if __name__ == "__main__":
    main()
