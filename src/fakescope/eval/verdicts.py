"""The verdict part of `evaluate`: every scored image judged as `GuardedModel` judges it.

The clean scores of the evaluation pass are judged with the model's domain check and operating
point (`GuardedModel.decision`, the same code `detect`'s pipeline runs). A model with OOD
statistics needs its penultimate features, which the scoring pass does not keep: for it the clean
images are read once more and judged whole (`GuardedModel.judge`). Adds the columns `verdict` and
`ood_score` to the predictions table and returns the metrics.json section "verdicts".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fakescope.data import ImageDecodeError
from fakescope.data.decode import decode_image

from .scoring import Entry, score_column
from .selective import curve_points, selective_metrics

BATCH = 64


def _ood_pass(gm: Any, stream: Iterable[Entry], wanted: set[str], alignment: Any) -> dict[str, tuple[str, float | None]]:
    """key -> (decision, OOD score) for the images in `wanted`, judged whole (features included)."""
    judged: dict[str, tuple[str, float | None]] = {}
    images, facts, keys = [], [], []

    def flush() -> None:
        for key, j in zip(keys, gm.judge(images, facts)):
            judged[key] = (j.decision, j.ood_score)
        for pending in (images, facts, keys):
            pending.clear()

    for entry in stream:
        key = entry.sample.key
        if key not in wanted or entry.data is None:
            continue
        try:
            im = decode_image(entry.data)
            fact = {"width": im.width, "height": im.height, "format": entry.format}
            im = alignment.apply(im) if alignment is not None else im
        except (ImageDecodeError, OSError, ValueError):
            continue
        images.append(im)
        facts.append(fact)
        keys.append(key)
        if len(images) >= BATCH:
            flush()
    if images:
        flush()
    return judged


def add_verdicts(model_dir: Path, table: pa.Table, *, stream: Callable[[], Iterable[Entry]], alignment: Any,
                 n_resamples: int, device: str = "cpu", tta: list[str] | None = None,
                 threshold: float | None = None) -> tuple[pa.Table, dict[str, Any]]:
    """The predictions table with `verdict`/`ood_score` columns, and the "verdicts" section of metrics.json."""
    from fakescope.verdict import GuardedModel

    gm = GuardedModel.load(model_dir, device=device)
    if tta is not None and gm.net is not None:
        gm.net.config.tta = list(tta)  # the views the evaluation scored with
    col = lambda name: table.column(name).to_pylist()  # noqa: E731
    keys, labels, scores = col("key"), col("label"), col(score_column("clean"))
    widths, heights, formats = col("width"), col("height"), col("format")
    ood_judged = None
    if gm.ood is not None:
        ood_judged = _ood_pass(gm, stream(), {k for k, s in zip(keys, scores) if s is not None}, alignment)
    verdicts: list[str | None] = []
    ood_scores: list[float | None] = []
    for key, score, w, h, fmt in zip(keys, scores, widths, heights, formats):
        decision, ood = None, None
        if score is not None and ood_judged is not None:
            decision, ood = ood_judged.get(key, (None, None))
        elif score is not None:
            decision = gm.decision(score, {"width": w, "height": h, "format": fmt}).decision
        verdicts.append(decision)
        ood_scores.append(ood)
    table = table.append_column("verdict", pa.array(verdicts, pa.string()))
    table = table.append_column("ood_score", pa.array(ood_scores, pa.float64()))

    use = [i for i, (y, v) in enumerate(zip(labels, verdicts)) if y in (0, 1) and v is not None]
    y = np.asarray([labels[i] for i in use], np.int64)
    s = np.asarray([scores[i] for i in use], np.float64)
    d = np.asarray([verdicts[i] for i in use], dtype=object).astype(str)
    threshold = gm.config.threshold if threshold is None else threshold  # the risk-coverage curve's, as the report's
    op = gm.config.operating_point or {}
    section = {
        "what": "each clean image judged as the model judges it in `detect`: the domain check (training sizes and "
                "formats, OOD score), then the operating point; uncertain and out-of-domain images are unanswered",
        "model": gm.describe(),
        "operating_point": {"fake_at": gm.fake_at, "real_below": gm.real_below,
                            "source": "config.json operating_point" if gm.calibrated else
                                      "no operating point: the config threshold for both",
                            **{k: op.get(k) for k in ("target_fpr", "target_fnr", "fitted_on")}},
        "ood_pass": "clean images read again for their features" if ood_judged is not None else
                    "no OOD statistics: size/format check only",
        "overall": selective_metrics(y, s, d, threshold, n_resamples=n_resamples),
        "risk_coverage": {"ranking": "confidence max(p, 1 - p) among images inside the domain",
                          "threshold": threshold, **curve_points(y, s, d != "out-of-domain", threshold)},
    }
    return table, section
