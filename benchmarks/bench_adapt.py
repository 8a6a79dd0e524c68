"""Adaptation curves: what `fakescope adapt` gains with 50-800 images of a source the model never saw.

    python benchmarks/bench_adapt.py [--model encoder] [--seeds 3] [--threads 2] \
        [--out benchmarks/results/adapt_curves.json]

Sources the shipped encoder model was never trained on (scripts/encoder_training_set.py holds them
out): commfor-sample (292 images of 13 GAN-era generators, 256-356 px; a fixed 30 % by key hash is
the test part, adaptation draws from the rest, so n <= 200) and CIFAKE (32 px; adaptation draws from
cifake-parquet's train split, the test part is 1,000 images of its test split).
The base model's features of every image are extracted once; each (n, seed) then runs adapt's own
steps on them: n images drawn at random, split 70/30 by key hash into adaptation and calibration
parts, `train.adapt.fit_head` (C by cross-validation) on the first, the operating point for FPR/FNR
0.05 (`models.operating.choose_operating_point`) on the second, and on the untouched test part:
AUROC, coverage and the wrong-verdict rate (wrong decisive verdicts over all test images) at that
operating point; the base model's own AUROC and verdicts on the same test part beside them. The OOD
check is left out (it would only lower coverage further). One real `fakescope adapt` run is timed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "src"))


def _hash(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32


def features(model: str, spec: str, split: str | None, keep, limit: int | None = None):
    from fakescope.data import open_source
    from fakescope.models import load_model
    from fakescope.models.calibration import observe
    from fakescope.models.hub import resolve_model

    net, config = load_model(resolve_model(model))
    source = open_source(spec, split=split)
    picked = [s for s in source if keep(s.key)]
    if limit is not None:
        picked = sorted(picked, key=lambda s: _hash("pick:" + s.key))[:limit]
    keys = [s.key for s in picked]
    obs = observe(net, config, iter(picked), batch_size=32)
    y, scores, z, _ = obs.arrays()
    return {"keys": keys[: len(y)], "y": y, "base": scores, "z": z, "op": config.operating_point}


def verdict_rates(y: np.ndarray, s: np.ndarray, fake_at: float, real_below: float) -> dict[str, float]:
    from fakescope.models.operating import rates_at

    r = rates_at(y, s, fake_at, real_below)
    acc = r["accuracy_answered"]
    return {"coverage": r["coverage"], "wrong": 0.0 if acc is None else r["coverage"] * (1 - acc)}


def curve(pool: dict, test: dict, sizes: list[int], seeds: int) -> list[dict]:
    from scipy.special import expit
    from sklearn.metrics import roc_auc_score

    from fakescope.models.operating import choose_operating_point
    from fakescope.train.adapt import fit_head

    rows = []
    for n in sizes:
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            idx = rng.choice(len(pool["y"]), size=min(n, len(pool["y"])), replace=False)
            cal = np.array([_hash(f"holdout:{pool['keys'][i]}") < 0.3 for i in idx])
            fit_i, cal_i = idx[~cal], idx[cal]
            if min(np.bincount(pool["y"][fit_i], minlength=2).min(), np.bincount(pool["y"][cal_i], minlength=2).min()) < 2:
                continue
            head = fit_head(pool["z"][fit_i], pool["y"][fit_i], seed)
            logit = lambda z: ((z - head["mean"]) / head["std"]) @ head["coef"] + head["intercept"]  # noqa: E731
            prob = lambda z: expit(logit(z))  # noqa: E731
            op = choose_operating_point(pool["y"][cal_i], prob(pool["z"][cal_i]), 0.05, 0.05, "calibration part")
            s = prob(test["z"])
            rows.append({"n": int(len(idx)), "seed": seed, "C": head["C"], "auroc": float(roc_auc_score(test["y"], s)),
                         **verdict_rates(test["y"], s, op["fake_at"], op["real_below"])})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for n in sorted({r["n"] for r in rows}):
        at = [r for r in rows if r["n"] == n]
        out.append({"n": n, "runs": len(at), **{k: float(np.mean([r[k] for r in at])) for k in ("auroc", "coverage", "wrong")},
                    "auroc_min": float(min(r["auroc"] for r in at)), "auroc_max": float(max(r["auroc"] for r in at))})
    return out


def base_row(test: dict) -> dict:
    from sklearn.metrics import roc_auc_score

    op = test["op"]
    return {"auroc": float(roc_auc_score(test["y"], test["base"])),
            **verdict_rates(test["y"], test["base"], op["fake_at"], op["real_below"])}


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="encoder")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "adapt_curves.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    report: dict = {"command": "python benchmarks/bench_adapt.py", "model": args.model, "sources": {}}

    commfor = str(SHARED / "commfor-sample")
    c_test = features(args.model, commfor, None, lambda k: _hash("test:" + k) < 0.3)
    c_pool = features(args.model, commfor, None, lambda k: _hash("test:" + k) >= 0.3)
    rows = curve(c_pool, c_test, [50, 100, 150, 200], args.seeds)
    report["sources"]["commfor-sample"] = {"test_n": int(len(c_test["y"])), "pool_n": int(len(c_pool["y"])),
                                           "base": base_row(c_test), "curve": summarise(rows), "runs": rows}

    cifake = str(SHARED / "cifake-parquet")
    f_test = features(args.model, cifake, "test", lambda k: True, limit=1000)
    f_pool = features(args.model, cifake, "train", lambda k: True, limit=1200)
    rows = curve(f_pool, f_test, [50, 100, 200, 400, 800], args.seeds)
    report["sources"]["cifake"] = {"test_n": int(len(f_test["y"])), "pool_n": int(len(f_pool["y"])),
                                   "base": base_row(f_test), "curve": summarise(rows), "runs": rows}

    with tempfile.TemporaryDirectory() as tmp:  # the real command once, timed: 200 commfor images
        t = time.time()
        proc = subprocess.run([str(Path(sys.executable).with_name("fakescope")), "adapt", commfor, "--model", args.model,
                               "--out", f"{tmp}/m", "--max-samples", "200", "--threads", str(args.threads)],
                              capture_output=True, text=True)
        report["cli_adapt_200_commfor"] = {"seconds": round(time.time() - t, 1), "exit": proc.returncode,
                                           "measured": json.loads(proc.stdout)["measured"] if proc.returncode == 0 else proc.stderr[-500:]}
    report["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    for name, src in report["sources"].items():
        b = src["base"]
        print(f"{name}: base AUROC {b['auroc']:.3f} coverage {b['coverage']:.3f} wrong {b['wrong']:.3f}")
        for r in src["curve"]:
            print(f"  n={r['n']:4d}  AUROC {r['auroc']:.3f} [{r['auroc_min']:.3f}-{r['auroc_max']:.3f}]  "
                  f"coverage {r['coverage']:.3f}  wrong {r['wrong']:.3f}")


if __name__ == "__main__":
    main()
