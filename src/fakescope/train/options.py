"""Training options: one typed dataclass; the CLI maps its flags onto it one to one.

Options left as None take the detector's own defaults (registry `train_defaults`, then the
generic ones below), the way timm's `create_model` drops None kwargs so CLI defaults never
override a model's own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any
from fakescope.errors import UserError
from fakescope.models.config import MultiCropConfig, check_tta

# probe_c: inverse regularisation of closed-form heads (fit="features"); 0 chooses it by cross-validation.
GENERIC_DEFAULTS: dict[str, Any] = {"epochs": 5, "batch_size": 64, "lr": 1e-3, "weight_decay": 1e-4, "probe_c": 1.0}
SCHEDULES = ("cosine", "onecycle", "step", "constant")

# Options that change what is trained (a resumed run must match them); the rest (workers, device,
# progress) only change how fast it runs.
_IDENTITY = (
    "data", "split", "model", "task", "epochs", "batch_size", "lr", "weight_decay", "schedule", "warmup_epochs",
    "image_size", "resize", "seed", "val_data", "val_split", "val_fraction", "augment", "balance", "max_samples",
    "pretrained", "arch_args", "generator_loss_weight", "label_smoothing", "format", "precision",
)


@dataclass
class AugmentOptions:
    """Training augmentations, CNNDetection-style (blur and JPEG with probability each)."""

    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 100)
    blur_prob: float = 0.0
    blur_sigma: tuple[float, float] = (0.0, 3.0)
    flip: bool = True
    crop: bool = True  # random instead of centre crop (policy "crop"/"resize_crop"), pad-and-crop for "resize"

    def __post_init__(self) -> None:
        self.jpeg_quality = tuple(int(v) for v in self.jpeg_quality)  # type: ignore[assignment]
        self.blur_sigma = tuple(float(v) for v in self.blur_sigma)  # type: ignore[assignment]
        for name in ("jpeg_prob", "blur_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{name} must be in [0, 1]")
        lo, hi = self.jpeg_quality
        if not 1 <= lo <= hi <= 100:
            raise UserError("jpeg quality range must satisfy 1 <= low <= high <= 100")


@dataclass
class TrainOptions:
    data: str
    model: str
    out: str
    task: str = "binary"
    split: str | None = None  # training split; default "train", else "all"
    format: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    image_size: int | None = None
    resize: str | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU), fp32, bf16, fp16
    workers: int = 0
    val_data: str | None = None
    val_split: str | None = None
    val_fraction: float = 0.1
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    balance: bool = False
    early_stopping: int | None = None  # epochs without validation improvement before stopping
    max_samples: int | None = None
    pretrained: str | None = None
    arch_args: dict[str, Any] = field(default_factory=dict)
    generator_loss_weight: float = 1.0
    label_smoothing: float = 0.0
    checkpoint_every: int = 0  # also checkpoint every N optimiser steps inside an epoch (0: epoch ends only)
    resume: bool = True
    progress: bool = True
    name: str | None = None
    # Test-time views recorded in the model's config (models/tta.py); validation scores with them.
    # Not part of the run's identity: training itself is the same with or without them.
    tta: list[str] = field(default_factory=list)
    # Train and validate only on samples whose `subset` is this (a GenImage subset, a Community
    # Forensics generator pair): the cross-generator protocol's one-detector-per-subset runs.
    subset: str | None = None
    # Stream hub datasets (`hf:`) instead of downloading them; with --max-samples N the run reads the
    # first N rows of each split (a stream has no size to plan a uniform subset over).
    streaming: bool = False
    # Train on every sample except the fakes of this subset (leave-one-generator-out).
    exclude_subset: str | None = None
    # Native-resolution training: each image gives this many random crops per epoch (decoded once).
    patches_per_image: int = 1
    # Multi-crop inference recorded in the config (models/multicrop.py); training crops are its size.
    multicrop: MultiCropConfig | None = None
    # A declared size/format rule for the model's domain (models/domain.py `declared_accepts`), recorded
    # instead of the training-size rule; not part of the run's identity (it changes no weight).
    accepts: dict[str, Any] | None = None
    probe_c: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            self.augment = AugmentOptions(**self.augment)
        if isinstance(self.multicrop, dict):
            self.multicrop = MultiCropConfig(**self.multicrop)
        if self.patches_per_image < 1:
            raise UserError("patches_per_image must be at least 1")
        if self.subset is not None and self.exclude_subset is not None:
            raise UserError("choose either a subset to train on or one to leave out, not both")
        if self.schedule not in SCHEDULES:
            raise UserError(f"schedule {self.schedule!r} not in {SCHEDULES}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise UserError(f"precision {self.precision!r} not in auto, fp32, bf16, fp16")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError("val_fraction must be between 0 and 1")
        if self.max_samples is not None and self.max_samples < 2:
            raise UserError("max_samples must be at least 2")
        if self.streaming and (self.max_samples is None or not str(self.data).startswith("hf:")):
            raise UserError("--streaming reads a hub dataset (hf:OWNER/NAME) and needs --max-samples N: "
                            "the run reads the first N rows of each split")
        self.tta = check_tta(self.tta, "--tta")

    def resolved(self, train_defaults: dict[str, Any]) -> "TrainOptions":
        """A copy with every None hyper-parameter filled from the detector's, then the generic, defaults."""
        values = asdict(self)
        values["augment"] = AugmentOptions(**values["augment"])
        values["multicrop"] = MultiCropConfig(**values["multicrop"]) if values["multicrop"] else None
        for key, generic in GENERIC_DEFAULTS.items():
            if values.get(key) is None:
                values[key] = train_defaults.get(key, generic)
        return TrainOptions(**values)

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        ident = {k: d[k] for k in _IDENTITY}
        # Only when set: checkpoints written before these options existed still resume.
        for key, unset in (("subset", None), ("exclude_subset", None), ("patches_per_image", 1), ("multicrop", None),
                           ("streaming", False), ("probe_c", 1.0)):
            if d[key] != unset:
                ident[key] = d[key]
        return ident

    def identity_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
