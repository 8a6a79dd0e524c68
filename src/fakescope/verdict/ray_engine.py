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

The same engine runs `fakescope inspect --engine ray` (`ray_inspect`: the read tasks above, then
the evidence readers in a pool of tasks) and `fakescope evaluate --engine ray`
(`fakescope.eval.ray_scoring`): `ray_session` starts or joins Ray, `part_dataset` makes the read
tasks' shares, and `stream_rows` brings the finished rows back to the driver batch by batch, where
they go into the run's resumable row log (`fakescope.utils.rowlog`): a run killed midway and
started again skips every row an earlier run finished.

Ray is imported here only: the default local engine never needs it. With no `address`, Ray
starts a local instance for the run (no dashboard, usage stats off) and stops it at the end; with
one (or RAY_ADDRESS), the run joins that cluster, whose workers must see the same paths.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
              parts: int, done: frozenset[int] = frozenset()) -> Iterator[dict[str, Any]]:
    """Ray flat_map: the encoded bytes of every `parts`-th input, starting at `row["part"]`, with
    its position in the listing (`order`); inputs at a position in `done` are not read again."""
    from fakescope.data.decode import ImageDecodeError, read_file_bytes

    # Relative paths mean the driver's folder; a Ray worker may start anywhere. Each read task sets
    # it first, and tasks run one at a time per worker process.
    os.chdir(cwd)
    part = int(row["part"])
    for i, item in enumerate(expand_inputs(inputs, recursive=recursive, split=split)):
        if i % parts != part or i in done:
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
        yield {"order": i, "path": path, "data": data, "problem": problem}


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


# Blocks are what a Ray run finishes, brings back and logs at a time. Ray's default (128 MiB) would
# make one read task's whole share a block; at 1 MiB of encoded images (a few to hundreds of
# images) a killed resumable run loses little, and no block holds much memory.
RESUMABLE_BLOCK_BYTES = int(os.environ.get("FAKESCOPE_RAY_BLOCK_BYTES", 1024 * 1024))


@contextmanager
def ray_session(address: str | None, workers: int | None, progress: bool = True,
                block_bytes: int | None = None) -> Iterator[int]:
    """Join the cluster at `address` (or RAY_ADDRESS, or the Ray already running in this process),
    else start a local Ray for the run and stop it afterwards; yields the pool size (`workers`,
    default: the cluster's CPUs). `block_bytes`: Ray Data's block size for datasets made inside."""
    import ray
    import ray.data

    started_here = not ray.is_initialized()
    if started_here:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 **({"num_cpus": workers} if address is None and workers else {}))
    ctx = ray.data.DataContext.get_current()
    previous = ctx.target_max_block_size
    try:
        ctx.enable_progress_bars = progress
        if block_bytes is not None:
            ctx.target_max_block_size = block_bytes
        yield workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        ctx.target_max_block_size = previous
        if started_here:
            ray.shutdown()


def part_dataset(size: int) -> Any:
    """One row per read task, `{"part": k}`: task k of `size` takes every size-th item from the k-th."""
    import ray.data

    return ray.data.from_items([{"part": k} for k in range(size)], override_num_blocks=size)


def read_inputs(inputs: list[str], size: int, *, recursive: bool, split: str | None,
                done: frozenset[int] = frozenset()) -> Any:
    """The Ray dataset of CLI inputs as rows `{order, path, data, problem}` (read_part)."""
    # Read tasks list files and read bytes (I/O): they reserve no CPU, or with one worker per CPU
    # they would wait forever for a free core.
    return part_dataset(size).flat_map(read_part, num_cpus=0, fn_kwargs={
        "inputs": inputs, "cwd": os.getcwd(), "recursive": recursive, "split": split, "parts": size, "done": done})


def stream_rows(ds: Any, on_batch: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """The finished rows of `ds`, in the driver, as they arrive; `on_batch` after each batch (the
    row log's flush: a batch once received is on disk, so a killed run never redoes it)."""
    for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        yield from batch.to_pylist()
        if on_batch is not None:
            on_batch()


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
    with ray_session(address, workers, progress) as size:
        ds = read_inputs(inputs, size, recursive=recursive, split=split)
        ds = ds.map_batches(
            ScoreBatch, batch_size=batch_size, batch_format="pyarrow", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=size),
            fn_constructor_kwargs={"model_dir": model_dir, "pipeline": pipeline, "watermarks": watermarks,
                                   "backend": backend, "threshold": threshold,
                                   "top_k": top_k, "batch_size": batch_size, "threads": 1},
        )
        ds.write_parquet(str(out))
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


# ---------------------------------------------------------------- fakescope inspect --engine ray

INSPECT_SUMMARY_FILE = "_inspect.json"
INSPECT_RESULTS_FILE = "inspect.parquet"
INSPECT_BATCH = 16  # files per evidence call
PARTIAL_DIR = ".partial"  # the resumable row log of an unfinished run; removed when it completes
INSPECT_SCHEMA = pa.schema([
    ("path", pa.string()), ("verdict", pa.string()), ("generator", pa.string()), ("reason", pa.string()),
    ("evidence", pa.string()), ("error", pa.string()),
])


def inspect_batch(batch: pa.Table, *, watermarks: bool, trust: list[str] | None) -> pa.Table:
    """Ray map_batches: the evidence of each read file (the rows `fakescope inspect` prints, evidence
    as a JSON string), with its `order`."""
    from fakescope.provenance.inspect import inspect_row

    rows = []
    for order, path, data, problem in zip(*(batch.column(c).to_pylist() for c in ("order", "path", "data", "problem"))):
        row = inspect_row(path, data if problem is None else None, problem, watermarks=watermarks, c2pa_trust=trust)
        rows.append({**row, "evidence": json.dumps(row["evidence"], ensure_ascii=False, default=str), "order": order})
    return pa.Table.from_pylist(rows, schema=INSPECT_SCHEMA.append(pa.field("order", pa.int64())))


def ray_inspect(inputs: list[str], *, out_dir: str | os.PathLike[str], recursive: bool = False, split: str | None = None,
                watermarks: bool = True, trust: list[str] | None = None, workers: int | None = None,
                address: str | None = None, resume: bool = True, progress: bool = True,
                say: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> dict[str, Any]:
    """`fakescope inspect` on Ray: `out_dir/inspect.parquet` (the local engine's rows, in input order)
    and `out_dir/_inspect.json` (inputs, counts). Resumable: finished rows wait in `out_dir/.partial/`."""
    import pyarrow.json as pajson

    from fakescope.utils.rowlog import ORDER_FIELD, LOG_FILE, open_partial

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(p.name != PARTIAL_DIR for p in out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder (or an interrupted run's): "
                        "Ray writes its results into a new one")
    inputs = _read_stdin_paths(list(inputs))
    identity = {"command": "inspect", "inputs": inputs, "cwd": os.getcwd(), "recursive": recursive, "split": split,
                "watermarks": watermarks, "trust": trust}
    partial = out / PARTIAL_DIR
    done, log = open_partial(partial, identity, resume, say, key=ORDER_FIELD, unit="file(s)")
    start = time.perf_counter()
    with ray_session(address, workers, progress, block_bytes=RESUMABLE_BLOCK_BYTES) as size:
        ds = read_inputs(inputs, size, recursive=recursive, split=split, done=frozenset(done))
        # Evidence is per-file CPU work without a model to load: plain tasks, one CPU each.
        ds = ds.map_batches(inspect_batch, batch_format="pyarrow", batch_size=INSPECT_BATCH, num_cpus=1,
                            fn_kwargs={"watermarks": watermarks, "trust": trust})
        try:
            for row in stream_rows(ds, on_batch=log.flush):
                log.add(row)
        finally:
            log.flush()
    schema = INSPECT_SCHEMA.append(pa.field(ORDER_FIELD, pa.int64()))
    if (partial / LOG_FILE).exists() and (partial / LOG_FILE).stat().st_size:
        table = pajson.read_json(partial / LOG_FILE, parse_options=pajson.ParseOptions(explicit_schema=schema))
    else:
        table = schema.empty_table()
    table = table.sort_by([(ORDER_FIELD, "ascending")]).select(INSPECT_SCHEMA.names)
    import pyarrow.parquet as pq

    from fakescope.utils.atomic import atomic_write

    atomic_write(out / INSPECT_RESULTS_FILE, lambda p: pq.write_table(table, p))
    seconds = time.perf_counter() - start
    verdicts, errors = table.column("verdict").to_pylist(), table.column("error").to_pylist()
    summary = {"files": table.num_rows, **{v: verdicts.count(v) for v in ("ai-generated", "ai-edited", "no-claim")},
               "errors": sum(e is not None for e in errors), "resumed": len(done), "seconds": round(seconds, 2)}
    record = {"engine": "ray", "output": str(out), "workers": size, "inputs": inputs, "watermarks": watermarks,
              "summary": summary, "files": [INSPECT_RESULTS_FILE]}
    atomic_write_json(out / INSPECT_SUMMARY_FILE, record)
    shutil.rmtree(partial, ignore_errors=True)
    return record
