"""Requests per second of `fakescope serve` for single-image posts, from a local load generator.

    python benchmarks/bench_service.py --model MODEL_DIR [--images ../shared/data/cifake/test]
        [--concurrency 1,4,16] [--duration 8] [--count 200] [--out benchmarks/results/service.json]

The script starts a real server (the `fakescope serve` console script, access log off) and, from
this second process, runs N client threads with one keep-alive httpx connection each. Every client
posts one image per request (multipart, as the web page does), cycling through `--count` real
images from `--images`, for `--duration` seconds per concurrency level after a short warm-up.
Reported per level: completed requests per second, latency percentiles, and any non-200 answers
(there must be none). Load generator and server share the machine's cores: on a small machine the
client's own CPU time is part of what limits the figure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data"))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def load_images(root: Path, count: int) -> list[tuple[str, bytes]]:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no images under {root}")
    step = max(1, len(files) // count)  # spread the picks over the folder (both classes)
    return [(p.name, p.read_bytes()) for p in files[::step][:count]]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_level(url: str, images: list[tuple[str, bytes]], clients: int, duration: float, warmup: float) -> dict:
    """`clients` threads posting single images until the deadline; latencies of the measured window."""
    start_at = time.perf_counter() + warmup
    stop_at = start_at + duration
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures: dict[str, int] = {}

    def client(_: int) -> None:
        with httpx.Client(timeout=60) as http:
            while True:
                name, data = images[next(counter) % len(images)]
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                try:
                    response = http.post(url + "/v1/detect", files={"file": (name, data)})
                    outcome = "ok" if response.status_code == 200 else f"http_{response.status_code}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                t1 = time.perf_counter()
                if t0 >= start_at and t1 <= stop_at:  # only requests wholly inside the window count
                    with lock:
                        if outcome == "ok":
                            latencies.append(t1 - t0)
                        else:
                            failures[outcome] = failures.get(outcome, 0) + 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {
        "clients": clients,
        "seconds": duration,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / duration, 1),
        "latency_ms": {"mean": round(statistics.fmean(ms), 2) if ms else None,
                       **{f"p{q}": round(percentile(ms, q), 2) for q in (50, 90, 99)},
                       "max": round(ms[-1], 2) if ms else None},
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model directory to serve")
    parser.add_argument("--images", default=str(SHARED / "cifake" / "test"), help="folder of real images to post")
    parser.add_argument("--count", type=int, default=200, help="distinct images cycled through")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each level")
    parser.add_argument("--server-args", default="", help="extra `fakescope serve` options, space-separated")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "service.json"))
    args = parser.parse_args()

    from fakescope.testing.server import ServerProcess
    from fakescope.utils.environment import environment_record
    from fakescope.utils.atomic import atomic_write_json

    images = load_images(Path(args.images), args.count)
    levels = [int(c) for c in args.concurrency.split(",")]
    with ServerProcess(["--model", args.model, "--no-access-log", *args.server_args.split()]) as server:
        info = httpx.get(server.url + "/v1/model").json()
        rows = []
        for clients in levels:
            row = run_level(server.url, images, clients, args.duration, args.warmup)
            rows.append(row)
            lat = row["latency_ms"]
            print(f"{clients:>3} clients: {row['requests_per_s']:>7.1f} req/s  p50 {lat['p50']} ms  p90 {lat['p90']} ms"
                  f"  p99 {lat['p99']} ms  failures {row['failures'] or 0}", file=sys.stderr)
    result = {
        "benchmark": "service single-image POST /v1/detect",
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "model": {k: info[k] for k in ("name", "architecture", "task", "input_size", "version")},
        "images": {"source": args.images, "count": len(images),
                   "mean_bytes": round(sum(len(d) for _, d in images) / len(images))},
        "levels": rows,
        "environment": environment_record(),
        "load_average_at_end": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_json(args.out, result)
    print(f"written {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
