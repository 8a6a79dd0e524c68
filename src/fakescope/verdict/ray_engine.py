"""`fakescope detect --engine ray`: score a large collection with Ray Data, write parquet.

    inputs (folders, globs, files, datasets) --flat_map: read tasks--> rows {path, data, problem}
        --map_batches: a pool of `ScoreBatch` actors, one verdict pipeline each--> result rows --> parquet

Read tasks split the inputs by position (task k of P takes every P-th input), so they need no
shared listing; each reads only its share of the bytes. Decoding and scoring happen in the
actors, which load the pipeline once each and reuse it for every batch; the evidence stage reads
the same bytes the decoder gets. The result rows are the ones `fakescope detect --format jsonl`
prints (path, verdict, reason, answered_by, evidence as a JSON string, label, score, generator,
error, model, input_size, pipeline),
as parquet files in the output folder, plus `_detect.json` (model, inputs, counts) which parquet
readers skip (a leading underscore).

Ray is imported here only: the default local engine never needs it. With no `address`, Ray
starts a local instance for the run (no dashboard, usage stats off) and stops it at the end; with
one (or RAY_ADDRESS), the run joins that cluster, whose workers must see the same paths.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write_json

from fakescope.detect.collect import STDIN, expand_inputs
from fakescope.detect.inputs import InputProblem, describe_input, sample_bytes
from fakescope.detect.writers import model_id

SUMMARY_FILE = "_detect.json"
GENERATOR_TYPE = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64()), ("source", pa.string())]))
RESULT_SCHEMA = pa.schema([
    ("path", pa.string()), ("verdict", pa.string()), ("reason", pa.string()), ("answered_by", pa.string()),
    ("evidence", pa.string()), ("label", pa.string()), ("score", pa.float64()), ("generator", GENERATOR_TYPE),
    ("error", pa.string()), ("model", pa.string()), ("input_size", pa.int32()), ("pipeline", pa.string()),
])


def read_part(row: dict[str, Any], *, inputs: list[str], cwd: str, recursive: bool, split: str | None,
              parts: int) -> Iterator[dict[str, Any]]:
    """Ray flat_map: the encoded bytes of every `parts`-th input, starting at `row["part"]`."""
    from fakescope.data.decode import ImageDecodeError, read_file_bytes

    # Relative paths mean the driver's folder; a Ray worker may start anywhere. Each read task sets
    # it first, and tasks run one at a time per worker process.
    os.chdir(cwd)
    part = int(row["part"])
    for i, item in enumerate(expand_inputs(inputs, recursive=recursive, split=split)):
        if i % parts != part:
            continue
        path, data, problem = describe_input(item), b"", None
        try:
            if isinstance(item, InputProblem):
                problem = item.reason
            elif isinstance(item, str):
                data = read_file_bytes(item)
            else:
                data = sample_bytes(item)
        except ImageDecodeError as exc:
            problem = exc.reason
        yield {"path": path, "data": data, "problem": problem}


class ScoreBatch:
    """Ray actor: one verdict pipeline (fakescope.Detector), reused for every batch this worker scores."""

    def __init__(self, model_dir: str | None, pipeline: str | None, watermarks: bool, backend: str,
                 threshold: float | None, top_k: int, batch_size: int, threads: int) -> None:
        from fakescope.verdict.detector import Detector

        self.detector = Detector.load(model_dir, pipeline=pipeline, backend=backend, threads=threads,
                                      watermarks=watermarks or None)
        info = self.detector.info()
        self.model = model_id(info)
        self.pipeline = info["pipeline"]["name"]
        self.input_size = int(info["input_size"])
        self.threshold = threshold
        self.top_k = top_k
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        paths = batch.column("path").to_pylist()
        problems = batch.column("problem").to_pylist()
        datas = batch.column("data").to_pylist()
        items = [InputProblem(p, why) if why is not None else d for p, d, why in zip(paths, datas, problems)]
        results = [r for _, r in self.detector.iter_predict(items, batch_size=self.batch_size, workers=0,
                                                            threshold=self.threshold, top_k=self.top_k)]
        return pa.Table.from_pylist([
            {"path": p, "verdict": r["verdict"], "reason": r["reason"], "answered_by": r["answered_by"],
             "evidence": json.dumps(r["evidence"], ensure_ascii=False, default=str), "label": r["label"],
             "score": r["score"], "generator": r["generator"], "error": r.get("error"),
             "model": self.model, "input_size": self.input_size, "pipeline": self.pipeline}
            for p, r in zip(paths, results)
        ], schema=RESULT_SCHEMA)


def _read_stdin_paths(inputs: list[str]) -> list[str]:
    """Ray workers cannot read the driver's stdin: `-` is replaced by the paths it lists."""
    if STDIN not in inputs:
        return inputs
    listed = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    out: list[str] = []
    for arg in inputs:
        out.extend(listed if arg == STDIN else [arg])
    return out


def ray_detect(inputs: list[str], *, model_dir: str | os.PathLike[str] | None, out_dir: str | os.PathLike[str],
               pipeline: str | os.PathLike[str] | None = None, watermarks: bool = False, backend: str = "torch", batch_size: int = 64, threshold: float | None = None, top_k: int = 3,
               recursive: bool = False, split: str | None = None, workers: int | None = None,
               address: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Score `inputs` with a Ray actor pool; write parquet into `out_dir`; return the run's summary.

    `model_dir` and `pipeline` None: the shipped pipeline, as `Detector.load()`.
    """
    import ray
    import ray.data

    from fakescope.verdict.detector import Detector

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder: Ray writes its parquet files into a new one")
    # fail fast, in the driver, on a bad model or pipeline file
    checked = Detector.load(model_dir, pipeline=pipeline, backend="torch")
    info = checked.info()
    model_dir = str(Path(model_dir).resolve()) if model_dir is not None else None
    pipeline = str(Path(pipeline).resolve()) if pipeline is not None else None
    model_dirs = [str(m.model_dir) for m in checked.pipeline.models]
    del checked
    if backend == "onnx":  # export once here, not once per actor
        from fakescope.detect.onnx_export import onnx_file_for

        for directory in model_dirs:
            onnx_file_for(directory)
    inputs = _read_stdin_paths(list(inputs))
    start = time.perf_counter()
    started_here = not ray.is_initialized()
    if started_here:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 **({"num_cpus": workers} if address is None and workers else {}))
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        ds = ray.data.from_items([{"part": k} for k in range(size)], override_num_blocks=size)
        # Read tasks list files and read bytes (I/O): they reserve no CPU, or with one actor per CPU
        # they would wait forever for a free core.
        ds = ds.flat_map(read_part, num_cpus=0, fn_kwargs={"inputs": inputs, "cwd": os.getcwd(), "recursive": recursive,
                                               "split": split, "parts": size})
        ds = ds.map_batches(
            ScoreBatch, batch_size=batch_size, batch_format="pyarrow", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=size),
            fn_constructor_kwargs={"model_dir": model_dir, "pipeline": pipeline, "watermarks": watermarks,
                                   "backend": backend, "threshold": threshold,
                                   "top_k": top_k, "batch_size": batch_size, "threads": 1},
        )
        ds.write_parquet(str(out))
    finally:
        if started_here:
            ray.shutdown()
    seconds = time.perf_counter() - start
    summary = _summarize(out, seconds)
    model = {k: info[k] for k in ("name", "version", "architecture", "input_size", "threshold")}
    model["backend"] = backend
    model["pipeline"] = {k: v for k, v in info["pipeline"].items()}
    record = {"engine": "ray", "output": str(out), "workers": size, "model": model, "inputs": inputs,
              "summary": summary, "files": sorted(p.name for p in out.glob("*.parquet"))}
    atomic_write_json(out / SUMMARY_FILE, record)
    return record


def _summarize(out: Path, seconds: float) -> dict[str, Any]:
    import pyarrow.dataset as pads

    table = pads.dataset(str(out), format="parquet").to_table(columns=["verdict", "error"])
    verdicts = table.column("verdict").to_pylist()
    n = table.num_rows
    errors = sum(e is not None for e in table.column("error").to_pylist())
    return {"images": n, "fake": verdicts.count("fake"), "real": verdicts.count("real"),
            "uncertain": verdicts.count("uncertain"), "errors": errors,
            "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1) if seconds > 0 else 0.0}
