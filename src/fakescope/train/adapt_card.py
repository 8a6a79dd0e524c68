"""The card of an adapted model: what it was adapted from and on, and what it reached on its hold-out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakescope.utils.atomic import atomic_write_text

CARD = "MODEL_CARD.md"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def write_adapt_card(out: Path, base_dir: Path, opts: Any, m: dict[str, Any]) -> Path:
    """MODEL_CARD.md beside the adapted model's weights (atomic)."""
    ood = m.get("with_ood_check") or {}
    lines = [
        f"# {opts.name or out.name}: adapted from {base_dir.name}",
        "",
        f"Base model: `{base_dir}`.",
        "",
        f"Adapted with `fakescope adapt {opts.data} --model {opts.model} --out {out}` "
        f"(hold-out {opts.holdout:.0%} by key hash, seed {opts.seed}) in {m['seconds']:.0f} s.",
        "The encoder is the base model's, frozen; only the feature standardisation and the binary head were refitted "
        f"(logistic regression, C = {m['C']:.3g} chosen by {m['folds']}-fold cross-validation, "
        f"AUROC {m['cv_auroc']:.4f} across the folds of the adaptation images).",
        "",
        "## Hold-out (calibration) numbers",
        "",
        f"- images: {m['holdout_n']} ({m['holdout_real']} real, {m['holdout_fake']} fake), never used to fit the head",
        f"- AUROC: adapted {m['adapted_auroc']:.4f}, base model {m['base_auroc']:.4f} on the same images",
        f"- operating point for FPR {opts.fpr:g} / FNR {opts.fnr:g}: fake at P >= {m['fake_at']:.4g}, "
        f"real below {m['real_below']:.4g}",
        f"- coverage {_pct(m['coverage'])}, accuracy among answered {_pct(m['accuracy_answered'])}, "
        f"wrong verdicts {_pct(m['wrong_verdict_rate'])} of all hold-out images",
        f"- with the OOD check on: coverage {_pct(ood.get('coverage'))}, out of domain {_pct(ood.get('out_of_domain'))}",
        "",
        "The thresholds were chosen on this hold-out, so its coverage and wrong-verdict rate are in-sample for them "
        "(the AUROC is not); measure the model on images it has never seen before trusting it "
        "(`fakescope evaluate`).",
        "",
    ]
    path = out / CARD
    atomic_write_text(path, "\n".join(lines))
    return path
