"""Load test of the deployable service: many concurrent clients, real and hostile files, with and
without API keys, and what a client sees when the rate limit is hit.

    python benchmarks/bench_load.py [--model MODEL_DIR] [--levels 8,32,128] [--duration 20]
        [--hostile-share 0.25] [--out benchmarks/results/load.json]

Each configuration starts the real server (the `fakescope serve` console script on 127.0.0.1,
request log on, written to a file as in production; default: the shipped pipeline). For every level N,
N asyncio clients (one keep-alive connection each) post one file per request for `--duration`
seconds after a warm-up: real images from ../shared/data (CIFAKE test JPEGs, GenImage-tree JPEGs,
GenImage BigGAN PNGs) and, with probability `--hostile-share`, a hostile file made by
fakescope.testing.badfiles from a real photo (truncated JPEG/PNG, text named .jpg, empty file,
decompression bombs, unimplemented DDS formats, a PNG named .jpg, CMYK/16-bit/EXIF-rotated
images). With keys, every client sends its own valid key and every 50th request none (401).
Reported per level: answered requests/s (and 200s/s), p50/p99 latency of all answers and of
real-image answers, status counts, 5xx and transport errors (there must be none), and the server's
peak RSS. Last, one client sends requests back to back to a server with `--rate-limit 5/s --burst 5`
and records the statuses, the `Retry-After` values and one 429 body. Bounded: `--duration` per
level and at most `--max-requests` per level.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data"))


def real_files(count: int) -> list[tuple[str, bytes]]:
    pools = [sorted((SHARED / "cifake" / "test").rglob("*.jpg")), sorted((SHARED / "genimage-tree").rglob("*.jpg")),
             sorted((SHARED / "genimage_biggan_fixtures").rglob("*.png"))]
    out: list[tuple[str, bytes]] = []
    for pool, share in zip(pools, (0.5, 0.35, 0.15)):
        n = max(1, int(count * share))
        step = max(1, len(pool) // n)
        out += [(p.name, p.read_bytes()) for p in pool[::step][:n]]
    if not out:
        raise SystemExit(f"no images under {SHARED}")
    return out


def hostile_files() -> list[tuple[str, bytes]]:
    from PIL import Image

    from fakescope.testing.badfiles import make_awkward_files

    base = Image.open(SHARED / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    folder = Path(tempfile.mkdtemp(prefix="fakescope-load-hostile-"))
    files = {name: path.read_bytes() for name, path in make_awkward_files(folder, base).items()}
    files["png_named.jpg"] = files.pop("rgba.png")  # wrong extension: judged by content, accepted
    return sorted(files.items())


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))], 2)


class RssSampler:
    """Peak resident memory of the server process (VmRSS sampled every 0.1 s; VmHWM at the end)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _field(self, name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak_kib = max(self.peak_kib, self._field("VmRSS"))
            except OSError:
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def lifetime_peak_mib(self) -> float:
        return round(self._field("VmHWM") / 1024, 1)


async def run_level(url: str, clients: int, duration: float, warmup: float, max_requests: int,
                    real: list[tuple[str, bytes]], hostile: list[tuple[str, bytes]], hostile_share: float,
                    keys: list[str]) -> dict:
    start_at = time.perf_counter() + warmup
    stop_at = start_at + duration
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    real_latencies: list[float] = []
    sent = 0

    async def client(i: int) -> None:
        nonlocal sent
        rng = random.Random(i)
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=1)) as http:
            n = 0
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at or sent >= max_requests:
                    return
                is_hostile = rng.random() < hostile_share
                name, data = rng.choice(hostile if is_hostile else real)
                headers = {}
                n += 1
                if keys and n % 50 != 0:
                    headers["Authorization"] = f"Bearer {keys[i % len(keys)]}"
                try:
                    response = await http.post(url + "/v1/detect", files={"file": (name, data)}, headers=headers)
                    outcome = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                t1 = time.perf_counter()
                if t0 >= start_at and t1 <= stop_at:  # only requests wholly inside the window count
                    sent += 1
                    statuses[outcome] += 1
                    if outcome.isdigit():
                        latencies.append((t1 - t0) * 1000)
                        if not is_hostile and outcome == "200":
                            real_latencies.append((t1 - t0) * 1000)

    await asyncio.gather(*(client(i) for i in range(clients)))
    answered = sum(v for k, v in statuses.items() if k.isdigit())
    return {
        "clients": clients,
        "seconds": duration,
        "requests": sum(statuses.values()),
        "answered_per_s": round(answered / duration, 1),
        "ok_per_s": round(statuses.get("200", 0) / duration, 1),
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                       "mean": round(statistics.fmean(latencies), 2) if latencies else None},
        "real_image_latency_ms": {"p50": percentile(real_latencies, 50), "p99": percentile(real_latencies, 99)},
        "statuses": dict(sorted(statuses.items())),
        "server_errors_5xx": sum(v for k, v in statuses.items() if k.isdigit() and k.startswith("5")),
        "transport_errors": sum(v for k, v in statuses.items() if not k.isdigit()),
    }


def rate_limit_probe(model_args: list[str], requests: int = 40) -> dict:
    """One client, back to back, against --rate-limit 5/s --burst 5: what it sees."""
    from fakescope.testing.server import ServerProcess

    image = sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[0]
    with ServerProcess([*model_args, "--rate-limit", "5/s", "--burst", "5", "--no-access-log"]) as server:
        statuses: Counter[int] = Counter()
        retry_after: Counter[str] = Counter()
        example = None
        t0 = time.perf_counter()
        with httpx.Client(timeout=60) as http:
            for _ in range(requests):
                r = http.post(server.url + "/v1/detect", files={"file": (image.name, image.read_bytes())})
                statuses[r.status_code] += 1
                if r.status_code == 429:
                    retry_after[r.headers.get("retry-after", "missing")] += 1
                    example = example or {"status": 429, "retry_after": r.headers.get("retry-after"), "body": r.json()}
        seconds = time.perf_counter() - t0
    return {"server_args": "--rate-limit 5/s --burst 5 (no keys: one bucket per client address)",
            "requests": requests, "seconds": round(seconds, 2), "statuses": dict(statuses),
            "retry_after_values": dict(retry_after), "example_429": example}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory to serve (default: the shipped pipeline)")
    parser.add_argument("--levels", default="8,32,128", help="comma-separated concurrent client counts")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each level")
    parser.add_argument("--max-requests", type=int, default=20_000, help="measured requests per level, at most")
    parser.add_argument("--hostile-share", type=float, default=0.25, help="share of requests sending a hostile file")
    parser.add_argument("--real-count", type=int, default=200, help="distinct real images cycled through")
    parser.add_argument("--keys", type=int, default=8, help="API keys of the keyed configuration")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "load.json"))
    args = parser.parse_args()

    from fakescope.testing.server import ServerProcess
    from fakescope.utils.environment import environment_record
    from fakescope.utils.atomic import atomic_write_json

    real, hostile = real_files(args.real_count), hostile_files()
    levels = [int(c) for c in args.levels.split(",")]
    model_args = ["--model", args.model] if args.model else []
    key_file = Path(tempfile.mkdtemp(prefix="fakescope-load-keys-")) / "keys.txt"
    keys = [f"load-{i}-{os.urandom(12).hex()}" for i in range(args.keys)]
    key_file.write_text("\n".join(keys) + "\n")
    configs = {"no keys": ([], []), f"{args.keys} API keys": (["--api-key-file", str(key_file)], keys)}
    results = []
    for label, (extra, client_keys) in configs.items():
        with ServerProcess([*model_args, *extra]) as server:
            info = httpx.get(server.url + "/healthz").json()
            with RssSampler(server.proc.pid) as rss:
                for clients in levels:
                    row = asyncio.run(run_level(server.url, clients, args.duration, args.warmup, args.max_requests,
                                                real, hostile, args.hostile_share, client_keys))
                    row["server_peak_rss_mib_so_far"] = round(rss.peak_kib / 1024, 1)
                    row["config"] = label
                    results.append(row)
                    lat = row["latency_ms"]
                    print(f"{label:>12} {clients:>4} clients: {row['answered_per_s']:>7.1f} answers/s "
                          f"({row['ok_per_s']} ok/s)  p50 {lat['p50']} ms  p99 {lat['p99']} ms  5xx "
                          f"{row['server_errors_5xx']}  transport {row['transport_errors']}  {row['statuses']}  "
                          f"RSS {row['server_peak_rss_mib_so_far']} MiB", file=sys.stderr)
                peak = rss.lifetime_peak_mib()
            log_lines = server.log().count('"event": "request"')
        results[-1]["server_lifetime_peak_rss_mib"] = peak
        results[-1]["request_log_lines"] = log_lines
    probe = rate_limit_probe(model_args)
    print(f"rate limit probe: {probe['statuses']} Retry-After {probe['retry_after_values']}", file=sys.stderr)
    atomic_write_json(args.out, {
        "benchmark": "service load: concurrent clients, real + hostile files, with and without keys",
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "model": info.get("model"),
        "files": {"real": len(real), "hostile": [name for name, _ in hostile], "hostile_share": args.hostile_share},
        "levels": results,
        "rate_limit": probe,
        "environment": environment_record(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    print(f"written {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
