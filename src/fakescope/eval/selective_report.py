"""The report's verdict section: coverage, accuracy among answered, wrong-verdict rate and the
risk-coverage figure (from metrics.json's "verdicts", eval/verdicts.py)."""

from __future__ import annotations

from typing import Any

from . import plots
from .report import Figures, esc, kv_table, note, num, section, table, with_ci


def risk_coverage_figure(curve: dict[str, Any], point: tuple[float, float] | None, aurc: float | None) -> bytes:
    """Risk (error among answered) against coverage, most confident first; the stored operating point marked."""
    plt = plots.plt
    with plt.rc_context(plots.STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 3.4))
        if curve["coverage"]:
            label = f"ranked by confidence (AURC {aurc:.4f})" if aurc is not None else "ranked by confidence"
            ax.plot(curve["coverage"], curve["risk"], color=plots.PALETTE[0], label=label)
            if point is not None:
                ax.scatter([point[0]], [point[1]], color=plots.FAKE_COLOR, zorder=3, label="stored operating point")
            ax.set_xlim(0, 1.0)
            ax.set_ylim(bottom=0)
            plots._legend(ax, 2, "upper left")
        else:
            plots._empty(ax, "no image inside the domain")
        ax.set_xlabel("coverage (answered / all images)")
        ax.set_ylabel("risk (wrong / answered)")
        ax.set_title("Risk-coverage (clean)")
        return plots._png(fig)


def verdict_section(v: dict[str, Any], figs: Figures) -> str:
    m = v["overall"]
    op = v["operating_point"]
    point = None
    if m.get("coverage") and m.get("accuracy_answered") is not None:
        point = (m["coverage"], 1.0 - m["accuracy_answered"])
    figs.add("risk_coverage", risk_coverage_figure(v["risk_coverage"], point, m.get("aurc")))
    d = m.get("decisions") or {}
    by = m.get("decisions_by_class") or {}
    rows = [[esc(name), *[f"{by.get(name, {}).get(k, 0):,}" for k in ("fake", "real", "uncertain", "out-of-domain")]]
            for name in ("real", "fake")]
    rows.append(["all", *[f"{d.get(k, 0):,}" for k in ("fake", "real", "uncertain", "out-of-domain")]])
    target = (f"stated FPR {op['target_fpr']:g}, FNR {op['target_fnr']:g}; fitted on {esc(op.get('fitted_on'))}"
              if op.get("target_fpr") is not None else esc(op["source"]))
    return section(
        "Verdicts: answering only inside the domain, at the operating point",
        kv_table([
            ("operating point", f"fake at &ge; {op['fake_at']:.4g}, real below {op['real_below']:.4g} ({target})"),
            ("coverage (answered / all)", with_ci(m.get("coverage"), m.get("coverage_ci95"))),
            ("accuracy among answered", with_ci(m.get("accuracy_answered"), m.get("accuracy_answered_ci95"))),
            ("wrong-verdict rate (wrong / all)", with_ci(m.get("wrong_verdict_rate"), m.get("wrong_verdict_rate_ci95"))),
            ("AURC", with_ci(m.get("aurc"), m.get("aurc_ci95"), digits=4)),
            ("inside the domain", num(m.get("in_domain_share"))),
            ("OOD check", esc(v.get("ood_pass", ""))),
        ]),
        table(("true class", "called fake", "called real", "uncertain", "out of domain"), rows),
        note(esc(v["what"]) + ". Risk-coverage: images inside the domain ranked by confidence max(p, 1 - p); risk = share "
             "wrong at the evaluation threshold among the most confident; AURC = area under it over all images."),
        figs.row(("risk_coverage", "Risk against coverage; the dot is the stored operating point.")),
    )
