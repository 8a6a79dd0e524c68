"""The long fuzz run: mutated real files through decode, `Detector.predict`, `fakescope detect` and the
real service, then schemathesis against the service; cases, per-file errors, escapes, RSS over time.

    nice -n 5 python benchmarks/bench_fuzz.py [--minutes 5] [--service-cases 400] [--api-minutes 2]
        [--seed 1] [--shared ../shared/data] [--out benchmarks/results/fuzz.json]

Phase 1 (in this process, for --minutes): case i of seed S (`fakescope.testing.fuzz.make_case`) is
decoded with `decode_image` and, 32 at a time, scored with `Detector.predict`. An escape is any
exception other than the per-file `ImageDecodeError` out of decode, or any exception out of predict
(must be 0). RSS is sampled after every batch; ru_maxrss gives the true peak.
Phase 2: --service-cases further cases written to a folder, `fakescope detect DIR -r --format jsonl`
over it (exit 0, one row per file), and each file posted to a real `fakescope serve` (no 5xx; the
server's RSS sampled as it goes).
Phase 3: schemathesis (all checks, every operation) for --api-minutes against the same server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

from fakescope.data import ImageDecodeError, decode_image
from fakescope import Detector
from fakescope.testing.api_fuzz import operations, run_schemathesis
from fakescope.testing.fuzz import load_seeds, make_case, write_cases
from fakescope.testing.server import ServerProcess, fakescope_command
from fakescope.utils.atomic import atomic_write_json

BATCH = 32
MB = 1024 * 1024


def phase_decode(seeds, master: int, minutes: float, detector: Detector) -> dict:
    proc = psutil.Process()
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    escapes: list[str] = []
    rss: list[dict] = []
    slowest = (0.0, "")
    start = time.monotonic()
    index = 0
    while time.monotonic() - start < minutes * 60:
        batch = [make_case(seeds, master, index + k) for k in range(BATCH)]
        index += BATCH
        for case in batch:
            t0 = time.perf_counter()
            try:
                decode_image(case.data)
                outcomes["decoded"] += 1
            except ImageDecodeError as exc:
                outcomes["per_file_error"] += 1
                reasons[exc.reason.split(":")[0].split(" (")[0]] += 1
            except Exception as exc:  # noqa: BLE001 - this is what the run counts
                escapes.append(f"{case.describe()}: {type(exc).__name__}: {exc}")
            dt = time.perf_counter() - t0
            if dt > slowest[0]:
                slowest = (dt, case.describe())
        try:
            results = detector.predict([c.data for c in batch], workers=0)
            outcomes["predict_rows"] += len(results)
            outcomes["predict_errors"] += sum(r.get("error") is not None for r in results)
        except Exception as exc:  # noqa: BLE001
            escapes.append(f"predict over cases {index - BATCH}..{index - 1}: {type(exc).__name__}: {exc}")
        rss.append({"t_s": round(time.monotonic() - start, 1), "cases": index,
                    "rss_mb": round(proc.memory_info().rss / MB, 1)})
    return {"cases": index, "outcomes": dict(outcomes), "escapes": len(escapes), "escape_examples": escapes[:10],
            "reasons": dict(reasons.most_common()), "slowest_case_s": round(slowest[0], 3),
            "slowest_case": slowest[1], "rss_series": rss,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def phase_service(seeds, master: int, start: int, count: int, workdir: Path, api_minutes: float) -> dict:
    cases = [make_case(seeds, master, start + i) for i in range(count)]
    files = write_cases(cases, workdir / "cases")
    t0 = time.perf_counter()
    cli = subprocess.run([*fakescope_command(), "detect", str(workdir / "cases"), "-r", "--format", "jsonl",
                          "--threads", "1", "--no-progress"], capture_output=True, text=True, timeout=3600)
    rows = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    detect = {"exit_code": cli.returncode, "files": len(files), "rows": len(rows),
              "errors": sum(r["error"] is not None for r in rows), "traceback": "Traceback" in cli.stderr,
              "seconds": round(time.perf_counter() - t0, 1)}
    statuses: Counter[int] = Counter()
    server_rss: list[float] = []
    with ServerProcess(["--no-access-log"]) as server:
        server_proc = psutil.Process(server.proc.pid)
        with httpx.Client(base_url=server.url, timeout=300) as client:
            for i, name in enumerate(sorted(files)):
                response = client.post("/v1/detect", files=[("file", (name, (workdir / "cases" / name).read_bytes()))])
                statuses[response.status_code] += 1
                if i % 20 == 0:
                    server_rss.append(round(server_proc.memory_info().rss / MB, 1))
        api = phase_api(server, api_minutes)
        alive = server.alive()
        traceback = "Traceback" in server.log()
    service = {"requests": sum(statuses.values()), "statuses": {str(k): v for k, v in sorted(statuses.items())},
               "server_errors_5xx": sum(v for k, v in statuses.items() if k >= 500), "alive": alive,
               "traceback_in_log": traceback, "server_rss_mb_first_last_max":
               [server_rss[0], server_rss[-1], max(server_rss)] if server_rss else None}
    return {"detect_cli": detect, "service": service, "schemathesis": api}


def phase_api(server: ServerProcess, minutes: float) -> dict:
    t0 = time.perf_counter()
    proc = run_schemathesis(server.url, max_examples=1000, seed=1, max_time=minutes * 60, timeout=minutes * 60 + 600)
    out = proc.stdout
    tail = out[out.find("SUMMARY"):] if "SUMMARY" in out else out[-2000:]
    failures = out[out.find("FAILURES"):out.find("SUMMARY")] if "FAILURES" in out else ""
    return {"exit_code": proc.returncode, "operations": operations(server.url), "seconds": round(time.perf_counter() - t0, 1),
            "summary": tail.strip(), "failures": failures.strip()[:8000]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--service-cases", type=int, default=400)
    ap.add_argument("--api-minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "fuzz.json")
    args = ap.parse_args()
    seeds = load_seeds(args.shared, large=True)
    detector = Detector.load(threads=1)
    record: dict = {"command": "nice -n 5 python benchmarks/bench_fuzz.py " + " ".join(sys.argv[1:]),
                    "seed": args.seed, "seeds": [{"name": s.name, "format": s.fmt, "bytes": len(s.data)} for s in seeds],
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    record["decode_and_predict"] = phase_decode(seeds, args.seed, args.minutes, detector)
    print(json.dumps({k: v for k, v in record["decode_and_predict"].items() if k != "rss_series"}, indent=1), flush=True)
    with tempfile.TemporaryDirectory(prefix="fakescope-fuzz-") as tmp:
        record.update(phase_service(seeds, args.seed, record["decode_and_predict"]["cases"], args.service_cases, Path(tmp),
                                     args.api_minutes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, record)
    print(json.dumps({k: record[k] for k in ("detect_cli", "service", "schemathesis")}, indent=1))


if __name__ == "__main__":
    main()
