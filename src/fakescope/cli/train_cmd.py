"""`fakescope train`: train a registered detector on any supported dataset form."""

from __future__ import annotations

import json
from typing import Optional

import typer

from .app import UsageProblem, app, user_errors

AUGMENT_PRESETS = {
    "none": {"jpeg_prob": 0.0, "blur_prob": 0.0},
    # Wang et al. (CNNDetection): Gaussian blur sigma~U[0,3] and JPEG quality~U[30,100], each with p=0.5
    "cnndetection": {"jpeg_prob": 0.5, "jpeg_quality": (30, 100), "blur_prob": 0.5, "blur_sigma": (0.0, 3.0)},
}


def _range(text: Optional[str], cast: type, name: str) -> Optional[tuple]:
    if text is None:
        return None
    try:
        lo, _, hi = text.partition("-")
        return (cast(lo), cast(hi or lo))
    except ValueError:
        raise UsageProblem(f"{name} expects LOW-HIGH, got {text!r}") from None


@app.command("train")
@user_errors
def train(
    data: str = typer.Option(..., "--data", help="Training source (folder, parquet, manifest, hf:...)."),
    model: str = typer.Option(..., "--model", help="Detector name (see `fakescope models`), e.g. cnn-small, timm:resnet50."),
    out: str = typer.Option(..., "--out", help="Output model directory (also holds checkpoints and the log)."),
    task: str = typer.Option("binary", "--task", help="binary (real/fake), generator (attribution), or both."),
    split: Optional[str] = typer.Option(None, "--split", help="Training split (default: train, or the only split)."),
    format: Optional[str] = typer.Option(None, "--format", help="Force the data format."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs (default: the detector's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Batch size per process."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (AdamW)."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", help="AdamW weight decay."),
    schedule: str = typer.Option("cosine", "--schedule", help="cosine, onecycle, step or constant."),
    warmup_epochs: float = typer.Option(0.0, "--warmup-epochs", min=0.0, help="Linear warm-up length in epochs."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Override the detector's input size."),
    resize: Optional[str] = typer.Option(None, "--resize", help="Override the resize policy: resize, resize_crop or crop."),
    seed: int = typer.Option(0, "--seed", help="Random seed (data order, init, augmentation)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 on CUDA, fp32 on CPU), fp32, bf16 or fp16 autocast."),
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes per training process."),
    val_data: Optional[str] = typer.Option(None, "--val-data", help="Validation source (default: a val split, else a hold-out)."),
    val_split: Optional[str] = typer.Option(None, "--val-split", help="Split of the validation source."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Hold-out fraction when no validation data exists."),
    augment: str = typer.Option("none", "--augment", help=f"Augmentation preset: {', '.join(AUGMENT_PRESETS)}."),
    jpeg_prob: Optional[float] = typer.Option(None, "--jpeg-prob", help="Probability of random JPEG re-encoding."),
    jpeg_quality: Optional[str] = typer.Option(None, "--jpeg-quality", help="JPEG quality range LOW-HIGH."),
    blur_prob: Optional[float] = typer.Option(None, "--blur-prob", help="Probability of Gaussian blur."),
    blur_sigma: Optional[str] = typer.Option(None, "--blur-sigma", help="Blur sigma range LOW-HIGH."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Random horizontal flips."),
    crop: bool = typer.Option(True, "--crop/--no-crop", help="Random crop placement."),
    balance: bool = typer.Option(False, "--balance", help="Weight the loss by inverse class frequency."),
    early_stopping: Optional[int] = typer.Option(None, "--early-stopping", min=1, help="Stop after N epochs without validation gain."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", min=2, help="Train on a random subset of N samples."),
    pretrained: Optional[str] = typer.Option(None, "--pretrained", help="Start from: a fakescope model (DIR or hf:OWNER/NAME[@REV]: fine-tune it) or backbone weights: a local file (safetensors or timm/PyTorch), 'timm' (the timm architecture's default tag), timm:NAME.TAG, openclip, openclip:MODEL/TAG, or hf-hub:OWNER/NAME (timm or open_clip layout, as the model's backbone reads)."),
    probe_c: Optional[float] = typer.Option(None, "--probe-c", min=0.0, help="Closed-form heads (spectral, encoder:*): inverse regularisation C; 0 chooses it by 5-fold cross-validation (default: the detector's own, 1 for spectral, 0 for encoder)."),
    arch_args: Optional[str] = typer.Option(None, "--arch-args", help='Architecture arguments as JSON, e.g. \'{"widths": [32, 64, 128]}\'.'),
    generator_loss_weight: float = typer.Option(1.0, "--generator-loss-weight", help="Weight of Task B's loss in --task both."),
    label_smoothing: float = typer.Option(0.0, "--label-smoothing", min=0.0, max=0.5),
    checkpoint_every: int = typer.Option(0, "--checkpoint-every", min=0, help="Also checkpoint every N steps within an epoch."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/checkpoint when present."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    name: Optional[str] = typer.Option(None, "--name", help="A name recorded in the model's config."),
    tta: Optional[list[str]] = typer.Option(None, "--tta", help="Test-time augmentation recorded in the config (repeatable; 'hflip': average with the mirror image)."),
    subset: Optional[str] = typer.Option(None, "--subset", help="Only samples of this subset (a GenImage subset, a Community Forensics generator pair)."),
    streaming: bool = typer.Option(False, "--streaming", help="Stream hf: datasets instead of downloading them (needs --max-samples N: the first N rows of each split)."),
    exclude_subset: Optional[str] = typer.Option(None, "--exclude-subset", help="Every sample except the fakes of this subset (leave-one-generator-out)."),
    accept_sizes: Optional[str] = typer.Option(None, "--accept-sizes", help="Declare the sizes the model judges, MIN[-MAX] px per side (e.g. 64-), instead of the training sizes (recorded in its domain)."),
    any_format: bool = typer.Option(False, "--any-format", help="Declare that the model judges any container format (training must format-align the classes)."),
    patches_per_image: int = typer.Option(1, "--patches-per-image", min=1, help="Random crops per image and epoch (decoded once)."),
    multicrop: Optional[int] = typer.Option(None, "--multicrop", min=1, help="Judge each image from K native crops (recorded in config.json); trains on single crops."),
    crop_size: int = typer.Option(128, "--crop-size", min=8, help="Crop size for --multicrop (the canvas is --image-size)."),
    multicrop_how: str = typer.Option("grid", "--multicrop-how", help="grid (K a square number) or random (seeded)."),
    multicrop_seed: int = typer.Option(0, "--multicrop-seed", help="Seed of the random crop positions."),
) -> None:
    """Train a detector; writes OUT/model.safetensors, config.json, train_log.jsonl and OUT/best/.

    Multi-process: `torchrun --nproc-per-node=N -m fakescope train ...` (DDP; gloo on CPU, nccl on CUDA).
    """
    from fakescope.models import get_spec
    from fakescope.models.config import MultiCropConfig
    from fakescope.models.domain import parse_accepts
    from fakescope.train import AugmentOptions, TrainOptions, train as run

    if task not in ("binary", "generator", "both"):
        raise UsageProblem(f"--task must be binary, generator or both, not {task!r}")
    if augment not in AUGMENT_PRESETS:
        raise UsageProblem(f"--augment must be one of {', '.join(AUGMENT_PRESETS)}")
    get_spec(model)  # unknown detector: exit 2 with the list
    aug = dict(AUGMENT_PRESETS[augment])
    for key, value in {"jpeg_prob": jpeg_prob, "blur_prob": blur_prob,
                       "jpeg_quality": _range(jpeg_quality, int, "--jpeg-quality"),
                       "blur_sigma": _range(blur_sigma, float, "--blur-sigma")}.items():
        if value is not None:
            aug[key] = value
    try:
        args = json.loads(arch_args) if arch_args else {}
        options = TrainOptions(
            data=data, model=model, out=out, task=task, split=split, format=format, epochs=epochs, batch_size=batch_size,
            lr=lr, weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs, image_size=image_size,
            resize=resize, seed=seed, device=device, precision=precision, workers=workers, val_data=val_data, val_split=val_split,
            val_fraction=val_fraction, augment=AugmentOptions(**aug, flip=flip, crop=crop), balance=balance,
            early_stopping=early_stopping, max_samples=max_samples, pretrained=pretrained, arch_args=args,
            generator_loss_weight=generator_loss_weight, label_smoothing=label_smoothing,
            checkpoint_every=checkpoint_every, resume=resume, progress=progress, name=name, subset=subset, tta=list(tta or []),
            streaming=streaming,
            exclude_subset=exclude_subset, patches_per_image=patches_per_image,
            probe_c=probe_c,
            accepts=parse_accepts(accept_sizes, any_format, "declared at training: --accept-sizes/--any-format"),
            multicrop=MultiCropConfig(crops=multicrop, size=crop_size, how=multicrop_how, seed=multicrop_seed) if multicrop else None,
        )
    except (ValueError, TypeError) as exc:
        raise UsageProblem(str(exc)) from None
    result = run(options)
    typer.echo(f"model written to {result}", err=True)
