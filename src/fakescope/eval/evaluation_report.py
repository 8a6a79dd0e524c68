"""report.html of `fakescope evaluate`: the page a researcher puts in a paper's appendix.

Title and summary, warnings (format/size bias), the headline table per condition with 95 % CIs and
n, ROC and PR curves, score histograms per class, calibration, per-generator and per-family
results, the robustness chart, Task B's confusion matrix, published references (labelled as such),
the verdicts at the operating point (selective prediction), the evidence the files declare, the
protocol table and the skipped files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import plots
from .report import Figures, badge, esc, kv_table, note, num, section, table, warning, with_ci, write_page

HEADLINE = ("condition", "n (real / fake)", "accuracy [95% CI]", "real acc.", "fake acc.", "balanced acc.",
            "AUROC [95% CI]", "AP", "EER", "TPR@1%FPR", "TPR@5%FPR", "ECE")


def _metric_cells(m: dict[str, Any]) -> list[str]:
    return [f"{m['n_real']:,} / {m['n_fake']:,}", with_ci(m["accuracy"], m.get("accuracy_ci95")), num(m["real_accuracy"]),
            num(m["fake_accuracy"]), num(m["balanced_accuracy"]), with_ci(m["auroc"], m.get("auroc_ci95")), num(m["ap"]),
            num(m["eer"]), num(m["tpr_at_fpr_1pct"]), num(m["tpr_at_fpr_5pct"]), num(m["ece"])]


def _group_table(groups: dict[str, dict[str, Any]], first: str) -> str:
    rows = [[esc(name), *_metric_cells(m)] for name, m in groups.items()]
    return table((first, *HEADLINE[1:]), rows)


def _lookup(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node.get("value") if isinstance(node, dict) and "value" in node else node


def write_evaluation_report(out_dir: Path, doc: dict[str, Any], labels: np.ndarray, scores: dict[str, np.ndarray],
                            evidence_files: list[dict[str, Any]] | None = None) -> tuple[Path, list[str]]:
    """Write OUT/report.html and OUT/figures/*.png; returns the page and the figure paths.
    `evidence_files`: the files whose metadata carries evidence (eval/evidence_report.py)."""
    figs = Figures(out_dir)
    conds = doc["conditions"]
    clean = conds["clean"]["overall"]
    threshold = doc["protocol"]["threshold"]["value"]
    curves = {c: (labels[~np.isnan(s)], s[~np.isnan(s)]) for c, s in scores.items()}
    figs.add("roc", plots.roc_figure(curves, {c: conds[c]["overall"]["auroc"] for c in conds}))
    figs.add("pr", plots.pr_figure(curves, {c: conds[c]["overall"]["ap"] for c in conds}))
    y, s = curves["clean"]
    figs.add("score_histogram", plots.histogram_figure(y, s, threshold, "Score distribution per class (clean)"))
    figs.add("calibration", plots.reliability_figure(doc["calibration"]["per_bin"], clean["ece"]))
    if conds["clean"]["per_generator"]:
        figs.add("per_generator", plots.group_bars_figure(conds["clean"]["per_generator"], "Per generator (clean): its fakes vs all reals"))
    if conds["clean"]["per_family"]:
        figs.add("per_family", plots.group_bars_figure(conds["clean"]["per_family"], "Per generator family (clean): its fakes vs all reals"))
    names = list(conds)
    if len(names) > 1:
        series = {k: [conds[c]["overall"][key] for c in names] for k, key in
                  (("accuracy", "accuracy"), ("AUROC", "auroc"), ("real accuracy", "real_accuracy"), ("fake accuracy", "fake_accuracy"))}
        ci = {"accuracy": [_ci(conds[c]["overall"].get("accuracy_ci95")) for c in names],
              "AUROC": [_ci(conds[c]["overall"].get("auroc_ci95")) for c in names]}
        figs.add("robustness", plots.robustness_figure(names, series, ci, title="Robustness across test conditions (bands: 95% CI)"))
    attribution = doc.get("attribution")
    if attribution and attribution.get("n"):
        figs.add("confusion_matrix", plots.confusion_figure(attribution["confusion_matrix"], attribution["labels"],
                                                            "Generator attribution (clean), rows = true"))

    model, data, proto = doc["model"], doc["data"], doc["protocol"]
    aligned = proto["alignment"]["enabled"]
    parts: list[str] = []
    summary = (f"<p>{esc(model['name'])} ({esc(model['architecture'])}, weights {esc((model['weights_sha256'] or '')[:12])}) on "
               f"<code>{esc(data['spec'])}</code>, split <b>{esc(data['split'])}</b>: {clean['n']:,} images scored "
               f"({clean['n_real']:,} real, {clean['n_fake']:,} fake). Threshold {threshold:g} ({esc(proto['threshold']['source'])}). "
               f"Format alignment: {badge(aligned, proto['alignment'].get('spec', '') or 'on', 'off')}.</p>")
    parts.append(summary)
    for w in proto["warnings"]:
        parts.append(warning(w))
    parts.append(section(
        "Task A: real vs fake, per test condition",
        table(HEADLINE, [[esc(c), *_metric_cells(conds[c]["overall"])] for c in names]),
        note("Accuracy at the threshold; real/fake accuracy = share of each class called correctly; AUROC and AP are "
             f"threshold-free (fake = positive). EER and TPR at fixed FPR from the ROC curve. ECE over {clean['ece_bins']} "
             f"equal-width bins of P(fake). Intervals: {esc(proto['bootstrap']['method'])}, "
             f"{proto['bootstrap']['n_resamples']} resamples, seed {proto['bootstrap']['seed']}."),
        figs.row(("roc", "ROC curves per condition."), ("pr", "Precision-recall curves per condition.")),
        figs.row(("score_histogram", "Histogram of P(fake) per class, each normalised to its own count; dashed: threshold."),
                 ("calibration", "Reliability diagram of the clean scores.")),
    ))
    if "robustness" in figs.files:
        parts.append(section("Robustness", figs.row(("robustness", "Accuracy, AUROC and per-class accuracy for every condition; "
                                                                   "each condition is applied identically to both classes."))))
    if conds["clean"]["per_generator"]:
        parts.append(section("Per generator (clean)", _group_table(conds["clean"]["per_generator"], "generator"),
                             note("Each row: the fakes of that generator against all reals of the split."),
                             figs.row(("per_generator", "Per generator: share of its fakes detected, AUROC and AP against all reals."))))
        if len(names) > 1:
            gens = list(conds["clean"]["per_generator"])
            rows = [[esc(g), *[num(conds[c]["per_generator"].get(g, {}).get("auroc")) for c in names]] for g in gens]
            parts.append(section("Per generator AUROC across conditions", table(("generator", *names), rows)))
    if conds["clean"]["per_family"]:
        mean_ap = conds["clean"]["mean_ap_over_families"]
        parts.append(section("Per generator family (clean)", _group_table(conds["clean"]["per_family"], "family"),
                             note(f"Mean AP over {mean_ap['n_families']} families: <b>{mean_ap['value']:.3f}</b>.") if mean_ap else "",
                             figs.row(("per_family", "Per family: its fakes against all reals."))))
    if attribution:
        parts.append(section("Task B: generator attribution (clean)", kv_table([
            ("images with a class in the model's vocabulary", num(attribution["n"])),
            ("top-1 accuracy", num(attribution["top1_accuracy"])), ("macro-F1 (classes present)", num(attribution["macro_f1"])),
            ("fakes whose generator the model does not know", num(attribution["n_fakes_outside_vocabulary"])),
        ]), figs.row(("confusion_matrix", "Confusion matrix, rows = true class (colour: share of the row; numbers: counts)."))))
    if doc.get("verdicts"):
        from .selective_report import verdict_section

        parts.append(verdict_section(doc["verdicts"], figs))
    if doc.get("evidence"):
        from .evidence_report import evidence_section

        parts.append(evidence_section(doc["evidence"], evidence_files or []))
    refs = doc.get("published") or []
    if refs:
        rows = [[esc(r["what"]), esc(r["source"]), esc(r["metric"]), num(r["value"]), num(_lookup(doc, r["compare_with"]))] for r in refs]
        parts.append(section("Published numbers for comparison (published, not ours)",
                             table(("published figure", "source", "metric", "published", "ours"), rows, left=3),
                             note("Published figures come from other training sets and models; they are context, not a claim.")))
    parts.append(section("Protocol", _protocol_table(doc)))
    skipped = proto["skipped"]
    if skipped["n"]:
        rows = [[esc(s["path"]), esc(s["reason"])] for s in skipped["examples"]]
        parts.append(section(f"Skipped images ({skipped['n']})", kv_table((r, num(n)) for r, n in skipped["by_reason"].items()),
                             table(("image", "reason"), rows, left=2)))
    title = f"Evaluation: {model['name']} on {Path(str(data['spec'])).name or data['spec']} [{data['split']}]"
    subtitle = esc(f"fakescope evaluate, {proto['date']}; {clean['n']:,} images, {len(names)} condition(s)")
    page = write_page(out_dir / "report.html", title, subtitle, "".join(parts))
    return page, figs.relative()


def _unchanged(cond: dict[str, Any]) -> str:
    n = cond.get("unchanged_images_this_run") or 0
    return f" <i>({n:,} image(s) left unchanged: already at or below the size)</i>" if n else ""


def _ci(ci: dict[str, float] | None) -> tuple[float, float] | None:
    return (ci["low"], ci["high"]) if ci else None


def _protocol_table(doc: dict[str, Any]) -> str:
    model, data, proto = doc["model"], doc["data"], doc["protocol"]
    conds = "<br>".join(f"<code>{esc(c['name'])}</code>: {esc(c['operation'])}" + _unchanged(c) for c in proto["conditions"])
    dedup = proto["dedup"]
    pairs = [
        ("data", f"<code>{esc(data['spec'])}</code> ({esc(data['format'])}), split {esc(data['split'])}"),
        ("data fingerprint", f"<code>{esc(data['fingerprint'])}</code>"),
        ("images", f"{data['n_listed']:,} listed; {data['n_scored']:,} scored; {proto['skipped']['n']:,} skipped; "
                   f"{proto['samples']['outside_subset']:,} outside the --max-samples subset; {dedup.get('dropped', 0):,} duplicates dropped"),
        ("model", f"<code>{esc(model['dir'])}</code>"),
        ("architecture", f"{esc(model['architecture'])} (task {esc(model['task'])})"),
        ("weights sha256", f"<code>{esc(model['weights_sha256'])}</code>"),
        ("preprocessing", esc(model["preprocess_description"])),
        ("test-time augmentation", esc(", ".join(model.get("tta") or []) or "none")),
        ("threshold", f"{proto['threshold']['value']:g} ({esc(proto['threshold']['source'])})"),
        ("format alignment", esc(proto["alignment"]["operation"])),
        ("conditions", conds),
        ("encoder", esc("; ".join(f"{k}: {v}" for k, v in proto["encoder"].items()))),
        ("de-duplication", esc(dedup["description"])),
        ("subset", esc(f"uniform subset of {proto['max_samples']} by key hash" if proto["max_samples"] else "all images")),
        ("bootstrap", esc(f"{proto['bootstrap']['method']}, {proto['bootstrap']['n_resamples']} resamples, seed {proto['bootstrap']['seed']}")),
        ("calibration", esc(f"ECE over {proto['ece_bins']} equal-width bins of P(fake)")),
        ("format check", esc(proto["format_check"].get("summary", "n/a"))),
        ("libraries", esc(", ".join(f"{k} {v}" for k, v in proto["environment"].items() if k in
                                    ("fakescope", "python", "torch", "numpy", "pillow", "timm")))),
        ("machine", esc(f"{proto['environment'].get('platform')}, {proto['environment'].get('cpu_count')} CPUs")),
        ("timing", esc(f"{proto['timing']['seconds']:.1f} s, {proto['timing']['images_per_s']:.1f} images/s "
                       f"({proto['timing']['scored_this_run']:,} scored in this run, {proto['timing']['resumed']:,} resumed)")),
        ("date", esc(proto["date"])),
    ]
    return kv_table(pairs)
