"""Detection throughput and memory: `fakescope detect` (torch, onnx) against a plain PyTorch loop.

    python benchmarks/bench_detect.py --model DIR [--data ../shared/data/cifake-parquet] [--split test]
                                      [--memory-split train] [--skip-memory] [--out benchmarks/results/detect.json]

Every run is a fresh process on the same images (DATA, split SPLIT), one after the other:
- `detect torch` / `detect onnx`: the real CLI, `fakescope detect DATA --split SPLIT -f json -o FILE`.
  images/s is reported twice: for the scoring loop (decode + preprocess + model + output, from the
  run's own summary) and end to end (the process's wall time, start-up and model loading included).
  The onnx run uses a model.onnx exported beforehand (its export time is reported on its own).
- `detect torch, spinning threads`: the same with OMP_WAIT_POLICY=ACTIVE (the OpenMP default that
  `fakescope detect` overrides): what the thread policy alone is worth on this machine.
- `plain PyTorch loop`: what peer research repos do, over the same model and images: PIL open +
  torchvision transforms per image, batch size 1, torch's default threads, no tuning. It runs on
  the first --baseline-limit images of the split (default 1000; images/s does not depend on how
  many of these equal-sized images are scored), because on a busy machine it crawls.
- `plain PyTorch loop, sleeping threads`: the same with OMP_WAIT_POLICY=PASSIVE, to separate what
  batching/ONNX bring from what the thread policy brings.
Peak memory is the process's max RSS (os.wait4). With --memory-split, detect (torch, jsonl
output) also runs over that split (100,000 images for CIFAKE's train split): its peak RSS beside
the 10,008-image run shows whether memory grows with the collection.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def fakescope_bin() -> str:
    candidate = Path(sys.executable).with_name("fakescope")
    return str(candidate) if candidate.exists() else shutil.which("fakescope") or "fakescope"


def _vm_hwm_kb(pid: int) -> int | None:
    """The process's peak resident set so far (VmHWM), or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run a child process: wall time, CPU time and peak RSS.

    Peak RSS is the child's VmHWM, polled while it runs (the high-water mark only grows, so the
    last reading is the peak to within the last 0.1 s). getrusage/wait4's ru_maxrss cannot be
    used: on Linux a child's maxrss starts at its parent's RSS at fork and survives exec.
    """
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _vm_hwm_kb(proc.pid) or 0)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    reader.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{b''.join(errors).decode(errors='replace')[-3000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 1024, 1),
            "loadavg_before": round(load_before, 2),
            "loadavg_after": round(os.getloadavg()[0], 2), "command": " ".join(cmd)}


def detect_run(model: Path, data: str, split: str, backend: str, out: Path, env: dict | None = None,
               fmt: str = "json") -> dict:
    cmd = [fakescope_bin(), "detect", str(data), "--split", split, "--model", str(model), "--backend", backend,
           "--format", fmt, "--output", str(out), "--no-progress"]
    m = run_measured(cmd, env)
    if fmt == "json":
        doc = json.loads(out.read_text())
        s = doc["summary"]
        m.update(images=s["images"], errors=s["errors"], loop_s=s["seconds"], loop_images_per_s=s["images_per_s"])
        m["scores"] = [r["score"] for r in doc["results"]]
    else:
        m["images"] = sum(1 for _ in out.open())
    m["end_to_end_images_per_s"] = round(m["images"] / m["wall_s"], 1)
    return m


def baseline_worker(model_dir: str, data: str, split: str, limit: int, out: str) -> None:
    """Child process: the plain per-image PyTorch loop, the way research repos score a test set."""
    import pyarrow.parquet as pq
    import torch
    from PIL import Image
    from torchvision import transforms

    from fakescope.data.parquet import parquet_files, split_of
    from fakescope.models import load_model

    start = time.perf_counter()
    model, config = load_model(model_dir)
    pre = config.preprocess
    transform = transforms.Compose([
        transforms.Resize((pre.input_size, pre.input_size)),
        transforms.ToTensor(),
        transforms.Normalize(pre.mean, pre.std),
    ])
    scores = []
    loop_start = time.perf_counter()
    with torch.no_grad():
        for shard in parquet_files(Path(data)):
            if split_of(shard) != split:
                continue
            for batch in pq.ParquetFile(shard).iter_batches(columns=["image"]):
                for cell in batch.column("image").to_pylist():
                    if len(scores) == limit:
                        break
                    image = Image.open(io.BytesIO(cell["bytes"])).convert("RGB")
                    x = transform(image).unsqueeze(0)
                    scores.append(float(torch.sigmoid(model(x)["binary"])[0]))
    loop = time.perf_counter() - loop_start
    Path(out).write_text(json.dumps({"images": len(scores), "loop_s": round(loop, 2),
                                     "loop_images_per_s": round(len(scores) / loop, 1),
                                     "startup_s": round(loop_start - start, 2), "torch_threads": torch.get_num_threads(),
                                     "scores": scores}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="trained model directory (binary head)")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "cifake-parquet"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--memory-split", default="train", help="a larger split for the memory comparison")
    ap.add_argument("--skip-memory", action="store_true", help="skip the large-split memory run")
    ap.add_argument("--out", default=str(HERE / "results" / "detect.json"))
    ap.add_argument("--baseline-limit", type=int, default=1000,
                    help="images for the plain loops (the first N of the split): at batch size 1 with spinning "
                         "threads they crawl on a busy machine (5-30 images/s here)")
    ap.add_argument("--baseline-worker", nargs=1, metavar="OUT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_worker:
        baseline_worker(args.model, args.data, args.split, args.baseline_limit, args.baseline_worker[0])
        return

    from fakescope.detect.onnx_export import export_onnx
    from fakescope.utils.environment import environment_record

    results: dict = {"data": args.data, "split": args.split, "model": args.model, "environment": environment_record(),
                     "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench_detect_") as tmp_name:
        tmp = Path(tmp_name)
        model = tmp / "model"
        model.mkdir()
        for name in ("config.json", "model.safetensors"):
            shutil.copy(Path(args.model) / name, model / name)
        t0 = time.perf_counter()
        export = export_onnx(model, model / "model.onnx")
        results["onnx_export"] = {"seconds": round(time.perf_counter() - t0, 2), "check_max_prob_diff": export["check_max_prob_diff"]}

        runs = results["runs"]
        runs["detect torch"] = detect_run(model, args.data, args.split, "torch", tmp / "torch.json")
        runs["detect onnx"] = detect_run(model, args.data, args.split, "onnx", tmp / "onnx.json")
        runs["detect torch, spinning threads"] = detect_run(model, args.data, args.split, "torch", tmp / "active.json",
                                                           env={"OMP_WAIT_POLICY": "ACTIVE"})
        for name, env in (("plain PyTorch loop", {}), ("plain PyTorch loop, sleeping threads", {"OMP_WAIT_POLICY": "PASSIVE"})):
            base_out = tmp / "baseline.json"
            m = run_measured([sys.executable, __file__, "--model", str(model), "--data", args.data, "--split", args.split,
                              "--baseline-limit", str(args.baseline_limit), "--baseline-worker", str(base_out)], env)
            m.update(json.loads(base_out.read_text()))
            m["end_to_end_images_per_s"] = round(m["images"] / m["wall_s"], 1)
            m["command"] = (f"{' '.join(f'{k}={v}' for k, v in env.items())} {sys.executable} benchmarks/bench_detect.py "
                            f"--baseline-worker (PIL + torchvision per image, batch 1, first {args.baseline_limit} images)").strip()
            runs[name] = m

        reference = runs["detect torch"]["scores"]
        for name, run in runs.items():
            scores = run.pop("scores")
            assert len(scores) <= len(reference), (name, len(scores), len(reference))
            run["max_score_diff_vs_detect_torch"] = max(abs(a - b) for a, b in zip(scores, reference))
        if not args.skip_memory:
            small = detect_run(model, args.data, args.split, "torch", tmp / "small.jsonl", fmt="jsonl")
            large = detect_run(model, args.data, args.memory_split, "torch", tmp / "large.jsonl", fmt="jsonl")
            results["memory"] = {args.split: small, args.memory_split: large}

    # Ratios of the scoring loops (decode + preprocess + model): the plain loops score fewer images,
    # so their end-to-end rate (start-up included) would not compare.
    results["speedup_vs_plain_loop"] = {
        base: {name: round(run["loop_images_per_s"] / runs[base]["loop_images_per_s"], 2)
               for name, run in runs.items() if name.startswith("detect")}
        for base in ("plain PyTorch loop", "plain PyTorch loop, sleeping threads")
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


def markdown(results: dict) -> str:
    speed = results["speedup_vs_plain_loop"]
    lines = ["| run | images | loop images/s | end-to-end images/s | peak RSS MB | x plain loop | x plain loop, sleeping threads | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, run in results["runs"].items():
        ratios = [str(speed[base].get(name, "")) for base in ("plain PyTorch loop", "plain PyTorch loop, sleeping threads")]
        lines.append(f"| {name} | {run['images']} | {run['loop_images_per_s']} | {run['end_to_end_images_per_s']} | "
                     f"{run['peak_rss_mb']} | {ratios[0]} | {ratios[1]} | {run['loadavg_before']} -> {run['loadavg_after']} |")
    if "memory" in results:
        lines.append("")
        lines.append("| split | images | peak RSS MB | end-to-end images/s |")
        lines.append("|---|---:|---:|---:|")
        for split, run in results["memory"].items():
            lines.append(f"| {split} | {run['images']} | {run['peak_rss_mb']} | {run['end_to_end_images_per_s']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
