"""`train(options)`: the whole training run, top to bottom, as plain functions.

setup (device, DDP, data selection, model) -> for each epoch: train_one_epoch, validate, log,
checkpoint, keep the best -> write the model directory. Resumes from OUT/checkpoint when present.
"""

from __future__ import annotations

import json
import math
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from fakescope.data import FAKE, REAL, open_source
from fakescope.data.filtered import first_samples, leave_out, only_subset
from fakescope.data.selection import Selection, SplitStats, generator_vocabulary, narrow, scan_records
from fakescope.errors import UserError
from fakescope.models import ModelConfig, create_model, default_preprocess, get_spec, save_model
from fakescope.models.hub import is_hub_spec, resolve_model
from fakescope.models.io import is_model_dir, read_config, warm_start
from fakescope.models.net import fake_probability, generator_probabilities
from fakescope.models.preprocess import prepare, to_input
from fakescope.utils.atomic import append_jsonl, atomic_write_json, atomic_write_text
from fakescope.utils.environment import environment_record
from fakescope.utils.progress import progress_bar

from . import distributed as D
from .augment import crop_and_flip, image_augment, train_transform
from .checkpoint import TrainState, find_checkpoint, load_checkpoint, save_checkpoint
from .data import IGNORE_GENERATOR, SampleStream, collate
from .options import TrainOptions
from .validate import selection_metric, validate, write_scores

LOG_FILE = "train_log.jsonl"
BEST_DIR = "best"
VAL_SCORES = "val_scores.csv"  # the final in-memory model's validation scores (reload checks)


@dataclass
class DataPlan:
    train_source: Any
    val_source: Any
    train_selection: Selection
    val_selection: Selection
    train_stats: SplitStats
    val_stats: SplitStats
    description: dict[str, Any]


def _open(spec: str, opts: TrainOptions, **kw: Any) -> Any:
    """A data source; with --streaming a hub dataset is streamed and cut to its first --max-samples rows."""
    if not (opts.streaming and str(spec).startswith("hf:")):
        return open_source(spec, **kw)
    return first_samples(open_source(spec, streaming=True, **kw), int(opts.max_samples or 0))


def plan_data(opts: TrainOptions) -> DataPlan:
    """Which samples train and which validate. Never the test split unless named explicitly."""
    source = _open(opts.data, opts, format=opts.format)
    if opts.subset is not None:
        source = only_subset(source, opts.subset)
    if opts.exclude_subset is not None:
        source = leave_out(source, opts.exclude_subset)
    splits = source.splits()
    train_split = opts.split or ("train" if "train" in splits else splits[0] if len(splits) == 1 else None)
    if train_split is None:
        raise UserError(f"{opts.data} has splits {splits}: choose the training split with --split")
    train_source = source.with_split(train_split)
    if opts.val_data is not None:
        val_source = _open(opts.val_data, opts, split=opts.val_split)
        if opts.subset is not None:
            val_source = only_subset(val_source, opts.subset)
        if opts.exclude_subset is not None:
            val_source = leave_out(val_source, opts.exclude_subset)
        train_sel, val_sel = Selection(), Selection()
        how = f"{opts.val_data} [{opts.val_split or 'all splits'}]"
    else:
        own_val = opts.val_split or next((s for s in ("val", "validation", "valid") if s in splits), None)
        if own_val is not None and own_val != train_split:
            val_source = source.with_split(own_val)
            train_sel, val_sel = Selection(), Selection()
            how = f"split {own_val!r} of the training source"
        else:
            val_source = train_source
            train_sel = Selection(holdout_fraction=opts.val_fraction, side="train")
            val_sel = Selection(holdout_fraction=opts.val_fraction, side="val")
            how = f"{opts.val_fraction:.0%} of split {train_split!r} held out by key hash"
    train_records = scan_records(train_source)
    val_records = train_records if val_source is train_source else scan_records(val_source)
    train_sel, train_stats = narrow(train_records, train_sel, opts.max_samples)
    val_cap = None if opts.max_samples is None else max(64, opts.max_samples // 4)
    val_sel, val_stats = narrow(val_records, val_sel, val_cap)
    if train_stats.labels[REAL] == 0 or train_stats.labels[FAKE] == 0:
        if opts.task != "generator":
            raise UserError(f"training data needs both classes; found {train_stats.as_dict()}")
    description = {
        "source": opts.data,
        "format": train_source.format,
        "split": train_split,
        "subset": opts.subset,
        "excluded_subset": opts.exclude_subset,
        "fingerprint": train_source.fingerprint(),
        "selection": {"holdout_fraction": train_sel.holdout_fraction, "side": train_sel.side, "max_samples": opts.max_samples},
        "train": train_stats.as_dict(),
        "validation": {"how": how, **val_stats.as_dict()},
    }
    return DataPlan(train_source, val_source, train_sel, val_sel, train_stats, val_stats, description)


def lr_at(step: int, total: int, base: float, schedule: str, warmup: int) -> float:
    """Learning rate at optimiser step `step` of `total`: linear warm-up, then the schedule.

    "onecycle" is cosine with at least 15 % warm-up; "step" divides by 10 at 1/3 and 2/3.
    """
    if schedule == "onecycle":
        warmup = max(warmup, int(0.15 * total))
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule in ("cosine", "onecycle"):
        return base * 0.5 * (1.0 + math.cos(math.pi * t))
    if schedule == "step":
        return base * (0.1 ** int(3 * min(t, 0.999)))
    return base


def compute_loss(out: dict[str, torch.Tensor], labels: torch.Tensor, gens: torch.Tensor, opts: TrainOptions,
                 pos_weight: torch.Tensor | None, class_weight: torch.Tensor | None) -> torch.Tensor:
    loss = torch.zeros((), device=labels.device)
    if "binary" in out:
        target = labels.float()
        if opts.label_smoothing:
            target = target * (1 - opts.label_smoothing) + 0.5 * opts.label_smoothing
        loss = loss + F.binary_cross_entropy_with_logits(out["binary"].float(), target, pos_weight=pos_weight)
    if "generator" in out and (gens != IGNORE_GENERATOR).any():
        weight = opts.generator_loss_weight if "binary" in out else 1.0
        loss = loss + weight * F.cross_entropy(out["generator"].float(), gens, weight=class_weight,
                                               ignore_index=IGNORE_GENERATOR, label_smoothing=opts.label_smoothing)
    return loss


def _loader(stream: SampleStream, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    # A private generator: creating an iterator draws a seed from it, and drawing from the global
    # torch RNG instead would shift dropout masks after a resume (our streams seed themselves).
    return DataLoader(stream, batch_size=batch_size, num_workers=workers, collate_fn=collate,
                      pin_memory=device.type == "cuda", persistent_workers=False,
                      generator=torch.Generator().manual_seed(stream.seed))


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision`; None means full fp32.

    "auto": bf16 (or fp16 where bf16 is missing) on CUDA, fp32 on CPU. bf16 on CPU is opt-in: it
    is ~1.6x faster for the small CNNs on CPUs with AVX512-BF16/AMX, but only there.
    """
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or device.type != "cuda":
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(dtype: torch.dtype | None, device: torch.device):
    if dtype is None:
        return nullcontext
    return partial(torch.autocast, device_type=device.type, dtype=dtype)


def train(opts: TrainOptions) -> Path:
    """Train a detector as `opts` describes and write its model directory to `opts.out`."""
    device = D.resolve_device(opts.device, D.local_rank_from_env())
    ctx = D.init_distributed(device)
    try:
        return _train(opts, device, ctx)
    finally:
        D.shutdown(ctx)


def _train(opts: TrainOptions, device: torch.device, ctx: D.DistContext) -> Path:
    spec = get_spec(opts.model)
    opts = opts.resolved(spec.train_defaults)
    out = Path(opts.out)
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed)
    t_start = time.time()
    say = (lambda msg: tqdm.write(msg, file=sys.stderr)) if ctx.is_main else (lambda msg: None)

    plan = plan_data(opts)
    vocab = generator_vocabulary(plan.train_stats) if opts.task in ("generator", "both") else []
    pre = default_preprocess(opts.model, opts.arch_args, input_size=opts.image_size, resize=opts.resize)
    config = ModelConfig(architecture=opts.model, task=opts.task, preprocess=pre, arch_args=opts.arch_args,
                         generators=vocab, name=opts.name, tta=opts.tta, multicrop=opts.multicrop)
    # With multi-crop the network trains on single crops of the crop size at random native positions;
    # validation scores the canvas through the model's own multi-crop forward (the inference path).
    train_pre = replace(pre, input_size=opts.multicrop.size) if opts.multicrop is not None else pre
    model = create_model(config)
    if opts.pretrained:  # rank 0 first, so a download happens once; the others then read the cache
        if not ctx.is_main:
            D.barrier(ctx)
        config.training = {"pretrained": _initialise(model, config, opts, say)}
        if ctx.is_main:
            D.barrier(ctx)
    say(f"train: {plan.description['train']}  validation: {plan.description['validation']}")

    eval_tf = lambda im, rng: prepare(im, pre)  # noqa: E731
    per_image = None
    if opts.patches_per_image > 1:  # blur/JPEG once per decoded image, crop and flip per patch
        per_image = lambda im, rng: image_augment(im, opts.augment, rng)  # noqa: E731
        train_tf = lambda im, rng: crop_and_flip(im, train_pre, opts.augment, rng)  # noqa: E731
    else:
        train_tf = lambda im, rng: train_transform(im, train_pre, opts.augment, rng)  # noqa: E731
    workers = opts.workers
    train_stream = SampleStream(plan.train_source, plan.train_selection, train_tf, vocab, seed=opts.seed, shuffle=True,
                                rank=ctx.rank, world_size=ctx.world_size, patches=opts.patches_per_image,
                                per_image=per_image)
    val_stream = SampleStream(plan.val_source, plan.val_selection, eval_tf, vocab, seed=opts.seed, shuffle=False,
                              rank=ctx.rank, world_size=ctx.world_size)
    val_loader = _loader(val_stream, opts.batch_size, workers, device)

    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    D.barrier(ctx)

    if spec.fit == "features":
        from .fit_features import fit_feature_model

        # With the native-resolution options, or augmentations asked for (JPEG re-encoding of both classes
        # is what format-aligns the training data), the features are fitted on the augmented training
        # views (several per image with --patches-per-image); otherwise on the evaluation view of each image.
        aug = opts.augment
        native = opts.multicrop is not None or opts.patches_per_image > 1 or aug.jpeg_prob > 0 or aug.blur_prob > 0
        fit_stream = SampleStream(plan.train_source, plan.train_selection, train_tf if native else eval_tf, vocab,
                                  seed=opts.seed, shuffle=False, rank=ctx.rank, world_size=ctx.world_size,
                                  patches=opts.patches_per_image, per_image=per_image)
        val_metrics, val_parts = fit_feature_model(model, config, _loader(fit_stream, opts.batch_size, workers, device),
                                                   val_loader, ctx, opts)
        return _finish(out, model, config, opts, plan, ctx, val_metrics, val_parts, epochs_run=1, best_epoch=0,
                       t_start=t_start, images_per_s=None)

    model.to(device)
    model = model.to(memory_format=torch.channels_last)  # measured ~1.5-2x faster convolutions on CPU too
    net: torch.nn.Module = model
    if ctx.enabled:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)

    state = TrainState(options_hash=opts.identity_hash(), config=config.to_dict())
    ckpt = find_checkpoint(out) if opts.resume else None
    if ckpt is not None:
        from .checkpoint import read_train_state

        previous = read_train_state(ckpt)
        if previous.options_hash != state.options_hash:
            raise UserError(f"{out} holds a checkpoint of a different run (other data or options): "
                             "use another --out, or --no-resume to start over")
        state = load_checkpoint(ckpt, model, optimizer)
        say(f"resuming from {ckpt}: {state.epoch} epoch(s) done, step {state.step_in_epoch} of epoch {state.epoch + 1}")
        if ctx.is_main:
            _truncate_log(out / LOG_FILE, state.epoch)
    elif ctx.is_main:
        (out / LOG_FILE).unlink(missing_ok=True)

    n_local = math.ceil(plan.train_stats.n * opts.patches_per_image / ctx.world_size)
    steps_per_epoch = max(1, math.ceil(n_local / opts.batch_size))
    total_steps = steps_per_epoch * opts.epochs
    warmup = int(opts.warmup_epochs * steps_per_epoch)
    pos_weight, class_weight = _balance_weights(opts, plan.train_stats, vocab, device)
    amp_dtype = autocast_dtype(opts.precision, device)
    autocast = _autocast(amp_dtype, device)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None

    val_metrics: dict[str, Any] = {}
    val_parts: dict[str, np.ndarray] | None = None
    images_per_s = None
    for epoch in range(state.epoch, opts.epochs):
        train_stream.set_epoch(epoch)
        net.train()
        skip = state.step_in_epoch
        seen = correct = 0
        loss_sum = 0.0
        t0 = time.time()
        bar = progress_bar(total=steps_per_epoch, initial=skip, desc=f"epoch {epoch + 1}/{opts.epochs}", unit="step",
                           enabled=ctx.is_main and opts.progress, mininterval=1.0)
        join = torch.distributed.algorithms.join.Join([net]) if ctx.enabled else nullcontext()
        with join:
            for step, batch in enumerate(_loader(train_stream, opts.batch_size, workers, device)):
                if step < skip:  # fast-forward to the mid-epoch checkpoint: same data, same augmentations
                    continue
                for origin, reason in batch.skipped:
                    say(f"skipped {origin}: {reason}")
                if len(batch) == 0 and not ctx.enabled:
                    continue
                lr = lr_at(state.global_step, total_steps, opts.lr, opts.schedule, warmup)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x = to_input(batch.images, train_pre).to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                y, g = batch.labels.to(device), batch.generators.to(device)
                with autocast():
                    output = net(x)
                loss = compute_loss(output, y, g, opts, pos_weight, class_weight) if len(batch) else \
                    sum(p.sum() * 0.0 for p in params)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                state.global_step += 1
                state.step_in_epoch = step + 1
                if len(batch):
                    with torch.no_grad():
                        pred = _train_predictions(output)
                        target = y if "binary" in output else g
                        correct += int((pred == target).sum())
                    seen += len(batch)
                    loss_sum += loss.item() * len(batch)
                elapsed = max(time.time() - t0, 1e-6)
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / max(seen, 1):.4f}", img_s=f"{seen * ctx.world_size / elapsed:.0f}", lr=f"{lr:.2e}")
                if opts.checkpoint_every and state.global_step % opts.checkpoint_every == 0 and ctx.is_main:
                    save_checkpoint(out, model, optimizer, state)
        bar.close()
        seconds = time.time() - t0
        totals = D.all_reduce_sum(ctx, [loss_sum, float(seen), float(correct)])
        images_per_s = totals[1] / seconds if seconds > 0 else None

        # Validation runs in fp32 whatever the training precision: its numbers are what a reloaded model gives.
        val_metrics, val_parts = validate(net, val_loader, config, device, ctx, nullcontext)
        metric = selection_metric(val_metrics, config)
        improved = metric is not None and (state.best_metric is None or metric > state.best_metric)
        if improved:
            state.best_metric, state.best_epoch, state.epochs_without_improvement = metric, epoch, 0
        else:
            state.epochs_without_improvement += 1
        record = {"epoch": epoch + 1, "train_loss": totals[0] / max(totals[1], 1), "train_accuracy": totals[2] / max(totals[1], 1),
                  "train_images": int(totals[1]), "images_per_s": round(images_per_s or 0, 1), "seconds": round(seconds, 1),
                  "lr_end": lr_at(state.global_step - 1, total_steps, opts.lr, opts.schedule, warmup),
                  "val": val_metrics, "selection_metric": metric, "best_epoch": (state.best_epoch or 0) + 1}
        state.epoch, state.step_in_epoch = epoch + 1, 0
        stop = opts.early_stopping is not None and state.epochs_without_improvement >= opts.early_stopping
        if ctx.is_main:
            append_jsonl(out / LOG_FILE, record)
            if improved:
                _write_model(out / BEST_DIR, model, config, opts, plan, val_metrics, epoch + 1, t_start, images_per_s, ctx)
            save_checkpoint(out, model, optimizer, state)
            say(f"epoch {epoch + 1}: loss {record['train_loss']:.4f}  val {_short(val_metrics)}  {images_per_s:.0f} img/s")
        stop = D.broadcast_object(ctx, stop)
        D.barrier(ctx)
        if stop:
            say(f"early stopping: no validation improvement for {opts.early_stopping} epoch(s)")
            break

    return _finish(out, model, config, opts, plan, ctx, val_metrics, val_parts, epochs_run=state.epoch,
                   best_epoch=state.best_epoch, t_start=t_start, images_per_s=images_per_s)


def _truncate_log(path: Path, epochs_done: int) -> None:
    """Drop log lines of epochs the checkpoint does not contain (killed after logging, before saving)."""
    if not path.exists():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    kept = [ln for ln in lines if json.loads(ln).get("epoch", 0) <= epochs_done]
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(ln + "\n" for ln in kept))


def _train_predictions(output: dict[str, torch.Tensor]) -> torch.Tensor:
    if "binary" in output:
        return (output["binary"] > 0).long()
    return output["generator"].argmax(1)


def _balance_weights(opts: TrainOptions, stats: SplitStats, vocab: list[str], device: torch.device):
    if not opts.balance:
        return None, None
    real, fake = stats.labels[REAL], stats.labels[FAKE]
    pos_weight = torch.tensor(real / max(fake, 1), device=device)
    class_weight = None
    if vocab:
        counts = np.array([real] + [stats.generators.get(g, 0) for g in vocab[1:]], dtype=np.float64)
        w = counts.sum() / (len(counts) * np.maximum(counts, 1))
        class_weight = torch.tensor(w, dtype=torch.float32, device=device)
    return pos_weight, class_weight


def _short(metrics: dict[str, Any]) -> str:
    keys = ("accuracy", "auroc", "top1_accuracy", "macro_f1")
    parts = []
    for head in ("binary", "generator"):
        for k in keys:
            v = metrics.get(head, {}).get(k)
            if v is not None:
                parts.append(f"{k} {v:.4f}")
    return ", ".join(parts) or "n/a"


def _initialise(model: torch.nn.Module, config: ModelConfig, opts: TrainOptions, say: Any) -> dict[str, Any]:
    """Start from --pretrained: a fakescope model (a directory or hf:OWNER/NAME) is fine-tuned whole;
    anything else is backbone weights the backbone resolves (a file, timm/open_clip names, hf-hub: ids)."""
    spec = str(opts.pretrained)
    local = resolve_model(spec) if is_hub_spec(spec) else Path(spec)
    if is_model_dir(local):
        say(f"initialised from {spec}: {warm_start(model, config, local)}")
        cfg = read_config(local)
        return {"spec": spec, "model_dir": str(local), "weights_sha256": cfg.card.get("weights_sha256")}
    loader_fn = getattr(model.backbone, "load_pretrained", None)
    if loader_fn is None:
        raise UserError(f"{opts.model} cannot load --pretrained weights")
    info = loader_fn(spec)
    say(f"pretrained weights {spec}: {info}")
    return {"spec": spec, **info}


def _write_model(directory: Path, model: torch.nn.Module, config: ModelConfig, opts: TrainOptions, plan: DataPlan,
                 val_metrics: dict[str, Any], epoch: int, t_start: float, images_per_s: float | None,
                 ctx: D.DistContext) -> None:
    config.metrics = {"validation": val_metrics, "epoch": epoch}
    config.training = {
        "options": opts.to_dict(),
        "seed": opts.seed,
        "data": plan.description,
        "epochs_completed": epoch,
        "world_size": ctx.world_size,
        "seconds": round(time.time() - t_start, 1),
        "train_images_per_s": round(images_per_s, 1) if images_per_s else None,
        "environment": environment_record(),
        "pretrained": config.training.get("pretrained"),  # set by _initialise: what the weights started from
        "probe": config.training.get("probe"),  # set by a cross-validated closed-form fit: the C it chose
    }
    save_model(model, config, directory)


def _finish(out: Path, model: torch.nn.Module, config: ModelConfig, opts: TrainOptions, plan: DataPlan,
            ctx: D.DistContext, val_metrics: dict[str, Any], val_parts: dict[str, np.ndarray] | None, *,
            epochs_run: int, best_epoch: int | None, t_start: float, images_per_s: float | None) -> Path:
    if ctx.is_main:
        if val_parts is not None:
            write_scores(out / VAL_SCORES, val_parts)
        model_cpu = model.to("cpu").to(memory_format=torch.contiguous_format)
        _write_model(out, model_cpu, config, opts, plan, val_metrics, epochs_run, t_start, images_per_s, ctx)
        if not (out / BEST_DIR).exists():  # closed-form fits have one result: it is also the best
            _write_model(out / BEST_DIR, model_cpu, config, opts, plan, val_metrics, epochs_run, t_start, images_per_s, ctx)
        from .domain import record_domain

        record_domain([out, out / BEST_DIR], plan, lambda m: tqdm.write(m, file=sys.stderr), accepts=opts.accepts)
        atomic_write_json(out / "train_summary.json", {"model_dir": str(out), "best_dir": str(out / BEST_DIR),
                                                       "best_epoch": (best_epoch or 0) + 1, "epochs": epochs_run,
                                                       "validation": val_metrics, "data": plan.description})
    D.barrier(ctx)
    return out
