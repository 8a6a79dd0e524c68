"""Write the training manifest of the shipped encoder model: every shared labelled source it may learn from.

    python scripts/encoder_training_set.py [--out runs/encoder-data/manifest.csv]

One CSV manifest (`path,label,generator,split,subset`, paths relative to the manifest) over:
- native-pool's train split (its test split is where the model is measured: never listed);
- genimage-tree, train and val (the same GenImage images Tiny GenImage carries, so that one is not added twice);
- cnndetection_ranking (five GAN generators and their reals) and genimage_biggan_fixtures.
Held out on purpose, so that each can measure what the model never saw: commfor-sample (a source of
its own, tested as such) and CIFAKE (32 px, below the model's domain; the adaptation benchmark adapts
to it). Every row keeps the source it came from in `subset` (`<source>/<generator or real>`).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
# (folder under shared/data, splits to take; None: every split)
SOURCES = (("native-pool/manifest.csv", ("train",)), ("genimage-tree", None), ("cnndetection_ranking", None),
           ("genimage_biggan_fixtures", None))


def rows(out_dir: Path) -> list[dict[str, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from fakescope.data import open_source

    found: list[dict[str, str]] = []
    for folder, splits in SOURCES:
        source = open_source(str(SHARED / folder))
        name = folder.split("/", 1)[0]
        for split in splits or source.splits():
            if split == "test":
                raise SystemExit(f"{folder}: a test split is never training data")
            for s in source.with_split(split):
                if s.path is None or s.label is None or s.problem is not None:
                    continue
                found.append({"path": os.path.relpath(s.path, out_dir), "label": str(s.label),
                              "generator": s.generator or "", "split": "train",
                              "subset": f"{name}/{s.generator or 'real'}"})
    return sorted(found, key=lambda r: r["path"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "runs" / "encoder-data" / "manifest.csv"))
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    found = rows(out.parent)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "label", "generator", "split", "subset"])
        writer.writeheader()
        writer.writerows(found)
    real = sum(r["label"] == "0" for r in found)
    print(f"{out}: {len(found)} images ({real} real, {len(found) - real} fake)")


if __name__ == "__main__":
    main()
