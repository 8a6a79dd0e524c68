"""`fakescope inspect PATH...`: what each file declares about its own making (no model).

C2PA Content Credentials, IPTC DigitalSourceType, generator records and invisible watermarks, read
by `fakescope.provenance`; one result per file `{"path", "verdict", "generator", "reason",
"evidence", "error"}`. Outputs stream like `detect`'s (jsonl line by line, json/csv/table written
atomically with --output); a bad file is a per-file error and the run goes on.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, List, Optional, TextIO

import typer

from .app import UsageProblem, app, user_errors

FORMATS = ("table", "json", "jsonl", "csv")
VERDICTS = ("ai-generated", "ai-edited", "no-claim")
FEW = 8  # the progress bar appears from this many files on


@app.command("inspect")
@user_errors
def inspect(
    paths: List[str] = typer.Argument(..., help="Image files, folders, globs, datasets (.parquet, hf:NAME) or - (paths on stdin)."),
    format: str = typer.Option("table", "--format", "-f", help="table (default), json, jsonl (streamed) or csv."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into subfolders."),
    split: Optional[str] = typer.Option(None, "--split", help="For dataset inputs: only this split."),
    watermarks: bool = typer.Option(True, "--watermarks/--no-watermarks", help="Decode pixels for invisible watermarks (slower; off: headers only)."),
    c2pa_trust: Optional[List[str]] = typer.Option(None, "--c2pa-trust", help="PEM file of trust anchors for C2PA signers (repeatable). Without: signers are reported untrusted."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    fail_on_error: bool = typer.Option(False, "--fail-on-error", help="Exit 1 when any input could not be read."),
    engine: str = typer.Option("local", "--engine", help="local (default) or ray (Ray Data tasks; parquet into --output DIR)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="ray: parallel read/inspect tasks (default: the cluster's CPUs)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="ray: join this cluster (default: a local one for the run)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="ray: continue an interrupted run of the same command in --output."),
) -> None:
    """Read the evidence a file carries about its own making: C2PA, IPTC, generator metadata, watermarks.

    Metadata proves presence, never absence: 'no-claim' never means the image is real.
    Offline: remote C2PA manifests are reported, never fetched.
    """
    if format not in FORMATS:
        raise UsageProblem(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    if paths.count("-") > 1:
        raise UsageProblem("'-' (paths on stdin) can be given once")
    trust = [_read_pem(p) for p in c2pa_trust or []]
    if engine not in ("local", "ray"):
        raise UsageProblem(f"--engine must be local or ray, not {engine!r}")
    if engine == "local" and (workers is not None or ray_address is not None):
        raise UsageProblem("--workers and --ray-address are options of --engine ray")
    if engine == "ray" and (output is None or format != "table"):
        raise UsageProblem("--engine ray writes parquet: give the output folder with --output DIR (no --format)")
    from fakescope.detect.collect import check_inputs

    check_inputs(paths, split)
    if engine == "ray":
        _inspect_ray(paths, output or "", recursive, split, watermarks, trust or None, workers, ray_address, resume,
                     progress, fail_on_error)
        return
    from .detect_cmd import _with_output

    def run(stream: TextIO) -> dict[str, Any]:
        return _run(stream, paths, format, recursive, split, watermarks, trust or None, progress)

    try:
        summary = _with_output(output, format, run)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(code=1) from None
    if format != "table" or output is not None:
        typer.echo(summary_line(summary), err=True)
    if fail_on_error and summary["errors"]:
        raise typer.Exit(code=1)


def _inspect_ray(paths: list[str], output: str, recursive: bool, split: Optional[str], watermarks: bool,
                 trust: list[str] | None, workers: Optional[int], address: Optional[str], resume: bool, progress: bool,
                 fail_on_error: bool) -> None:
    from fakescope.verdict.ray_engine import ray_inspect

    from .app import emit_json
    from .detect_cmd import require_ray

    require_ray()
    record = ray_inspect(paths, out_dir=output, recursive=recursive, split=split, watermarks=watermarks, trust=trust,
                         workers=workers, address=address, resume=resume, progress=progress)
    emit_json(record)
    s = record["summary"]
    typer.echo(f"{s['files']} file(s): {s['ai-generated']} ai-generated, {s['ai-edited']} ai-edited, {s['no-claim']} "
               f"no-claim, {s['errors']} error(s) in {s['seconds']:.1f} s ({s['resumed']} resumed) -> {output}", err=True)
    if fail_on_error and s["errors"]:
        raise typer.Exit(code=1)


def _read_pem(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageProblem(f"--c2pa-trust {path}: cannot read ({exc.strerror or exc})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise UsageProblem(f"--c2pa-trust {path}: no PEM certificate in it")
    return text


def inspect_one(item: Any, watermarks: bool, trust: list[str] | None) -> dict[str, Any]:
    """One CLI input (path, dataset row or InputProblem) -> its result row."""
    from fakescope.data.decode import ImageDecodeError, read_file_bytes
    from fakescope.detect.inputs import InputProblem, describe_input, sample_bytes
    from fakescope.provenance.inspect import inspect_row

    name = describe_input(item)
    try:
        if isinstance(item, InputProblem):
            raise ImageDecodeError(item.reason)
        if isinstance(item, (str, os.PathLike)):
            if Path(item).is_dir():
                raise ImageDecodeError("is a directory")
            data = read_file_bytes(item)
        else:
            data = sample_bytes(item)
    except ImageDecodeError as exc:
        return inspect_row(name, None, exc.reason)
    return inspect_row(name, data, watermarks=watermarks, c2pa_trust=trust)


def _run(stream: TextIO, paths: list[str], fmt: str, recursive: bool, split: Optional[str], watermarks: bool,
         trust: list[str] | None, progress: bool) -> dict[str, Any]:
    from fakescope.detect.collect import expand_inputs

    counts = {"files": 0, **{v: 0 for v in VERDICTS}, "errors": 0}
    writer = WRITERS[fmt](stream)
    start = time.perf_counter()
    bar = None
    for n, item in enumerate(expand_inputs(paths, recursive=recursive, split=split, stdin=sys.stdin), 1):
        row = inspect_one(item, watermarks, trust)
        writer.row(row)
        counts["files"] += 1
        counts["errors" if row["error"] else row["verdict"]] += 1
        if progress and bar is None and n >= FEW:
            from fakescope.utils.progress import progress_bar

            bar = progress_bar(desc="inspect", unit="file", initial=n - 1)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    summary = {**counts, "seconds": round(seconds, 3), "files_per_s": round(counts["files"] / seconds, 1) if seconds else 0.0,
               "watermarks": watermarks, "protocol": "fakescope.provenance: file metadata and watermarks, offline; "
                                                     "no-claim is not evidence of a real image"}
    writer.finish(summary)
    return summary


def summary_line(s: dict[str, Any]) -> str:
    return (f"{s['files']} file(s): {s['ai-generated']} ai-generated, {s['ai-edited']} ai-edited, "
            f"{s['no-claim']} no-claim, {s['errors']} error(s) in {s['seconds']:.1f} s ({s['files_per_s']:.1f} files/s)")


# ------------------------------------------------------------------ output formats


class _Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def row(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.flush()


class _Jsonl(_Writer):
    def row(self, row: dict[str, Any]) -> None:
        self.out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.out.flush()


class _Json(_Writer):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.out.write('{"results": [')
        self.first = True

    def row(self, row: dict[str, Any]) -> None:
        self.out.write(("\n  " if self.first else ",\n  ") + json.dumps(row, ensure_ascii=False, default=str))
        self.first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write('\n], "summary": ' + json.dumps(summary, ensure_ascii=False) + "}\n")
        super().finish(summary)


CSV_COLUMNS = ["path", "verdict", "generator", "sources", "signer", "validation", "reason", "error"]


class _Csv(_Writer):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.csv = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        self.csv.writeheader()

    def row(self, row: dict[str, Any]) -> None:
        ev = row["evidence"]
        self.csv.writerow({
            "path": row["path"], "verdict": row["verdict"] or "", "generator": row["generator"] or "",
            "sources": ";".join(f"{it['source']}={it['claim']}" for it in ev),
            "signer": ";".join(dict.fromkeys(it["signer"] for it in ev if it.get("signer"))),
            "validation": ";".join(dict.fromkeys(it["validation"] for it in ev if it.get("validation"))),
            "reason": row["reason"] or "", "error": row["error"] or "",
        })


class _Table(_Writer):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.out.write(f"{'verdict':<13} {'generator':<22} path: reason\n")

    def row(self, row: dict[str, Any]) -> None:
        if row["error"]:
            self.out.write(f"{'error':<13} {'-':<22} {row['path']}: {row['error']}\n")
        else:
            self.out.write(f"{row['verdict']:<13} {(row['generator'] or '-')[:22]:<22} {row['path']}: {row['reason']}\n")
        self.out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write(summary_line(summary) + "\n")
        super().finish(summary)


WRITERS = {"table": _Table, "json": _Json, "jsonl": _Jsonl, "csv": _Csv}
