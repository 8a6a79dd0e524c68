"""Cost of the shipped native model: multi-crop inference on 1024-px images (torch and onnx), peak
memory, and the training cost its config.json records.

    python benchmarks/bench_native.py [--model native] [--images 48] [--threads 1] [--out benchmarks/results/native_cost.json]

The images are 1024 x 1024 centre crops (pixels copied, no resampling) of the full-size photographs
and generator outputs in ../shared/data/provenance, written as PNG to a temporary folder and
repeated to --images files. Each backend runs in a fresh process (`fakescope detect FOLDER --model
MODEL --backend B -f json`): images/s from the run's wall time minus a warm-up-free start-up
measured with an empty folder, and the process's peak RSS (os.wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
SOURCES = ["c2pa/crater-lake.jpeg", "c2pa/C.jpg", "c2pa/Firefly_tabby_cat.jpg", "c2pa/no_manifest.jpg",
           "comfyui/flux__flux_schnell_example.png", "comfyui/sd3__sd3_simple_example.png",
           "comfyui/sdxl__sdxl_simple_example.png", "comfyui/lcm__lcm_basic_example.png"]


def fakescope_bin() -> str:
    candidate = Path(sys.executable).with_name("fakescope")
    return str(candidate) if candidate.exists() else shutil.which("fakescope") or "fakescope"


def make_images(folder: Path, n: int, size: int = 1024) -> list[Path]:
    crops = []
    for rel in SOURCES:
        with Image.open(SHARED / "provenance" / rel) as im:
            im = im.convert("RGB")
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            crops.append(im.crop((left, top, left + size, top + size)))
    out = []
    for i in range(n):
        p = folder / f"img{i:03d}.png"
        crops[i % len(crops)].save(p)
        out.append(p)
    return out


def run(args: list[str], env: dict[str, str]) -> tuple[float, int, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    done = subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), out, err)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err[-3000:]}")
    return wall, usage.ru_maxrss * 1024, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="native")
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "results" / "native_cost.json"))
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from fakescope.models import read_config
    from fakescope.models.shipped import resolve_model_dir

    model_dir = resolve_model_dir(a.model)
    config = read_config(model_dir)
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "PYTHONPATH": str(REPO / "src")}
    results: dict[str, object] = {
        "model": str(model_dir), "multicrop": config.to_dict()["multicrop"], "canvas": config.preprocess.input_size,
        "threads": a.threads, "images": a.images, "image_size": "1024x1024 (PNG, crops of ../shared/data/provenance)",
        "training": {"seconds": config.training.get("seconds"), "train_images_per_s": config.training.get("train_images_per_s"),
                     "patches_per_image": config.training.get("options", {}).get("patches_per_image"),
                     "epochs": config.training.get("epochs_completed")},
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder, empty = Path(tmp) / "imgs", Path(tmp) / "one"
        folder.mkdir(), empty.mkdir()
        make_images(folder, a.images)
        make_images(empty, 1)
        for backend in ("torch", "onnx"):
            base = [fakescope_bin(), "detect", "--model", str(model_dir), "--backend", backend, "--threads", str(a.threads),
                    "-f", "json", "-o"]
            run(base + [str(Path(tmp) / f"warm-{backend}.json"), str(empty)], env)  # ONNX export cached, files warm
            one_wall, _, _ = run(base + [str(Path(tmp) / f"one-{backend}.json"), str(empty)], env)
            wall, rss, _ = run(base + [str(Path(tmp) / f"all-{backend}.json"), str(folder)], env)
            scored = wall - one_wall  # start-up and model loading cancel out; (n - 1) images remain
            results["backends"][backend] = {  # type: ignore[index]
                "wall_s": round(wall, 2), "startup_and_one_image_s": round(one_wall, 2),
                "images_per_s": round((a.images - 1) / scored, 2) if scored > 0 else None,
                "crops_per_s": round((a.images - 1) * (config.multicrop.crops if config.multicrop else 1) / scored, 1)
                if scored > 0 else None,
                "peak_rss_mb": round(rss / 2**20, 1),
            }
            print(backend, results["backends"][backend], file=sys.stderr)  # type: ignore[index]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
