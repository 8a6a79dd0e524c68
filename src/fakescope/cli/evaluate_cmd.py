"""`fakescope evaluate`: metrics, degradations, format alignment and an HTML report for one model."""

from __future__ import annotations

from typing import Optional

import typer

from .app import UsageProblem, app, emit_json, user_errors


@app.command("evaluate")
@user_errors
def evaluate(
    data: str = typer.Option(..., "--data", help="Test source (folder, parquet, manifest, hf:...)."),
    out: str = typer.Option(..., "--out", help="Output folder: metrics.json, predictions, report.html, figures/."),
    model: Optional[str] = typer.Option(None, "--model", help="Model directory, shipped model name or hf:OWNER/NAME[@REVISION] (default: the shipped default model)."),
    split: Optional[str] = typer.Option(None, "--split", help="Test split (default: test, else val/validation, else the only split)."),
    format: Optional[str] = typer.Option(None, "--format", help="Force the data format."),
    degrade: Optional[list[str]] = typer.Option(
        None, "--degrade",
        help="Test conditions beside clean, comma-separated or repeated: resize:N, jpeg:Q, blur:SIGMA, noise:SIGMA, "
             "crop:N; 'genimage' = GenImage Table 5's six."),
    align_format: Optional[str] = typer.Option(
        None, "--align-format", help="Re-encode every test image of both classes first: jpeg:QUALITY (e.g. jpeg:96) or png."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Decision threshold on P(fake) (default: the model's)."),
    tta: Optional[list[str]] = typer.Option(
        None, "--tta", help="Test-time augmentation instead of the model's own (repeatable): hflip, or none."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per model call."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=2, help="Score a uniform subset of N images (by key hash)."),
    dedup_against: Optional[str] = typer.Option(
        None, "--dedup-against", help="SOURCE[:SPLIT]: drop test images whose bytes (SHA-256) appear there, e.g. the training split."),
    predictions: str = typer.Option("parquet", "--predictions", help="Per-image predictions file format: parquet or csv."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals (0: none)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's choice; 1 is fastest on a busy machine)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue an interrupted run of the same protocol in OUT."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html and figures/."),
    engine: str = typer.Option("local", "--engine", help="local (default) or ray (the scoring pass on Ray Data; same results)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="ray: model actors (default: the cluster's CPUs)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="ray: join this cluster (default: a local one for the run)."),
) -> None:
    """Evaluate a model: Task A metrics overall, per generator and per family (95% bootstrap CIs, n),
    Task B attribution, per condition; prints metrics.json on stdout."""
    import signal
    from pathlib import Path

    from fakescope.eval.conditions import parse_alignment, parse_conditions

    # Cheap checks first, before torch is imported: a bad argument answers in a fraction of a second.
    parse_conditions(degrade or [])
    parse_alignment(align_format)
    if predictions not in ("parquet", "csv"):
        raise UsageProblem(f"--predictions must be parquet or csv, not {predictions!r}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageProblem(f"--threshold {threshold} is not a probability in [0, 1]")
    if engine not in ("local", "ray"):
        raise UsageProblem(f"--engine must be local or ray, not {engine!r}")
    if engine == "local" and (workers is not None or ray_address is not None):
        raise UsageProblem("--workers and --ray-address are options of --engine ray")
    if engine == "ray":
        from .detect_cmd import require_ray

        require_ray()
    views = None if tta is None else [v for v in tta if v != "none"]  # checked by the model config
    from fakescope.models.hub import is_hub_spec, resolve_model

    if model is not None and not is_hub_spec(model) and not (resolve_model(model) / "config.json").is_file():
        raise UsageProblem(f"{model} is not a model directory or a shipped model name (no config.json)")
    paths = [data]
    if dedup_against:  # SOURCE[:SPLIT]: the path is what precedes a trailing split name
        paths.append(dedup_against if Path(dedup_against).exists() else (dedup_against.rpartition(":")[0] or dedup_against))
    for spec in paths:
        if not spec.startswith("hf:") and not Path(spec).exists():
            raise UsageProblem(f"{spec}: no such file or directory")

    from fakescope.eval.evaluate import EvalOptions, evaluate as run

    # A polite kill (SIGTERM) ends like Ctrl-C: the rows scored so far are flushed for a resume.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    options = EvalOptions(data=data, out=out, model=model, split=split, format=format, degrade=list(degrade or []),
                          align_format=align_format, threshold=threshold, tta=views, batch_size=batch_size, max_samples=max_samples,
                          dedup_against=dedup_against, predictions_format=predictions, bootstrap=bootstrap, device=device, threads=threads,
                          resume=resume, progress=progress, report=report, engine=engine, workers=workers,
                          ray_address=ray_address)
    try:
        doc = run(options)
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None
    _print_summary(doc)
    emit_json(doc)


def _print_summary(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table("condition", "n", "accuracy", "real acc", "fake acc", "AUROC", "AP", "EER", title="fakescope evaluate")
    f = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for name, res in doc["conditions"].items():
        m = res["overall"]
        table.add_row(name, str(m["n"]), f(m["accuracy"]), f(m["real_accuracy"]), f(m["fake_accuracy"]), f(m["auroc"]),
                      f(m["ap"]), f(m["eer"]))
    console.print(table)
    outputs = doc["outputs"]
    console.print(f"written: {outputs['metrics']}, {outputs['predictions']}" + (f", {outputs['report']}" if "report" in outputs else ""),
                  markup=False, highlight=False)
