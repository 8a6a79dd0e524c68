"""`fakescope detect PATH...`: verdicts for images, folders, globs, datasets or paths on stdin."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, TextIO, TypeVar

import typer

from .app import UsageProblem, app, emit_json, user_errors

FORMATS = ("table", "json", "jsonl", "csv")
ENGINES = ("local", "ray")
FEW = 8  # the progress bar appears from this many images on
T = TypeVar("T")


@app.command("detect")
@user_errors
def detect(
    paths: List[str] = typer.Argument(..., help="Image files, folders, globs, datasets (.parquet, hf:NAME) or - (paths on stdin)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="One model alone (a directory, a shipped name such as native, or hf:OWNER/NAME[@REVISION]), with its domain check and operating point (default: the shipped pipeline)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="A pipeline file (JSON or TOML) instead of the shipped one."),
    watermarks: bool = typer.Option(False, "--watermarks", help="Also decode invisible watermarks (SD, SDXL, InvokeAI) as evidence: slower."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="table (default), json, jsonl (one line per image, streamed) or csv."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout (ray: the parquet folder)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Write a Grad-CAM overlay (and spectrum view) per image into this folder."),
    backend: str = typer.Option("torch", "--backend", help="torch or onnx (onnxruntime; exported on first use)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per model call."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="P(fake) at or above which the raw `label` is 'fake' (default: the model's); verdicts follow each model's operating point."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into subfolders (and let ** in globs match folders)."),
    split: Optional[str] = typer.Option(None, "--split", help="For dataset inputs: only this split."),
    top_k: int = typer.Option(3, "--top-k", help="Generators listed per image (attribution models)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Model threads (default: physical cores)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    engine: str = typer.Option("local", "--engine", help="local (default) or ray (Ray Data actor pool, parquet output)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="ray: model actors (default: the cluster's CPUs)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="ray: join this cluster (default: a local one for the run)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    fail_on_error: bool = typer.Option(False, "--fail-on-error", help="Exit 1 when any input could not be scored."),
) -> None:
    """Tell whether images are AI-generated: a verdict (fake, real or uncertain) with its reason.

    The verdict comes from what the file declares about itself (C2PA, IPTC, generator records) or
    from a model answering inside its own domain at its operating point; otherwise "uncertain".
    Bad files get a per-file error entry and the run goes on (exit 0, or 1 with --fail-on-error).
    """
    _check_options(format, engine, batch_size, threshold, top_k, threads, workers, explain, output, paths)
    if model is not None and pipeline is not None:
        raise UsageProblem("--model runs one model alone and --pipeline a pipeline file: give one of them")
    from fakescope.detect.collect import check_inputs

    check_inputs(paths, split)
    if engine == "ray":
        _detect_ray(paths, model, pipeline, watermarks, output, backend, batch_size, threshold, top_k, recursive,
                    split, workers, ray_address, progress, fail_on_error)
        return
    # Idle OpenMP threads sleep instead of spinning: with batches this is faster on a quiet machine
    # too, and on a shared one a spinning thread takes the core the next batch needs (544 vs 366
    # images/s, benchmarks/RESULTS.md). Set before torch starts its threads; the user's value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from fakescope.detect.runner import physical_cores
    from fakescope.verdict.detector import Detector

    det = Detector.load(model, pipeline=pipeline, backend=backend, device=device, threads=threads or physical_cores(),
                        watermarks=watermarks or None)
    info = det.info()
    meta = {k: info[k] for k in ("name", "version", "architecture", "task", "input_size", "threshold")}
    meta.update(threshold=info["threshold"] if threshold is None else threshold, backend=backend,
                pipeline=info["pipeline"])
    explainer = _explainer(explain, det, meta, device) if explain else None
    try:
        summary = _run_local(det, paths, format or "table", output, explainer, batch_size, threshold, top_k,
                             recursive, split, progress, meta)
    except BrokenPipeError:
        # the reader went away (`fakescope detect ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(code=1) from None
    finally:
        if explainer is not None:
            explainer.close()  # the index of what was explained, even when the run stopped early
    if fail_on_error and summary["errors"]:
        raise typer.Exit(code=1)


def _check_options(format: Optional[str], engine: str, batch_size: int, threshold: Optional[float], top_k: int,
                   threads: Optional[int], workers: Optional[int], explain: Optional[str], output: Optional[str],
                   paths: list[str]) -> None:
    if engine not in ENGINES:
        raise UsageProblem(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if format is not None and format not in FORMATS:
        raise UsageProblem(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    for name, value in (("--batch-size", batch_size), ("--top-k", top_k), ("--threads", threads), ("--workers", workers)):
        if value is not None and value < 1:
            raise UsageProblem(f"{name} must be at least 1, not {value}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageProblem(f"--threshold is a probability in [0, 1], not {threshold}")
    if paths.count("-") > 1:
        raise UsageProblem("'-' (paths on stdin) can be given once")
    if engine == "ray":
        if output is None:
            raise UsageProblem("--engine ray writes parquet files: give the output folder with --output DIR")
        if format is not None or explain is not None:
            raise UsageProblem("--engine ray writes parquet (no --format) and does not explain (no --explain)")


def _explainer(outdir: str, det: Any, meta: dict, device: str) -> Any:
    from fakescope.detect.explain_files import ExplanationWriter
    from fakescope.models import load_model

    model = getattr(det.backend, "model", None)
    if model is None:  # the onnx backend: explanations need the torch graph for gradients
        model, _ = load_model(det.model_dir, device=device)
    return ExplanationWriter(outdir, model, det.config, meta)


def _with_output(output: Optional[str], fmt: str, body: Callable[[TextIO], T]) -> T:
    """Run `body` on stdout, or on the output file: jsonl grows line by line (a killed run keeps
    its lines), the other formats appear atomically when the run ends (never half a table)."""
    if output is None:
        return body(sys.stdout)
    target = Path(output)
    if target.is_dir():
        raise UsageProblem(f"--output {output} is a folder; give a file name")
    if fmt == "jsonl":
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            return body(fh)
    from fakescope.utils.atomic import atomic_write

    result: list[T] = []

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            result.append(body(fh))

    atomic_write(target, write)
    return result[0]


def _run_local(det: Any, paths: list[str], fmt: str, output: Optional[str], explainer: Any, batch_size: int,
               threshold: Optional[float], top_k: int, recursive: bool, split: Optional[str], progress: bool,
               meta: dict) -> dict:
    from fakescope.detect.collect import expand_inputs
    from fakescope.detect.inputs import describe_input
    from fakescope.detect.writers import WRITERS, summary_line

    def run(stream: TextIO) -> dict:
        counts = {"images": 0, "fake": 0, "real": 0, "uncertain": 0, "errors": 0}
        start = time.perf_counter()
        writer = WRITERS[fmt](stream)
        writer.start(meta)
        items = expand_inputs(paths, recursive=recursive, split=split, stdin=sys.stdin)
        with _LazyBar(progress) as bar:
            for item, result in det.iter_predict(items, batch_size=batch_size, threshold=threshold, top_k=top_k):
                row = {"path": describe_input(item), **result}
                if explainer is not None and row["error"] is None:
                    row["explanation"] = explainer.add(item, row)
                writer.row(row)
                counts["images"] += 1
                counts["errors" if row["error"] else row["verdict"]] += 1
                bar.update()
        seconds = time.perf_counter() - start
        summary = {**counts, "seconds": round(seconds, 3),
                   "images_per_s": round(counts["images"] / seconds, 1) if seconds > 0 else 0.0}
        writer.finish(summary)
        return summary

    summary = _with_output(output, fmt, run)
    if fmt != "table" or output is not None:  # a table on stdout already ends with this line
        typer.echo(summary_line(summary), err=True)
    return summary


class _LazyBar:
    """A tqdm bar on stderr that only appears once a run has more than a few images."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0
        self.bar: Any = None

    def __enter__(self) -> "_LazyBar":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self.bar is None and self.count >= FEW:
            from fakescope.utils.progress import progress_bar

            self.bar = progress_bar(desc="detect", unit="img", initial=self.count - 1)
        if self.bar is not None:
            self.bar.update(1)


def require_ray() -> None:
    """--engine ray without Ray installed is an argument problem (exit 2), for every command that has it."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UsageProblem("--engine ray needs Ray Data: pip install 'fakescope[ray]'") from None


def _detect_ray(paths: list[str], model: Optional[str], pipeline: Optional[str], watermarks: bool, output: str,
                backend: str, batch_size: int,
                threshold: Optional[float], top_k: int, recursive: bool, split: Optional[str], workers: Optional[int],
                address: Optional[str], progress: bool, fail_on_error: bool) -> None:
    from fakescope.verdict.ray_engine import ray_detect

    require_ray()
    record = ray_detect(paths, model_dir=model, pipeline=pipeline, watermarks=watermarks, out_dir=output, backend=backend,
                        batch_size=batch_size, threshold=threshold, top_k=top_k, recursive=recursive, split=split,
                        workers=workers, address=address, progress=progress)
    emit_json(record)
    if fail_on_error and record["summary"]["errors"]:
        raise typer.Exit(code=1)
