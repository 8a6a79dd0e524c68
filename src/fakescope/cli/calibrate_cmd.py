"""`fakescope calibrate`: fit a model's domain, OOD score and operating point on validation data."""

from __future__ import annotations

from typing import Optional

import typer

from .app import UsageProblem, app, emit_json, user_errors


@app.command("calibrate")
@user_errors
def calibrate(
    model: str = typer.Argument(..., help="Model directory (model.safetensors + config.json); written in place."),
    data: str = typer.Option(..., "--data", help="Validation source (folder, parquet, manifest, hf:...); never a test split."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to calibrate on (default: val/validation, else the "
                                        "model's training split with its own hold-out)."),
    fpr: float = typer.Option(0.01, "--fpr", help="Stated false-positive rate: reals called fake (sets fake_at)."),
    fnr: float = typer.Option(0.05, "--fnr", help="Stated false-negative rate: fakes called real (sets real_below)."),
    holdout: Optional[float] = typer.Option(None, "--holdout", help="Hold out this fraction of the split by key hash "
                                            "(automatic, as in training, when the split is the model's training data)."),
    ood_method: str = typer.Option("auto", "--ood-method", help="OOD score: mahalanobis, mahalanobis-pca (low-rank), energy, or auto (mahalanobis up to 512 features, mahalanobis-pca above)."),
    ood_quantile: float = typer.Option(0.995, "--ood-quantile", help="OOD threshold: this quantile of the validation images' scores."),
    fit_samples: int = typer.Option(20000, "--fit-samples", min=2, help="Training images the OOD statistics are fitted on."),
    ood_reference: Optional[list[str]] = typer.Option(
        None, "--ood-reference", help="SOURCE[:SPLIT] outside the model's world (repeatable): measures how well each OOD "
                                      "method separates it (recorded; not fitted on)."),
    accept_sizes: Optional[str] = typer.Option(None, "--accept-sizes", help="Declare the sizes the model judges, MIN[-MAX] px per side (e.g. 64-), instead of its training sizes; a rule already declared is kept otherwise."),
    any_format: bool = typer.Option(False, "--any-format", help="Declare that the model judges any container format."),
    batch_size: int = typer.Option(128, "--batch-size", min=1),
    device: str = typer.Option("cpu", "--device"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """Write config.json "domain" + "operating_point" and ood.safetensors into MODEL (atomically);
    print what was written as JSON."""
    import shlex
    import sys
    from pathlib import Path

    if not (Path(model) / "config.json").is_file():
        raise UsageProblem(f"{model} is not a model directory (no config.json)")
    for name, rate in (("--fpr", fpr), ("--fnr", fnr)):
        if not 0.0 <= rate < 1.0:
            raise UsageProblem(f"{name} {rate} must be in [0, 1)")
    if not 0.5 <= ood_quantile < 1.0:
        raise UsageProblem(f"--ood-quantile {ood_quantile} must be in [0.5, 1)")
    from fakescope.models.ood import OOD_METHODS

    if ood_method != "auto" and ood_method not in OOD_METHODS:
        raise UsageProblem(f"--ood-method must be auto or one of {', '.join(OOD_METHODS)}")
    if threads:
        import torch

        torch.set_num_threads(threads)
    from fakescope.models.domain import parse_accepts
    from fakescope.verdict.calibrate import calibrate as run

    say = lambda m: typer.echo(m, err=True)  # noqa: E731
    result = run(model, data, split, fpr=fpr, fnr=fnr, holdout=holdout, ood_method=ood_method, ood_quantile=ood_quantile,
                 fit_samples=fit_samples, references=list(ood_reference or []), batch_size=batch_size, device=device,
                 accepts=parse_accepts(accept_sizes, any_format, "declared with fakescope calibrate"), say=say)
    result["command"] = "fakescope " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    op = result["operating_point"]
    v = op["validation"]
    say(f"operating point: fake at >= {op['fake_at']:.4g}, real below {op['real_below']:.4g}; on the validation data "
        f"FPR {v['fpr']:.4f}, FNR {v['fnr']:.4f}, coverage {v['coverage']:.4f}, accuracy among answered "
        f"{v['accuracy_answered']:.4f}; OOD threshold {result['domain']['ood']['threshold']:.4g} "
        f"({result['domain']['ood']['method']})")
    emit_json(result)
