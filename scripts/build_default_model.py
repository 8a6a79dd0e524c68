"""Evaluate a trained run with the default model's protocol and package it as the shipped model.

    python scripts/build_default_model.py --run runs/default [--baseline runs/noaug] \
        [--out src/fakescope/weights/default] [--train-command "..."]
    fakescope calibrate src/fakescope/weights/default --data ../shared/data/cifake-parquet --fpr 0.01 --fnr 0.01
    python scripts/build_default_model.py --verdicts     # evaluate the calibrated model's verdicts
    python scripts/build_default_model.py --card-only    # re-render MODEL_CARD.md, evaluate nothing

1. `fakescope evaluate` of RUN (and of BASELINE, the same recipe without JPEG augmentation) on
   the cifake-parquet test split, de-duplicated against its train split, clean and under
   GenImage's six degradations plus JPEG 75: the very command README's main job runs, so the
   report it writes shows the numbers of the card.
2. Out-of-domain evaluations of RUN (GenImage, Tiny GenImage, Community Forensics samples,
   format-aligned where the classes differ in format), reported as they are.
3. OUT/model.safetensors + OUT/config.json (the run's config with a `card`: recipe, commands,
   hardware, metrics) + OUT/MODEL_CARD.md.
4. `--verdicts` (after `fakescope calibrate`): the verdicts of OUT on the test split and on the
   sets OUT/card.toml names, kept in config.json `card.verdicts` for the card's Verdicts section.

The card is rendered by fakescope.models.card from OUT/config.json and OUT/card.toml (the words
that are not measurements), so `--card-only` reproduces the committed card byte for byte.

Evaluations already done for the same weights are reused (the evaluate command resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakescope.models.card import CARD_RECIPE, read_recipe, rebuild_card

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CIFAKE = "cifake-parquet"
MAIN_CONDITIONS = "genimage,jpeg:75"
# (name in the card, data folder, extra evaluate arguments, what it shows)
OUT_OF_DOMAIN = [
    ("genimage-tree (aligned jpeg:96)", "genimage-tree", ["--align-format", "jpeg:96"],
     "GenImage's 8 generators, large images resized to 32 px; real JPEG vs fake PNG removed by alignment"),
    ("tiny-genimage-sample", "tiny-genimage-sample", [], "Tiny GenImage rows, 8 generators"),
    ("commfor-sample", "commfor-sample", [], "Community Forensics rows, many generator families"),
]
KEYS = ("n", "n_real", "n_fake", "accuracy", "real_accuracy", "fake_accuracy", "balanced_accuracy", "auroc", "ap",
        "eer", "tpr_at_fpr_1pct", "ece", "accuracy_ci95", "auroc_ci95")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fakescope() -> str:
    return str(Path(sys.executable).with_name("fakescope"))


def evaluate_command(model: Path, data: str, out: Path, extra: list[str]) -> list[str]:
    return [fakescope(), "evaluate", "--model", str(model), "--data", data, "--out", str(out), "--no-progress", *extra]


def main_protocol_args(shared: Path) -> list[str]:
    """The card's protocol on CIFAKE: test split de-duplicated against train, GenImage's six + JPEG 75."""
    return ["--split", "test", "--dedup-against", f"{shared / CIFAKE}:train", "--degrade", MAIN_CONDITIONS]


def shown(cmd: list[str], shared: Path, run: Path | None = None) -> str:
    """A command as a reader re-types it: `fakescope`, ../shared/data, runs/default, not this machine's paths."""
    text = " ".join(cmd).replace(fakescope(), "fakescope")
    if run is not None:
        text = text.replace(str(run), f"runs/{run.name}")
    return text.replace(str(shared), "../shared/data")


def run_eval(model: Path, data: str, out: Path, extra: list[str], shared: Path) -> dict[str, Any]:
    """Run `fakescope evaluate` (or reuse its finished result for the same weights and command)."""
    cmd = evaluate_command(model, data, out, extra)
    stamp = out / "card_command.json"
    sha = json.loads((model / "config.json").read_text())["card"]["weights_sha256"]
    if not (stamp.is_file() and json.loads(stamp.read_text()) == {"command": cmd, "weights": sha}):
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        stamp.write_text(json.dumps({"command": cmd, "weights": sha}))
    doc = json.loads((out / "metrics.json").read_text())
    doc["_command"] = shown(cmd, shared, model)
    return doc


def describe_recipe(config: dict[str, Any], jpeg: bool = True) -> str:
    """A run's recipe in one line, from the options its config.json recorded (`jpeg=False` leaves the
    JPEG augmentation out: what must match for the baseline to be a clean ablation)."""
    opts = config.get("training", {}).get("options", {})
    aug = opts.get("augment", {})
    tta = ", ".join(config.get("tta") or []) or "none"
    jpeg_part = f"JPEG p={aug.get('jpeg_prob')} quality {aug.get('jpeg_quality')}, " if jpeg else ""
    return (f"`{config['architecture']}` {json.dumps(config.get('arch_args') or {})}, {opts.get('epochs')} epochs, "
            f"batch {opts.get('batch_size')}, AdamW lr {opts.get('lr')} ({opts.get('schedule')}), weight decay "
            f"{opts.get('weight_decay')}, {opts.get('precision')} autocast, seed {opts.get('seed')}; augmentation: flips "
            f"{aug.get('flip')}, random crop {aug.get('crop')}, {jpeg_part}blur p={aug.get('blur_prob')}; "
            f"test-time augmentation: {tta}")


def bench_command(run: Path, shared: Path) -> str | None:
    bench = run / "benchmark.json"
    if not bench.is_file():
        return None
    text = shown(json.loads(bench.read_text())["command"].split(), shared, run)
    # benchmark.json keeps the argv joined by spaces: quote the JSON argument again for a shell
    return re.sub(r"--arch-args (\{.*?\})(?= --|$)", r"--arch-args '\1'", text)


def pick(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in KEYS if k in metrics}


def summarise(doc: dict[str, Any]) -> dict[str, Any]:
    """Per condition the overall numbers (and per generator for the clean condition)."""
    conditions = {name: pick(c["overall"]) for name, c in doc["conditions"].items()}
    clean = doc["conditions"]["clean"]
    return {"data": doc["data"]["spec"], "split": doc["data"]["split"], "alignment": doc["protocol"]["alignment"],
            "dedup": doc["protocol"]["dedup"].get("description"), "dropped_duplicates": doc["protocol"]["dedup"]["dropped"],
            "conditions": conditions,
            "per_generator_clean": {g: pick(m) for g, m in (clean.get("per_generator") or {}).items()},
            "command": doc["_command"]}


def verdict_summary(doc: dict[str, Any], command: str) -> dict[str, Any]:
    """What the card's Verdicts section quotes of an evaluation's "verdicts" (clean images)."""
    return {"command": command, "overall": doc["verdicts"]["overall"]}


def evaluate_verdicts(out: Path, shared: Path, work: Path) -> dict[str, Any]:
    """The shipped directory's verdicts (as `fakescope evaluate` with no --model gives them, so after
    calibrate) on the CIFAKE test split and on each set the recipe's [verdicts] names."""
    recipe = read_recipe(out)
    env = {**os.environ, "FAKESCOPE_MODEL": str(out)}
    runs = [("test", [*main_protocol_args(shared)[:4]], str(shared / CIFAKE))]
    runs += [(name, [], str(shared / name)) for name in recipe["verdicts"]["elsewhere"]]
    found: dict[str, Any] = {"elsewhere": {}}
    for name, extra, data in runs:
        dest = work / f"verdicts-{name}"
        cmd = [fakescope(), "evaluate", "--data", data, *extra, "--out", str(dest), "--no-progress", "--no-report"]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        doc = json.loads((dest / "metrics.json").read_text())
        shown_cmd = shown([fakescope(), "evaluate", "--data", data, *extra], shared)
        if name == "test":
            found["test"] = verdict_summary(doc, shown_cmd)
        else:
            found["elsewhere"][name] = verdict_summary(doc, shown_cmd)
    return found


def write_card(out: Path) -> None:
    (out / "MODEL_CARD.md").write_text(rebuild_card(out), encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, help="trained model directory (fakescope train --out)")
    p.add_argument("--baseline", type=Path, help="the same recipe trained without JPEG augmentation")
    p.add_argument("--out", type=Path, default=ROOT / "src" / "fakescope" / "weights" / "default")
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--hardware", default=f"{cpu_name()}, {os.cpu_count()} CPU cores, no GPU")
    p.add_argument("--name", help="the model's name in its config (default: the run's)")
    p.add_argument("--note", default="", help="a sentence about how the training ran (e.g. shared with another job)")
    p.add_argument("--verdicts", action="store_true", help="evaluate OUT's verdicts (after calibrate) and re-render the card")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "card", help="where --verdicts writes its evaluations")
    p.add_argument("--card-only", action="store_true", help="re-render OUT/MODEL_CARD.md from config.json and card.toml")
    args = p.parse_args()
    if args.card_only or args.verdicts:
        if args.verdicts:
            config = json.loads((args.out / "config.json").read_text())
            config["card"]["verdicts"] = evaluate_verdicts(args.out, args.shared, args.work)
            (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        write_card(args.out)
        print(args.out / "MODEL_CARD.md")
        return
    if args.run is None:
        p.error("--run is required (or --verdicts / --card-only)")

    run_cfg = json.loads((args.run / "config.json").read_text())
    bench = json.loads((args.run / "benchmark.json").read_text()) if (args.run / "benchmark.json").is_file() else {}
    main_doc = run_eval(args.run, str(args.shared / CIFAKE), args.run / "eval-cifake", main_protocol_args(args.shared), args.shared)
    metrics: dict[str, Any] = {"cifake_test": summarise(main_doc)}
    ood: dict[str, Any] = {}
    for name, folder, extra, what in OUT_OF_DOMAIN:
        if (args.shared / folder).exists():
            s = summarise(run_eval(args.run, str(args.shared / folder), args.run / f"eval-{folder}", extra, args.shared))
            ood[name] = {**s, "what": what}
    metrics["out_of_domain"] = ood

    t = run_cfg.get("training", {})
    recipe = describe_recipe(run_cfg)
    card: dict[str, Any] = dict(run_cfg.get("card", {}))
    card.update({
        "run_name": args.run.name,
        "summary": "CIFAKE-trained compact CNN: real photographs (CIFAR-10) vs Stable Diffusion 1.4 images at 32 px.",
        "training": {
            "recipe": recipe,
            "hardware": args.hardware + (f" ({args.note})" if args.note else ""),
            "wall_minutes": round(float(bench.get("train_wall_seconds") or t.get("seconds") or 0) / 60, 1),
            "images_per_s": bench.get("train_images_per_s_last_epoch"),
            "command": bench_command(args.run, args.shared) or "see training.options in config.json",
        },
        "metrics": metrics,
    })
    card.pop("verdicts", None)  # new weights: the verdicts are measured again after calibrate (--verdicts)
    if args.baseline:
        base_doc = run_eval(args.baseline, str(args.shared / CIFAKE), args.baseline / "eval-cifake",
                            main_protocol_args(args.shared), args.shared)
        base_cfg = json.loads((args.baseline / "config.json").read_text())
        card["baseline_name"] = args.baseline.name
        card["ablation"] = {"baseline": summarise(base_doc),
                            "baseline_recipe": describe_recipe(base_cfg),
                            "recipe_differs_beyond_jpeg": describe_recipe(base_cfg, jpeg=False) != describe_recipe(run_cfg, jpeg=False),
                            "baseline_command": bench_command(args.baseline, args.shared),
                            "baseline_weights_sha256": base_cfg.get("card", {}).get("weights_sha256")}
    run_cfg["card"] = card
    if args.name:
        run_cfg["name"] = args.name
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.run / "model.safetensors", args.out / "model.safetensors")
    (args.out / "config.json").write_text(json.dumps(run_cfg, indent=2) + "\n")
    if not (args.out / CARD_RECIPE).is_file():
        shutil.copyfile(ROOT / "src" / "fakescope" / "weights" / "default" / CARD_RECIPE, args.out / CARD_RECIPE)
    write_card(args.out)
    print(json.dumps({"out": str(args.out), "clean": metrics["cifake_test"]["conditions"]["clean"]}, indent=1))


if __name__ == "__main__":
    main()
