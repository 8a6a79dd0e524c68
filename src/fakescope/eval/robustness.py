"""`fakescope benchmark robustness`: `evaluate` with GenImage's degradations for several models, drawn
in one chart. Each model's full evaluation (metrics.json, predictions, report) lands in OUT/<model>/;
OUT/robustness.json, OUT/robustness.csv and OUT/report.html put them side by side.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fakescope.errors import UserError
from fakescope.utils.atomic import atomic_write_json, atomic_write_text

from . import plots
from .evaluate import EvalOptions, evaluate
from .published import GENIMAGE_CITATION, GENIMAGE_RESNET50_DEGRADED, is_genimage
from .report import Figures, esc, kv_table, note, num, section, table, with_ci, write_page

CSV_FIELDS = ("model", "condition", "n", "n_real", "n_fake", "accuracy", "accuracy_low", "accuracy_high", "real_accuracy",
              "fake_accuracy", "auroc", "auroc_low", "auroc_high", "ap", "eer")


@dataclass
class RobustnessOptions:
    models: list[str]
    data: str
    out: str
    degrade: list[str] = field(default_factory=lambda: ["genimage"])
    evaluate: dict[str, Any] = field(default_factory=dict)  # further EvalOptions (split, align_format, max_samples, ...)


def _names(models: list[str]) -> list[str]:
    """A short, unique, file-safe name per model directory: its folder name, or parent_folder when
    folder names clash (runs/a/model, runs/b/model), numbered as a last resort."""
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"

    from fakescope.models.hub import is_hub_spec

    # hf:OWNER/NAME[@REV] is named like the folder OWNER/NAME[@REV], never resolved against the cwd
    paths = [Path(m.partition(":")[2]) if is_hub_spec(m) else Path(m).resolve() for m in models]
    bases = [safe(p.name) for p in paths]
    if len(set(bases)) < len(bases):
        bases = [safe(f"{p.parent.name}_{p.name}") for p in paths]
    out: list[str] = []
    for base in bases:
        name, k = base, 2
        while name in out:
            name, k = f"{base}-{k}", k + 1
        out.append(name)
    return out


def robustness(opts: RobustnessOptions) -> dict[str, Any]:
    if not opts.models:
        raise UserError("give at least one --model")
    names = _names(opts.models)
    base = EvalOptions(data=opts.data, out=opts.out, degrade=list(opts.degrade))
    try:
        base = replace(base, **opts.evaluate)
    except TypeError as exc:
        raise UserError(f"unknown evaluate option: {exc}") from None
    docs: dict[str, dict[str, Any]] = {}
    for name, model in zip(names, opts.models):
        docs[name] = evaluate(replace(base, model=model, out=str(Path(opts.out) / name)))
    conditions = list(next(iter(docs.values()))["conditions"])
    result = {
        "fakescope_robustness": 1,
        "data": {k: next(iter(docs.values()))["data"][k] for k in ("spec", "format", "split", "fingerprint")},
        "conditions": [c for c in next(iter(docs.values()))["protocol"]["conditions"]],
        "alignment": next(iter(docs.values()))["protocol"]["alignment"],
        "models": {name: {"dir": docs[name]["model"]["dir"], "architecture": docs[name]["model"]["architecture"],
                          "weights_sha256": docs[name]["model"]["weights_sha256"], "evaluation": f"{name}/metrics.json",
                          "conditions": {c: docs[name]["conditions"][c]["overall"] for c in conditions}}
                   for name in names},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": asdict(opts),
    }
    out = Path(opts.out)
    atomic_write_json(out / "robustness.json", result)
    atomic_write_text(out / "robustness.csv", _csv(result, conditions))
    page, figures = _report(out, result, conditions, docs)
    result["outputs"] = {"json": "robustness.json", "csv": "robustness.csv", "report": page.name, "figures": figures}
    atomic_write_json(out / "robustness.json", result)
    return result


def _csv(result: dict[str, Any], conditions: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for name, m in result["models"].items():
        for c in conditions:
            o = m["conditions"][c]
            ci_a, ci_u = o.get("accuracy_ci95") or {}, o.get("auroc_ci95") or {}
            w.writerow({"model": name, "condition": c, "n": o["n"], "n_real": o["n_real"], "n_fake": o["n_fake"],
                        "accuracy": o["accuracy"], "accuracy_low": ci_a.get("low"), "accuracy_high": ci_a.get("high"),
                        "real_accuracy": o["real_accuracy"], "fake_accuracy": o["fake_accuracy"], "auroc": o["auroc"],
                        "auroc_low": ci_u.get("low"), "auroc_high": ci_u.get("high"), "ap": o["ap"], "eer": o["eer"]})
    return buf.getvalue()


def _report(out: Path, result: dict[str, Any], conditions: list[str], docs: dict[str, dict[str, Any]]) -> tuple[Path, list[str]]:
    figs = Figures(out)
    models = result["models"]
    for metric, label in (("accuracy", "accuracy"), ("auroc", "AUROC")):
        series = {n: [m["conditions"][c][metric] for c in conditions] for n, m in models.items()}
        cis = {n: [_ci(m["conditions"][c].get(f"{metric}_ci95")) for c in conditions] for n, m in models.items()}
        figs.add(f"robustness_{metric}", plots.robustness_figure(conditions, series, cis, ylabel=label,
                                                                 title=f"{label} across test conditions (bands: 95% CI)"))
    head = ("model", *conditions)
    rows_acc = [[esc(n), *[with_ci(m["conditions"][c]["accuracy"], m["conditions"][c].get("accuracy_ci95")) for c in conditions]]
                for n, m in models.items()]
    rows_auc = [[esc(n), *[with_ci(m["conditions"][c]["auroc"], m["conditions"][c].get("auroc_ci95")) for c in conditions]]
                for n, m in models.items()]
    ops = kv_table((c["name"], esc(c["operation"])) for c in result["conditions"])
    parts = [
        f"<p>{len(models)} model(s) on <code>{esc(result['data']['spec'])}</code>, split <b>{esc(result['data']['split'])}</b>. "
        f"Every condition is applied identically to both classes. Format alignment: {esc(result['alignment']['operation'])}.</p>",
        section("Accuracy and AUROC per condition", figs.row(("robustness_accuracy", "Accuracy at each model's threshold."),
                                                              ("robustness_auroc", "AUROC (threshold-free)."))),
        section("Accuracy [95% CI]", table(head, rows_acc)),
        section("AUROC [95% CI]", table(head, rows_auc)),
    ]
    first = next(iter(docs.values()))["data"]
    if is_genimage(set(first["generators"]), first["format"]):
        rows = [[esc(c), num(GENIMAGE_RESNET50_DEGRADED[c] / 100),
                 *[num(docs[n]["conditions"].get(c, {}).get("per_generator", {}).get("SD14", {}).get("accuracy")) for n in models]]
                for c in conditions if c in GENIMAGE_RESNET50_DEGRADED]
        if rows:
            parts.append(section("Published: GenImage Table 5 (published, not ours)",
                                 table(("condition", "ResNet-50 trained on SD1.4 (published)", *[f"{n}: SD14 fakes vs all reals" for n in models]), rows),
                                 note(f"{esc(GENIMAGE_CITATION)}: ResNet-50 trained and tested on the SD1.4 subset. Our columns use this "
                                      "split's SD14 fakes against all its reals; the training sets differ.")))
    parts.append(section("Conditions", ops))
    parts.append(section("Models", kv_table((n, f"<code>{esc(m['dir'])}</code> ({esc(m['architecture'])}, "
                                                f"{esc(m['weights_sha256'][:12])}); full report: <code>{esc(n)}/report.html</code>")
                                               for n, m in models.items())))
    page = write_page(out / "report.html", f"Robustness: {len(models)} model(s) on {Path(str(result['data']['spec'])).name}",
                      esc(f"fakescope benchmark robustness, {result['date']}"), "".join(parts))
    return page, figs.relative()


def _ci(ci: dict[str, float] | None) -> tuple[float, float] | None:
    return (ci["low"], ci["high"]) if ci else None
