"""report.html of `fakescope benchmark cross-generator`: the matrix as a heatmap and a table, the row
averages and the overall mean, with GenImage's published row beside ours (labelled as published)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import plots
from .report import Figures, esc, kv_table, note, num, section, table, write_page


def _pct(v: float | None) -> str:
    return num(None if v is None else 100 * v, 1)


def write_crossgen_report(out_dir: Path, doc: dict[str, Any]) -> tuple[Path, list[str]]:
    figs = Figures(out_dir)
    subsets = doc["subsets"]
    acc = [[None if v is None else 100 * v for v in row] for row in doc["matrix"]["values"]]
    auroc = doc["matrix"]["auroc"]
    figs.add("crossgen_accuracy", plots.heatmap_figure(acc, subsets, subsets, "Cross-generator accuracy (%)",
                                                       "tested on", "trained on"))
    figs.add("crossgen_auroc", plots.heatmap_figure(auroc, subsets, subsets, "Cross-generator AUROC", "tested on",
                                                    "trained on", fmt="{:.2f}", vmin=0.0, vmax=1.0))
    published = doc.get("published")
    rows, classes = [], []
    for i, s in enumerate(subsets):
        avg = doc["row_average"][s]
        rows.append([esc(s), *[_cell(doc["matrix"]["cells"][i][j]) for j in range(len(subsets))],
                     f"{_pct(avg['value'])} <span class=\"ci\">({avg['n_cells']} cells)</span>"])
        classes.append("")
        if published and s == published["trained_on"]:
            rows.append([esc(f"{s}: {published['detector']} ({published['label']})"),
                         *[_pct(published["row"].get(c)) for c in subsets], _pct(published["row_average"])])
            classes.append("published")
    matrix_table = table(("trained on \\ tested on", *subsets, "row avg."), rows, row_classes=classes)
    overall, off = doc["overall_mean"], doc["off_diagonal_mean"]
    parts = [
        f"<p>Detector <b>{esc(doc['detector'])}</b>, one per subset, on <code>{esc(doc['data']['spec'])}</code> "
        f"({esc(doc['data']['format'])}). Train: split {esc(doc['data']['train_split'])}; test: {esc(doc['data']['test'])}.</p>",
        section("Accuracy matrix (%): rows trained on, columns tested on", matrix_table,
                note(f"Overall mean (GenImage Table 4's figure): <b>{_pct(overall['value'])}</b> over {overall['n_cells']} cells; "
                     f"off-diagonal mean (unseen generators only): <b>{_pct(off['value'])}</b> over {off['n_cells']} cells. "
                     "n/a: no detector for that row, or too few test images in that column (hover a cell for the reason)."),
                figs.row(("crossgen_accuracy", "Accuracy (%) at each detector's threshold; grey: undefined."),
                         ("crossgen_auroc", "AUROC of each detector on each subset's test images; grey: undefined."))),
    ]
    if published:
        others = published["sd14_row_averages_other_detectors"]
        parts.append(section("Published SD1.4 row averages (published, not ours)",
                             table(("detector", "SD1.4-row average accuracy (%)"), [[esc(k), _pct(v)] for k, v in others.items()]),
                             note("Zhu et al. 2023 (GenImage) Table 3 and later papers on the same protocol, trained on the full "
                                  "SD1.4 training set (hundreds of thousands of images): context for our numbers, not a comparison "
                                  "of equals on a small sample.")))
    count_rows = [[esc(s), num(c["train_real"]), num(c["train_fake"]), num(c["test_real"]), num(c["test_fake"]),
                   esc(doc["models"][s].get("reason") or "trained")] for s, c in doc["counts"].items()]
    parts.append(section("Images per subset", table(("subset", "train real", "train fake", "test real", "test fake", "detector"),
                                                    count_rows), note("Small cells give noisy accuracies: read the counts with the matrix.")))
    proto = doc["protocol"]
    parts.append(section("Protocol", kv_table([
        ("data fingerprint", f"<code>{esc(doc['data']['fingerprint'])}</code>"),
        ("training", esc(proto["per_subset_training"])), ("test images", esc(proto["test"])), ("cell", esc(proto["cell"])),
        ("minimum per class", num(proto["min_test_per_class"])), ("row average", esc(proto["row_average"])),
        ("overall mean", esc(proto["overall_mean"])),
        ("training options", f"<code>{esc(proto['options']['train'] or 'detector defaults')}</code>"),
        ("detector", esc(_describe_detector(doc.get("detector_config")))),
        ("libraries", esc(", ".join(f"{k} {v}" for k, v in proto.get("environment", {}).items()
                                    if k in ("fakescope", "python", "torch", "numpy", "pillow", "timm")))),
        ("date", esc(proto["date"])),
    ])))
    title = f"Cross-generator: {doc['detector']} on {Path(str(doc['data']['spec'])).name}"
    subtitle = esc(f"fakescope benchmark cross-generator, {proto['date']}; {len(subsets)} subsets")
    page = write_page(out_dir / "report.html", title, subtitle, "".join(parts))
    return page, figs.relative()


def _cell(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("accuracy") is None:
        reason = (cell or {}).get("reason") or "undefined"
        return f'<span class="na" title="{esc(reason)}">n/a</span>'
    return f'{_pct(cell["accuracy"])} <span class="ci">n={cell["n"]}</span>'


def _describe_detector(cfg: dict[str, Any] | None) -> str:
    if not cfg:
        return "no detector was trained"
    opts = ", ".join(f"{k} {v}" for k, v in cfg["resolved_training_options"].items() if v is not None)
    return f"{cfg['architecture']} {cfg['arch_args'] or ''}; input {cfg['preprocess_description']}; threshold {cfg['threshold']:g}; {opts}"
