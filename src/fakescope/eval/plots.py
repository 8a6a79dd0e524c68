"""The report's figures, drawn with matplotlib (Agg, no display) and returned as PNG bytes.

One function per figure; each takes plain numbers (no evaluation objects) so the same figure
serves `evaluate`, `benchmark robustness` and `benchmark cross-generator`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: figures are files, there is no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

DPI = 150
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": DPI,
}
REAL_COLOR, FAKE_COLOR = "#1f77b4", "#d62728"
PALETTE = plt.get_cmap("tab10").colors


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": "fakescope"})
    plt.close(fig)
    return buf.getvalue()


def _empty(ax: plt.Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(ax: plt.Axes, entries: int, loc: str) -> None:
    """Inside the axes for a few curves; beside them when more would hide the curves."""
    if entries == 0:
        return
    if entries <= 3:
        ax.legend(loc=loc, frameon=False)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], aurocs: Mapping[str, float | None]) -> bytes:
    """ROC curve per condition (labels, scores), AUROC in the legend."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
        drawn = 0
        for i, (name, (y, s)) in enumerate(curves.items()):
            if not ((y == 0).any() and (y == 1).any()):
                continue
            fpr, tpr, _ = roc_curve(y, s)
            auc = aurocs.get(name)
            ax.plot(fpr, tpr, color=PALETTE[i % 10], lw=1.6 if name == "clean" else 1.1,
                    label=f"{name} (AUROC {auc:.3f})" if auc is not None else name)
            drawn += 1
        if not drawn:
            _empty(ax, "needs both classes")
        ax.set(xlabel="false positive rate (reals called fake)", ylabel="true positive rate (fakes caught)",
               xlim=(0, 1), ylim=(0, 1.01), title="ROC")
        _legend(ax, drawn, "lower right")
        return _png(fig)


def pr_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], aps: Mapping[str, float | None]) -> bytes:
    """Precision-recall curve per condition (fake is the positive class), AP in the legend."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        drawn = 0
        for i, (name, (y, s)) in enumerate(curves.items()):
            if not ((y == 0).any() and (y == 1).any()):
                continue
            precision, recall, _ = precision_recall_curve(y, s)
            ap = aps.get(name)
            ax.plot(recall, precision, color=PALETTE[i % 10], lw=1.6 if name == "clean" else 1.1,
                    label=f"{name} (AP {ap:.3f})" if ap is not None else name)
            if drawn == 0:
                ax.axhline(float((y == 1).mean()), ls=":", color="0.6", lw=1, label="chance (fake share)")
            drawn += 1
        if not drawn:
            _empty(ax, "needs both classes")
        ax.set(xlabel="recall (fakes caught)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01),
               title="Precision-recall (positive = fake)")
        _legend(ax, drawn, "lower left")
        return _png(fig)


def histogram_figure(labels: np.ndarray, scores: np.ndarray, threshold: float, title: str) -> bytes:
    """P(fake) histograms of the two classes, each normalised to its own count, with the threshold."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        bins = np.linspace(0, 1, 41)
        for lab, name, color in ((0, "real", REAL_COLOR), (1, "fake", FAKE_COLOR)):
            s = scores[labels == lab]
            if s.size:
                ax.hist(s, bins=bins, weights=np.full(s.size, 1.0 / s.size), alpha=0.55, color=color,
                        label=f"{name} (n={s.size})", edgecolor="white", linewidth=0.3)
        ax.axvline(threshold, color="0.2", ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.set(xlabel="score = P(fake)", ylabel="share of the class", xlim=(0, 1), title=title)
        ax.legend(frameon=False)
        return _png(fig)


def reliability_figure(per_bin: Sequence[Mapping[str, Any]], ece: float | None) -> bytes:
    """Reliability diagram: fraction of fakes against the mean score in each bin (bar width = bin)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 3.8))
        ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1, label="perfect calibration")
        lows = [b["low"] for b in per_bin if b["n"]]
        width = (per_bin[0]["high"] - per_bin[0]["low"]) if per_bin else 0.1
        ax.bar(lows, [b["fraction_fake"] for b in per_bin if b["n"]], width=width, align="edge", color="#7f7fbf",
               alpha=0.75, edgecolor="white", label="fraction fake in bin")
        ax.plot([b["mean_score"] for b in per_bin if b["n"]], [b["fraction_fake"] for b in per_bin if b["n"]], "o",
                color="#333366", ms=3, label="bin mean score")
        ax.set(xlabel="score = P(fake)", ylabel="fraction of fakes", xlim=(0, 1), ylim=(0, 1.01),
               title=f"Calibration (ECE {ece:.3f}, {len(per_bin)} bins)" if ece is not None else "Calibration")
        ax.legend(loc="upper left", frameon=True, framealpha=0.9, edgecolor="none")
        return _png(fig)


def group_bars_figure(groups: Mapping[str, Mapping[str, Any]], title: str) -> bytes:
    """Per generator (or family): detection rate of its fakes, AUROC and AP against all reals, with n."""
    with plt.rc_context(STYLE):
        names = list(groups)
        fig, ax = plt.subplots(figsize=(max(5.0, 0.75 * len(names) + 2.0), 3.6))
        if not names:
            _empty(ax, "no generator labels")
            return _png(fig)
        x = np.arange(len(names))
        series = (("fake_accuracy", "fakes detected", FAKE_COLOR), ("auroc", "AUROC vs all reals", "#2ca02c"),
                  ("ap", "AP vs all reals", "#9467bd"))
        w = 0.26
        for k, (key, label, color) in enumerate(series):
            vals = [groups[n].get(key) for n in names]
            ax.bar(x + (k - 1) * w, [v if v is not None else 0 for v in vals], w, label=label, color=color, alpha=0.85)
        ax.set_xticks(x, [f"{n}\nn={groups[n]['n_fake']}" for n in names], rotation=0 if len(names) <= 8 else 45,
                      ha="center" if len(names) <= 8 else "right")
        ax.set(ylim=(0, 1.05), ylabel="value", title=title)
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.legend(frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18 if len(names) <= 8 else -0.32))
        return _png(fig)


def robustness_figure(conditions: Sequence[str], series: Mapping[str, Sequence[float | None]],
                      intervals: Mapping[str, Sequence[tuple[float, float] | None]] | None = None,
                      title: str = "Robustness across test conditions", ylabel: str = "value",
                      reference: Mapping[str, float] | None = None, reference_label: str = "") -> bytes:
    """One line per series (a metric, or a model) across conditions; optional CI bars and a reference."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(max(5.5, 0.9 * len(conditions) + 2.0), 3.8))
        x = np.arange(len(conditions))
        for i, (name, vals) in enumerate(series.items()):
            y = np.array([np.nan if v is None else v for v in vals], dtype=float)
            ax.plot(x, y, "o-", color=PALETTE[i % 10], lw=1.5, ms=4, label=name)
            ci = (intervals or {}).get(name)
            if ci:
                lo = np.array([np.nan if c is None else c[0] for c in ci])
                hi = np.array([np.nan if c is None else c[1] for c in ci])
                ax.fill_between(x, lo, hi, color=PALETTE[i % 10], alpha=0.12, lw=0)
        if reference:
            ry = np.array([reference.get(c, np.nan) for c in conditions], dtype=float)
            if np.isfinite(ry).any():
                ax.plot(x, ry, "s--", color="0.35", lw=1, ms=3.5, label=reference_label)
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.set_xticks(x, list(conditions), rotation=20 if len(conditions) > 5 else 0)
        ax.set(ylim=(0, 1.03), ylabel=ylabel, title=title)
        ax.legend(frameon=False, loc="lower left", fontsize=7.5)
        return _png(fig)


def confusion_figure(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> bytes:
    """Row-normalised confusion matrix (rows = true class) with the counts written in the cells."""
    cm = np.asarray(matrix, dtype=float)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        k = len(labels)
        fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k))
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.55 else "black")
        ax.set_xticks(range(k), labels, rotation=45, ha="right")
        ax.set_yticks(range(k), [f"{lab} (n={int(rows[i, 0])})" for i, lab in enumerate(labels)])
        ax.set(xlabel="predicted", ylabel="true", title=title)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
        return _png(fig)


def heatmap_figure(matrix: Sequence[Sequence[float | None]], rows: Sequence[str], cols: Sequence[str], title: str,
                   xlabel: str, ylabel: str, fmt: str = "{:.1f}", vmin: float = 0.0, vmax: float = 100.0) -> bytes:
    """A matrix of numbers (None drawn grey, 'n/a'), e.g. the cross-generator accuracy matrix.
    The diverging colour map puts chance (the middle of [vmin, vmax]) at yellow."""
    m = np.array([[np.nan if v is None else v for v in r] for r in matrix], dtype=float)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(1.6 + 0.7 * len(cols), 1.0 + 0.5 * len(rows)))
        cmap = plt.get_cmap("RdYlGn").copy()
        cmap.set_bad("#dddddd")
        im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        for i in range(len(rows)):
            for j in range(len(cols)):
                v = m[i, j]
                r, g, b, _ = cmap(im.norm(v)) if np.isfinite(v) else (0.87, 0.87, 0.87, 1)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on dark cells
                ax.text(j, i, "n/a" if np.isnan(v) else fmt.format(v), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
        ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
        ax.set_yticks(range(len(rows)), rows)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        return _png(fig)
