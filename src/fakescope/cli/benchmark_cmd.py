"""`fakescope benchmark ...`: the field's protocols, recorded: cross-generator and robustness."""

from __future__ import annotations

import json
from typing import Optional

import typer

from .app import UsageProblem, app, emit_json, user_errors

benchmark_app = typer.Typer(help="Benchmark protocols: cross-generator matrices, robustness to degradations, re-tests of published detectors.",
                            no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("cross-generator")
@user_errors
def cross_generator(
    data: str = typer.Option(..., "--data", help="A source whose samples have subsets (GenImage tree, Community Forensics, per-generator folders)."),
    model: str = typer.Option(..., "--model", help="Detector name to train per subset (see `fakescope models`), e.g. spectral."),
    out: str = typer.Option(..., "--out", help="Output folder: crossgen.json, crossgen_*.csv, report.html, models/."),
    format: Optional[str] = typer.Option(None, "--format", help="Force the data format."),
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Training split (default: train, or the only split)."),
    test_split: Optional[str] = typer.Option(None, "--test-split", help="Test split (default: test, else val, else a hold-out)."),
    test_fraction: float = typer.Option(0.3, "--test-fraction", help="Hold-out share for test when there is a single split."),
    subset: Optional[list[str]] = typer.Option(None, "--subset", help="Only these subsets (repeat the option)."),
    min_test_per_class: int = typer.Option(1, "--min-test-per-class", min=1, help="A cell needs this many real and fake test images."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Training epochs (default: the detector's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Training and scoring batch size."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Override the detector's input size."),
    resize: Optional[str] = typer.Option(None, "--resize", help="Override the resize policy: resize, resize_crop or crop."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Training seed (default 0)."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=2, help="Train each detector on at most N samples."),
    arch_args: Optional[str] = typer.Option(None, "--arch-args", help="Architecture arguments as JSON."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda (training)."),
    pretrained: Optional[str] = typer.Option(None, "--pretrained", help="Start every detector from these weights (as train --pretrained: timm, timm:NAME.TAG, hf-hub:ID, a file)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's choice)."),
    retrain: bool = typer.Option(False, "--retrain", help="Retrain detectors already trained in OUT/models by the same run."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    leave_one_out: bool = typer.Option(False, "--leave-one-out", help="Instead: per generator, train on all others (+ reals), test on its fakes vs the test reals; raw and aligned."),
    align_format: str = typer.Option("jpeg:96", "--align-format", help="--leave-one-out: the aligned scoring (jpeg:QUALITY or png)."),
    jpeg_prob: Optional[float] = typer.Option(None, "--jpeg-prob", help="Training: probability of random JPEG re-encoding (both classes)."),
    jpeg_quality: Optional[str] = typer.Option(None, "--jpeg-quality", help="Training: JPEG quality range LOW-HIGH."),
    patches_per_image: Optional[int] = typer.Option(None, "--patches-per-image", min=1, help="Training: random crops per image and epoch."),
    multicrop: Optional[int] = typer.Option(None, "--multicrop", min=1, help="Detectors judge from K native crops (see train --multicrop)."),
    crop_size: int = typer.Option(128, "--crop-size", min=8, help="Crop size for --multicrop."),
) -> None:
    """GenImage's cross-generator protocol: one detector per subset, tested on every subset; prints crossgen.json.

    With --leave-one-out: one detector per held-out generator; prints leaveout.json."""
    if not 0.0 < test_fraction < 1.0:  # checked before the heavy imports: a typo answers at once
        raise UsageProblem(f"--test-fraction must be between 0 and 1, not {test_fraction}")
    from fakescope.eval.crossgen import CrossGenOptions, cross_generator as run

    try:
        args = json.loads(arch_args) if arch_args else None
    except ValueError as exc:
        raise UsageProblem(f"--arch-args is not JSON: {exc}") from None
    train = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "image_size": image_size, "resize": resize, "seed": seed,
             "max_samples": max_samples, "arch_args": args, "device": device, "pretrained": pretrained}
    if jpeg_prob is not None or jpeg_quality is not None:
        lo, _, hi = (jpeg_quality or "30-100").partition("-")
        try:
            train["augment"] = {"jpeg_prob": 1.0 if jpeg_prob is None else jpeg_prob, "jpeg_quality": (int(lo), int(hi or lo))}
        except ValueError:
            raise UsageProblem(f"--jpeg-quality expects LOW-HIGH, got {jpeg_quality!r}") from None
    if leave_one_out:
        from fakescope.eval.leaveout import LeaveOneOutOptions, leave_one_out as run_loo

        if patches_per_image is not None:
            train["patches_per_image"] = patches_per_image
        if multicrop is not None:
            train["multicrop"] = {"crops": multicrop, "size": crop_size}
        loo = run_loo(LeaveOneOutOptions(
            data=data, model=model, out=out, format=format, train_split=train_split, test_split=test_split,
            test_fraction=test_fraction, subsets=list(subset) if subset else None, min_test_per_class=min_test_per_class,
            align_format=align_format, train={k: v for k, v in train.items() if v is not None},
            batch_size=batch_size or 64, threads=threads, progress=progress, retrain=retrain))
        means = loo["mean"]
        typer.echo(f"leave-one-out: {len(loo['rows'])} held-out generators, mean AUROC raw {means['raw']['auroc']}, "
                   f"aligned {means['aligned']['auroc']}; {out}/leaveout.csv", err=True)
        emit_json(loo)
        return
    if patches_per_image is not None or multicrop is not None:
        raise UsageProblem("--patches-per-image and --multicrop are for --leave-one-out (train them with fakescope train)")
    options = CrossGenOptions(data=data, model=model, out=out, format=format, train_split=train_split, test_split=test_split,
                              test_fraction=test_fraction, subsets=list(subset) if subset else None,
                              min_test_per_class=min_test_per_class, train={k: v for k, v in train.items() if v is not None},
                              batch_size=batch_size or 64, threads=threads, progress=progress, retrain=retrain)
    doc = run(options)
    overall = doc["overall_mean"]["value"]
    typer.echo(f"cross-generator: {len(doc['subsets'])}x{len(doc['subsets'])} matrix, overall mean accuracy "
               f"{'n/a' if overall is None else f'{overall:.3f}'}; report {out}/report.html", err=True)
    emit_json(doc)


@benchmark_app.command("robustness")
@user_errors
def robustness(
    model: list[str] = typer.Option(..., "--model", help="Model directory or hf:OWNER/NAME[@REVISION]; repeat for several models."),
    data: str = typer.Option(..., "--data", help="Test source."),
    out: str = typer.Option(..., "--out", help="Output folder: robustness.json/.csv, report.html, one evaluation per model."),
    split: Optional[str] = typer.Option(None, "--split", help="Test split (default: test, else val, else the only split)."),
    degrade: Optional[list[str]] = typer.Option(None, "--degrade", help="Conditions (default: genimage = GenImage Table 5's six)."),
    align_format: Optional[str] = typer.Option(None, "--align-format", help="jpeg:QUALITY or png: re-encode every image first."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=2, help="Uniform subset of N test images."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's choice)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """`evaluate --degrade genimage` for each model, drawn in one chart; prints robustness.json."""
    from fakescope.eval.robustness import RobustnessOptions, robustness as run

    options = RobustnessOptions(models=list(model), data=data, out=out, degrade=list(degrade or ["genimage"]),
                                evaluate={"split": split, "align_format": align_format, "max_samples": max_samples,
                                          "batch_size": batch_size, "bootstrap": bootstrap, "threads": threads,
                                          "progress": progress})
    doc = run(options)
    typer.echo(f"robustness: {len(doc['models'])} model(s) x {len(doc['conditions'])} condition(s); report {out}/report.html", err=True)
    emit_json(doc)


@benchmark_app.command("published")
@user_errors
def published(
    models: list[str] = typer.Option(..., "--models", "--model", help="Converted model directory (or hf:OWNER/NAME); repeat for several."),
    data: str = typer.Option(..., "--data", help="Test source."),
    out: str = typer.Option(..., "--out", help="Output folder: retest.json/.csv/.md, report.html, raw and aligned evaluations per model."),
    split: Optional[str] = typer.Option(None, "--split", help="Test split (default: test, else val, else the only split)."),
    align: str = typer.Option("jpeg:96", "--align", help="Format alignment of the aligned column: jpeg:QUALITY or png."),
    degrade: Optional[list[str]] = typer.Option(None, "--degrade", help="Conditions (default: genimage = GenImage Table 5's six)."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=2, help="Uniform subset of N test images."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's choice)."),
    model_reports: bool = typer.Option(True, "--model-reports/--no-model-reports",
                                       help="Also write each evaluation's own report.html with figures (slower)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Re-test published detectors: raw, format-aligned and degraded, one DDA-style table; prints retest.json."""
    from fakescope.eval.retest import RetestOptions, retest

    options = RetestOptions(models=list(models), data=data, out=out, align=align, degrade=list(degrade or ["genimage"]),
                            evaluate={"split": split, "max_samples": max_samples, "batch_size": batch_size,
                                      "bootstrap": bootstrap, "threads": threads, "progress": progress,
                                      "report": model_reports})
    doc = retest(options)
    typer.echo(f"published re-test: {len(doc['models'])} model(s) x {len(doc['columns'])} column(s); "
               f"table {out}/retest.md, report {out}/report.html", err=True)
    emit_json(doc)
