"""Check that an evaluation's numbers are the shipped model card's: same weights, same protocol.

    python scripts/compare_card.py OUT/report/metrics.json [--model DIR]

Prints the headline numbers side by side and exits 1 when the weights are not the card's or a
condition's numbers differ by more than float rounding on another CPU can explain: one image of
accuracy, 1e-4 of AUROC (a score within ~1e-7 of the threshold may flip between instruction sets).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

AUROC_TOLERANCE = 1e-4


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("metrics", type=Path)
    p.add_argument("--model", type=Path, help="model directory (default: the shipped model)")
    args = p.parse_args()
    from fakescope.detect.runner import default_model_dir

    config = json.loads(((args.model or default_model_dir()) / "config.json").read_text())
    card = config.get("card", {})
    doc = json.loads(args.metrics.read_text())
    if doc["model"]["weights_sha256"] != card.get("weights_sha256"):
        print(f"{args.metrics}: other weights than the model card's", file=sys.stderr)
        return 1
    expected = card["metrics"]["cifake_test"]["conditions"]
    ok = True
    for name, want in expected.items():
        got = doc["conditions"].get(name, {}).get("overall")
        if got is None:
            print(f"{name}: not in this evaluation", file=sys.stderr)
            ok = False
            continue
        same = (got["n"] == want["n"] and abs(got["accuracy"] - want["accuracy"]) <= 1.0 / got["n"] + 1e-12
                and abs(got["auroc"] - want["auroc"]) <= AUROC_TOLERANCE)
        ok &= same
        print(f"{name:12s} accuracy {got['accuracy']:.4f} (card {want['accuracy']:.4f})  "
              f"AUROC {got['auroc']:.4f} (card {want['auroc']:.4f})  n {got['n']}  {'matches' if same else 'DIFFERS'}")
    print("the report's numbers match the model card" if ok else "the report's numbers differ from the model card",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
