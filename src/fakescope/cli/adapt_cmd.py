"""`fakescope adapt`: fit a frozen-encoder detector to the user's own labelled images."""

from __future__ import annotations

from typing import Optional

import typer

from .app import UsageProblem, app, emit_json, user_errors

DEFAULT_BASE = "encoder"  # the shipped pretrained-encoder model


@app.command("adapt")
@user_errors
def adapt(
    data: str = typer.Argument(..., help="Your labelled images: a folder with 0_real/1_fake (or real/fake) sub-folders, "
                                         "a CSV/JSONL manifest (path,label), parquet, hf:..."),
    out: str = typer.Option(..., "--out", help="Model directory to write (loadable by every surface and pipelines)."),
    model: str = typer.Option(DEFAULT_BASE, "--model", help="Base model: a frozen-feature detector (a directory, a "
                                                          "shipped name or hf:OWNER/NAME)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split of DATA to use (never a test split)."),
    holdout: float = typer.Option(0.3, "--holdout", help="Share of the images held out to calibrate the operating point."),
    fpr: float = typer.Option(0.05, "--fpr", help="Stated false-positive rate on the hold-out (sets fake_at)."),
    fnr: float = typer.Option(0.05, "--fnr", help="Stated false-negative rate on the hold-out (sets real_below)."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=4, help="Use at most N images (uniform by key hash)."),
    min_per_class: int = typer.Option(8, "--min-per-class", min=2, help="Fewest images of each class on each side of the hold-out."),
    accept_sizes: Optional[str] = typer.Option(None, "--accept-sizes", help="Declare the sizes the adapted model judges, MIN[-MAX] px (default: the base's rule when your images fit it, else your images' sizes)."),
    any_format: bool = typer.Option(False, "--any-format", help="With --accept-sizes: any container format."),
    name: Optional[str] = typer.Option(None, "--name", help="Model name (default: BASE-adapted)."),
    seed: int = typer.Option(0, "--seed"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress on stderr."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """Refit MODEL's head on DATA's frozen features, calibrate it on a hold-out, write OUT with its card; print JSON."""
    for flag, rate in (("--fpr", fpr), ("--fnr", fnr)):
        if not 0.0 <= rate < 1.0:
            raise UsageProblem(f"{flag} {rate} must be in [0, 1)")
    if threads:
        import torch

        torch.set_num_threads(threads)
    from fakescope.models.domain import parse_accepts
    from fakescope.train.adapt import AdaptOptions, adapt as run

    say = lambda m: typer.echo(m, err=True)  # noqa: E731
    opts = AdaptOptions(model=model, data=data, out=out, split=split, holdout=holdout, fpr=fpr, fnr=fnr,
                        max_samples=max_samples, min_per_class=min_per_class, seed=seed, batch_size=batch_size, name=name,
                        progress=progress, accepts=parse_accepts(accept_sizes, any_format, "declared with fakescope adapt"))
    result = run(opts, say=say)
    m = result["measured"]
    say(f"adapted model in {result['model_dir']}: hold-out AUROC {m['adapted_auroc']:.4f} (base {m['base_auroc']:.4f}), "
        f"coverage {m['coverage']:.3f}, wrong verdicts {m['wrong_verdict_rate']:.3f}, {m['seconds']:.0f} s")
    emit_json(result)
