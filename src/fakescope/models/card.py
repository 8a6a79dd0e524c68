"""MODEL_CARD.md of a shipped model, generated from what was measured and a small recipe file.

    from fakescope.models.card import rebuild_card
    text = rebuild_card("src/fakescope/weights/default")   # == MODEL_CARD.md, byte for byte

The numbers come from the model directory's `config.json`: `card` (the build's evaluations as
`scripts/build_default_model.py` summarised them, the training facts), `operating_point` and
`domain` (written by `fakescope calibrate`). The words that are not measurements (what the model
is for, the published reference, the target, the limitations, which commands the verdicts came
from) are in `card.toml` beside it. Nothing in the card is typed by hand, so rebuilding reproduces
it, every section included.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import tomllib
from pathlib import Path
from string import Template
from typing import Any

CARD_RECIPE = "card.toml"
CARD_FILE = "MODEL_CARD.md"
PROSE_WIDTH = 100  # the Verdicts paragraph is wrapped as a person would wrap it in an editor


def read_recipe(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    return tomllib.loads((Path(model_dir) / CARD_RECIPE).read_text(encoding="utf-8"))


def rebuild_card(model_dir: str | os.PathLike[str]) -> str:
    """The card of `model_dir` from its config.json and card.toml (nothing is evaluated)."""
    directory = Path(model_dir)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    return render_card(config, read_recipe(directory))


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def facts(config: dict[str, Any]) -> dict[str, str]:
    """Numbers the recipe's sentences may name (`$blur3_accuracy`): each condition's accuracy in %."""
    conditions = config["card"]["metrics"]["cifake_test"]["conditions"]
    return {f"{re.sub(r'[^a-z0-9]', '', name)}_accuracy": pct(m["accuracy"]) for name, m in conditions.items()}


def condition_table(summary: dict[str, Any]) -> list[str]:
    rows = ["| condition | n | accuracy % (95% CI) | real acc % | fake acc % | AUROC (95% CI) | AP | EER % |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in summary["conditions"].items():
        ci, aci = m.get("accuracy_ci95") or {}, m.get("auroc_ci95") or {}
        rows.append(f"| {name} | {m['n']} | {pct(m['accuracy'])} ({pct(ci.get('low'))}-{pct(ci.get('high'))}) | "
                    f"{pct(m['real_accuracy'])} | {pct(m['fake_accuracy'])} | {m['auroc']:.4f} "
                    f"({aci.get('low', float('nan')):.4f}-{aci.get('high', float('nan')):.4f}) | {m['ap']:.4f} | "
                    f"{pct(m['eer'])} |")
    return rows


def render_card(config: dict[str, Any], recipe: dict[str, Any]) -> str:
    card = config["card"]
    main = card["metrics"]["cifake_test"]
    clean = main["conditions"]["clean"]
    tr = card["training"]
    target = recipe["target"]
    pre = config["preprocess"]
    met = clean["accuracy"] >= target["accuracy"] and clean["auroc"] >= target["auroc"]
    lines = [
        f"# Model card: {config.get('name') or 'fakescope default'}",
        "",
        recipe["intro"],
        "",
        f"- Architecture: `{config['architecture']}` {json.dumps(config.get('arch_args') or {})}, binary head "
        f"(P(fake)), threshold {config['threshold']}.",
        f"- Input: {pre['input_size']} x {pre['input_size']} px, `{pre['resize']}` ({pre['interpolation']}): "
        + recipe["input_note"],
        f"- Weights: `model.safetensors`, SHA-256 `{card['weights_sha256']}`.",
        "",
        f"## Headline ({recipe['headline_data']})",
        "",
        f"Accuracy **{pct(clean['accuracy'])} %** (real {pct(clean['real_accuracy'])} %, fake "
        f"{pct(clean['fake_accuracy'])} %), AUROC **{clean['auroc']:.4f}**, AP {clean['ap']:.4f}, on "
        f"n = {clean['n']} images ({main['dropped_duplicates']} test images byte-identical to training images removed). "
        f"Published reference: {recipe['published']}",
        "",
        f"Target set for this model: accuracy >= {pct(target['accuracy'])} % and AUROC >= {target['auroc']}: "
        + ("met." if met else f"**not reached** ({pct(clean['accuracy'])} %, {clean['auroc']:.4f}) {target['shortfall']}."),
        "",
        "## Training",
        "",
        f"- Data: {recipe['training_data']}",
        f"- Recipe: {tr['recipe']}",
        f"- Hardware: {tr['hardware']}; wall time {tr['wall_minutes']} min, {tr['images_per_s']} images/s in the last epoch.",
        f"- Reproduce: `{tr['command']}`, the baseline's command below, then "
        f"`python scripts/build_default_model.py --run runs/{card['run_name']} --baseline runs/{card.get('baseline_name', 'BASELINE')}`.",
        "",
        "## Clean and degraded (same protocol as README's main job)",
        "",
        f"`{main['command']}`",
        "",
        *condition_table(main),
        "",
        recipe["degradation_note"],
        "",
    ]
    lines += _ablation(card, recipe)
    lines += _out_of_domain(card)
    lines += ["## Limitations", "", *[f"- {Template(x).substitute(facts(config))}" for x in recipe["limitations"]], ""]
    lines += _verdicts(config, recipe)
    return "\n".join(lines)


def _ablation(card: dict[str, Any], recipe: dict[str, Any]) -> list[str]:
    ablation = card.get("ablation")
    if not ablation:
        return []
    main, tr = card["metrics"]["cifake_test"], card["training"]
    lines = ["## JPEG augmentation: against a baseline trained without it", "",
             "| model | clean accuracy % | clean AUROC | JPEG-75 accuracy % | JPEG-75 AUROC | JPEG-30 accuracy % |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, s in (("without JPEG augmentation", ablation["baseline"]), ("shipped (with JPEG augmentation)", main)):
        c, j, j30 = s["conditions"]["clean"], s["conditions"]["jpeg:75"], s["conditions"].get("jpeg:30", {})
        lines.append(f"| {label} | {pct(c['accuracy'])} | {c['auroc']:.4f} | {pct(j['accuracy'])} | "
                     f"{j['auroc']:.4f} | {pct(j30.get('accuracy'))} |")
    b, s = ablation["baseline"]["conditions"], main["conditions"]
    lines += ["", f"JPEG 75 re-encoding costs the baseline {100 * (b['clean']['accuracy'] - b['jpeg:75']['accuracy']):.2f} "
              f"points and the shipped model {100 * (s['clean']['accuracy'] - s['jpeg:75']['accuracy']):.2f}; against "
              f"the baseline, the shipped model's JPEG-75 accuracy is {100 * (s['jpeg:75']['accuracy'] - b['jpeg:75']['accuracy']):+.2f} "
              f"points and its clean accuracy {100 * (s['clean']['accuracy'] - b['clean']['accuracy']):+.2f} (allowed: -0.50). "
              + recipe["ablation_note"] + " "
              + ("The baseline differs from the shipped recipe in more than JPEG augmentation (both recipes below), "
                 "so the gap is the whole recipe's, not the augmentation's alone. "
                 if ablation["recipe_differs_beyond_jpeg"] else "")
              + ("The 95 % intervals (about +-0.35 points) cover these differences."
                 if abs(s['jpeg:75']['accuracy'] - b['jpeg:75']['accuracy']) < 0.0035 else ""),
              "", f"Shipped recipe: {tr['recipe']}", f"Baseline recipe: {ablation['baseline_recipe']}",
              f"Baseline training: `{ablation.get('baseline_command') or 'see its config.json'}`",
              f"Baseline evaluation: `{ablation['baseline']['command']}`", ""]
    return lines


def _out_of_domain(card: dict[str, Any]) -> list[str]:
    ood = card["metrics"].get("out_of_domain") or {}
    if not ood:
        return []
    lines = ["## Out of domain (reported as measured)", "",
             "| data | what | n | accuracy % | real acc % | fake acc % | AUROC |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, s in ood.items():
        c = s["conditions"]["clean"]
        lines.append(f"| {name} | {s['what']} | {c['n']} | {pct(c['accuracy'])} | {pct(c['real_accuracy'])} | "
                     f"{pct(c['fake_accuracy'])} | {c['auroc']:.4f} |")
    return lines + ["", "Commands:", *[f"- `{s['command']}`" for s in ood.values()], ""]


def _verdicts(config: dict[str, Any], recipe: dict[str, Any]) -> list[str]:
    """Where the model answers (its domain and operating point) and how often it is then wrong,
    on its own test split and on the sets outside its world (card.verdicts: `evaluate`'s "verdicts")."""
    words = recipe.get("verdicts")
    measured = config["card"].get("verdicts")
    if not words or not measured:
        return []
    op, domain = config["operating_point"], config["domain"]
    ood, sizes = domain["ood"], domain["sizes"]
    w, h = sizes["width"], sizes["height"]
    size = f"{w['min']} x {h['min']} px" if w["min"] == w["max"] and h["min"] == h["max"] else \
        f"{w['min']}-{w['max']} x {h['min']}-{h['max']} px"
    test = measured["test"]["overall"]

    def ci(name: str) -> str:
        low, high = test[f"{name}_ci95"]["low"], test[f"{name}_ci95"]["high"]
        return f"[{pct(low)}, {pct(high)}]"

    elsewhere = measured.get("elsewhere") or {}
    outside = [name for name, v in elsewhere.items() if v["overall"]["coverage"] == 0]
    wrong = max((v["overall"]["wrong_verdict_rate"] for v in elsewhere.values()), default=0.0)
    rest = (f"on {_join(list(elsewhere))} every image is outside its domain (wrong-verdict rate {100 * wrong:.0f} %)"
            if elsewhere and len(outside) == len(elsewhere) else
            "; ".join(f"on {name}: coverage {pct(v['overall']['coverage'])} %, wrong-verdict rate "
                      f"{pct(v['overall']['wrong_verdict_rate'])} %" for name, v in elsewhere.items()))
    paragraph = (
        f"on {words['holdout']} ({op['n']:,} images, {words['holdout_share']}): fake at P(fake) >= "
        f"{op['fake_at']:.3f} ({100 * op['target_fpr']:g} % FPR), real below {op['real_below']:.3f} "
        f"({100 * op['target_fnr']:g} % FNR), uncertain between; size domain {size} and a "
        f"{ood['method'].capitalize()} OOD cut at the {100 * ood['quantile']:g}th percentile of the hold-out "
        f"(`{ood['file']}`). On {words['test']} (`{measured['test']['command']}`): coverage "
        f"{pct(test['coverage'])} % {ci('coverage')}, accuracy among answered {pct(test['accuracy_answered'])} % "
        f"{ci('accuracy_answered')}, wrong-verdict rate {pct(test['wrong_verdict_rate'])} %"
        + (f"; {rest}." if rest else "."))
    return ["## Verdicts: domain and operating point", "", f"`{words['calibrate']}`",
            textwrap.fill(paragraph, width=PROSE_WIDTH, break_on_hyphens=False, break_long_words=False), ""]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
