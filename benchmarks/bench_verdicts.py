"""Verdicts of a pipeline on every labelled source in ../shared/data: coverage, accuracy among
answered, wrong-verdict rate (DESIGN.md section 8; issue 14 item 5).

    python benchmarks/bench_verdicts.py [--pipeline FILE | --model DIR] [--threads 1]
                                        [--limit N] [--out benchmarks/results/verdicts.json]

For each source: n images; coverage = share answered fake/real (not uncertain); accuracy among
answered; wrong-verdict rate = wrong decisive verdicts / all images; how many answers came from
the evidence and from each model; errors (unreadable files, counted in n, never answered).
CIFAKE's test split is de-duplicated against its train split by SHA-256 of the stored bytes
(378 byte-identical fakes sit in both), as `fakescope evaluate` does. `provenance` is the shared
C2PA/ComfyUI files with the labels their PROVENANCE.md states (the AI-made files and the
photographs; the UI screenshot and the C2PA test fixtures are neither, and left out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()

# name -> (spec, split); None: every split
SOURCES: dict[str, tuple[str, str | None]] = {
    "cifake-parquet test (de-duplicated)": ("cifake-parquet", "test"),
    "native-pool test": ("native-pool/manifest.csv", "test"),
    "genimage-tree": ("genimage-tree", None),
    "tiny-genimage-sample": ("tiny-genimage-sample", None),
    "commfor-sample": ("commfor-sample", None),
    "cnndetection_ranking": ("cnndetection_ranking", None),
    "genimage_biggan_fixtures": ("genimage_biggan_fixtures", None),
}
# From provenance/PROVENANCE.md: what each file is (1 AI-made, 0 a photograph).
PROVENANCE_LABELS = {
    "c2pa/ChatGPT_Image.png": 1, "c2pa/Firefly_tabby_cat.jpg": 1, "c2pa/ocsp.jpg": 1,
    "comfyui/sdxl__sdxl_simple_example.png": 1, "comfyui/sdturbo__sdxlturbo_example.png": 1,
    "comfyui/flux__flux_schnell_example.png": 1, "comfyui/sd3__sd3_simple_example.png": 1,
    "comfyui/lcm__lcm_basic_example.png": 1,
    "c2pa/crater-lake.jpeg": 0, "c2pa/crater-lake-cr.jpg": 0, "c2pa/car-es-Ps-Cr.jpg": 0,
}


def _hashes(spec: Path, split: str) -> set[str]:
    from fakescope.detect.inputs import sample_bytes
    from fakescope.data import open_source

    return {hashlib.sha256(sample_bytes(s)).hexdigest() for s in open_source(spec, split=split)}


def labelled(name: str, limit: int | None) -> Iterator[tuple[Any, int]]:
    """(input, label) pairs of one source."""
    from fakescope.data import open_source
    from fakescope.detect.inputs import sample_bytes

    if name == "provenance":
        for rel, label in PROVENANCE_LABELS.items():
            yield str(SHARED / "provenance" / rel), label
        return
    spec, split = SOURCES[name]
    train = _hashes(SHARED / spec, "train") if name.startswith("cifake-parquet") else set()
    count = 0
    for sample in open_source(SHARED / spec, split=split):
        if sample.label is None or sample.problem:
            continue
        if train and hashlib.sha256(sample_bytes(sample)).hexdigest() in train:
            continue
        yield sample, int(sample.label)
        count += 1
        if limit and count >= limit:
            return


def measure(det: Any, name: str, limit: int | None) -> dict[str, Any]:
    pairs = list(labelled(name, limit))
    start = time.perf_counter()
    results = det.predict([item for item, _ in pairs], batch_size=64)
    seconds = time.perf_counter() - start
    n = len(pairs)
    truth = {0: "real", 1: "fake"}
    answered = [(r, truth[y]) for r, (_, y) in zip(results, pairs) if r["verdict"] in ("fake", "real")]
    wrong = sum(r["verdict"] != t for r, t in answered)
    # evidence answers are counted together ("evidence"), model answers per model ("model:NAME@SHA12")
    by = Counter("evidence" if r["answered_by"].startswith("evidence:") else r["answered_by"] for r, _ in answered)
    per_class = {}
    for label, word in truth.items():
        rows = [(r, y) for r, (_, y) in zip(results, pairs) if y == label]
        ans = [r for r, _ in rows if r["verdict"] in ("fake", "real")]
        per_class[word] = {"n": len(rows), "answered": len(ans), "wrong": sum(r["verdict"] != word for r in ans)}
    return {
        "n": n, "answered": len(answered), "wrong": wrong,
        "coverage": len(answered) / n if n else None,
        "accuracy_answered": (len(answered) - wrong) / len(answered) if answered else None,
        "wrong_verdict_rate": wrong / n if n else None,
        "errors": sum(r["error"] is not None for r in results),
        "answered_by": dict(sorted(by.items())),
        "per_class": per_class,
        "seconds": round(seconds, 1),
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| source | n | coverage | accuracy among answered | wrong-verdict rate | answered by | errors |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for name, m in rows.items():
        by = ", ".join(f"{k} {v}" for k, v in m["answered_by"].items()) or "-"
        lines.append(f"| {name} | {m['n']} | {pct(m['coverage'])} | {pct(m['accuracy_answered'])} | "
                     f"{pct(m['wrong_verdict_rate'])} | {by} | {m['errors']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", help="pipeline file (default: the shipped one)")
    parser.add_argument("--model", help="one model directory alone instead of a pipeline")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="at most N images per source (quick runs)")
    parser.add_argument("--sources", nargs="*", default=None, help="only these sources (names as in the table)")
    parser.add_argument("--out", default=str(HERE / "results" / "verdicts.json"))
    args = parser.parse_args()

    from fakescope import Detector
    from fakescope.utils.atomic import atomic_write_json

    det = Detector.load(args.model, pipeline=args.pipeline, threads=args.threads)
    names = args.sources or [*SOURCES, "provenance"]
    rows = {}
    for name in names:
        rows[name] = measure(det, name, args.limit)
        print(f"{name}: {json.dumps({k: v for k, v in rows[name].items() if k != 'per_class'})}", file=sys.stderr)
    record = {
        "command": "python benchmarks/bench_verdicts.py " + " ".join(sys.argv[1:]),
        "pipeline": det.info()["pipeline"],
        "limit": args.limit,
        "sources": rows,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "threads": args.threads},
    }
    atomic_write_json(Path(args.out), record)
    print(table(rows))


if __name__ == "__main__":
    main()
