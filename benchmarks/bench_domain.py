"""What the feature OOD check adds to the size check: sources outside a model's world, shrunk to its size.

The size check alone rejects every 256-px GenImage or GAN image for the 32-px CIFAKE model. Someone
can shrink such an image to 32x32 first; then only the OOD score on the model's features stands
between it and a confident verdict. For each source this judges every image twice, as given and as
a 32x32 JPEG (quality 90, bilinear), and reports coverage and wrong-verdict rate with the model's
OOD check and without it (the same scores, the size/format check and operating point only).

    PYTHONPATH=src python benchmarks/bench_domain.py --model src/fakescope/weights/default \
        --data ../shared/data/genimage-tree --data ../shared/data/commfor-sample --out benchmarks/results/domain.json
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from fakescope.data import FAKE, REAL, ImageDecodeError, open_source
from fakescope.data.decode import sniff_format
from fakescope.utils.atomic import atomic_write_json
from fakescope.verdict import GuardedModel


def shrink(im: Image.Image, size: int) -> Image.Image:
    buf = io.BytesIO()
    im.resize((size, size), Image.Resampling.BILINEAR).save(buf, format="JPEG", quality=90)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def rates(labels: list[int], decisions: list[str]) -> dict[str, float]:
    y, d = np.asarray(labels), np.asarray(decisions)
    answered = (d == "fake") | (d == "real")
    wrong = answered & ((d == "fake") != (y == FAKE))
    return {"n": int(y.size), "coverage": float(answered.mean()), "wrong_verdict_rate": float(wrong.mean()),
            "out_of_domain": float((d == "out-of-domain").mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    gm = GuardedModel.load(args.model)
    size = gm.config.preprocess.input_size
    results = {"model": gm.describe(), "thumbnail": f"{size}x{size} JPEG quality 90, bilinear", "sources": {}}
    for spec in args.data:
        labels, as_given, small, small_no_ood = [], [], [], []
        for s in open_source(spec):
            if s.label not in (REAL, FAKE):
                continue
            try:
                data = s.read_bytes()
                im = s.image()
            except ImageDecodeError:
                continue
            labels.append(int(s.label))
            [j] = gm.judge([im], [{"width": im.width, "height": im.height, "format": sniff_format(data)}])
            as_given.append(j.decision)
            thumb = shrink(im, size)
            [t] = gm.judge([thumb], [{"width": size, "height": size, "format": "JPEG"}])
            small.append(t.decision)
            small_no_ood.append(gm.decision(t.score, {"width": size, "height": size, "format": "JPEG"}).decision)
        results["sources"][spec] = {"as_given": rates(labels, as_given), "thumbnail_with_ood": rates(labels, small),
                                    "thumbnail_without_ood": rates(labels, small_no_ood)}
        print(spec, json.dumps(results["sources"][spec]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, results)


if __name__ == "__main__":
    main()
