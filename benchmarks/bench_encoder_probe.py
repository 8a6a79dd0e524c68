"""How to use a frozen pretrained encoder: views, combination, head; Task B and leave-one-generator-out.

    python benchmarks/bench_encoder_probe.py [--encoder tf_efficientnet_lite0] [--threads 2] \
        [--cache benchmarks/results/encoder_probe_features.npz] [--out benchmarks/results/encoder_probe.json]

Features of every native-pool image are extracted once per view and cached: the whole image
(shorter side to 224, centre crop), the native-resolution centre crop and the four corner crops of
an even 2 x 2 grid (models/views.py, as the "views" policy cuts them). Training images are
format-aligned as the shipped encoder model's recipe does it (JPEG re-encoding at a random quality
70-100 on both classes, seeded per image), test images both raw and aligned (jpeg:96 on both classes).
From the cache, logistic regression probes (C chosen by 5-fold CV on the training split) compare:
whole only, centre crop only, whole + centre (concat, the shipped layout), whole + 4 grid crops (concat), mean of all views. Reported per variant: native-pool test AUROC (raw / aligned), Task B top-1
and macro-F1 (aligned) over native-pool's generators + Real, the per-generator AUROC, and for the
shipped layout the leave-one-generator-out AUROC of each generator with >= 5 test fakes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "src"))

VIEWS = ("whole", "centre", "grid0", "grid1", "grid2", "grid3")
VARIANTS = {"whole": ["whole"], "centre": ["centre"], "whole+centre (shipped)": ["whole", "centre"],
            "whole+grid4": ["whole", "grid0", "grid1", "grid2", "grid3"],
            "mean of 6 views": None}


SHIPPED = "whole+centre (shipped)"  # the shipped model's layout (native_crops 1): as good as 4 crops, 2.5x cheaper


def _seed(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def _jpeg(im, quality: int):
    from PIL import Image

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def extract(encoder: str, threads: int) -> dict[str, np.ndarray]:
    import torch

    from fakescope.data.decode import decode_image
    from fakescope.models import ModelConfig
    from fakescope.models.net import create_model, default_preprocess
    from fakescope.models.preprocess import to_input
    from fakescope.models.views import grid_positions, mosaic

    torch.set_num_threads(threads)
    arch = f"encoder:{encoder}"
    pre4 = default_preprocess(arch, {"native_crops": 4})
    pre1 = default_preprocess(arch, {"native_crops": 1})
    net = create_model(ModelConfig(architecture=arch, preprocess=default_preprocess(arch, {}))).eval()
    rows = list(csv.DictReader(open(SHARED / "native-pool" / "manifest.csv", encoding="utf-8")))
    out: dict[str, list] = {"feats": [], "label": [], "gen": [], "split": [], "aligned": []}
    t0 = time.time()
    items = [(r, False) for r in rows] + [(r, True) for r in rows if r["split"] == "test"]
    for i, (r, aligned) in enumerate(items):
        im = decode_image((SHARED / "native-pool" / r["path"]).read_bytes())
        if r["split"] == "train":
            rng = np.random.default_rng(_seed(r["path"]))
            im = _jpeg(im, int(rng.integers(70, 101)))
        elif aligned:
            im = _jpeg(im, 96)
        a = np.asarray(mosaic(im, pre4))  # whole + 4 grid crops
        c = np.asarray(mosaic(im, pre1))[224:]  # the centre crop
        views = np.concatenate([a[:224], c, a[224:]]).reshape(6, 224, 224, 3)
        with torch.inference_mode():
            f = net.backbone.encoder(to_input(views, pre4)).numpy()
        out["feats"].append(f)
        out["label"].append(int(r["label"]))
        out["gen"].append(r["generator"])
        out["split"].append(r["split"])
        out["aligned"].append(aligned)
        if i % 100 == 0:
            print(f"{i}/{len(items)} images, {time.time() - t0:.0f} s", file=sys.stderr)
    return {"feats": np.stack(out["feats"]), "label": np.array(out["label"]), "gen": np.array(out["gen"]),
            "split": np.array(out["split"]), "aligned": np.array(out["aligned"]),
            "seconds": np.array(time.time() - t0), "views_per_s": np.array(len(items) * 6 / (time.time() - t0))}


def combine(feats: np.ndarray, views: list[str] | None) -> np.ndarray:
    if views is None:
        return feats.mean(1)
    idx = [VIEWS.index(v) for v in views]
    if len(idx) == 1:
        return feats[:, idx[0]]
    return np.concatenate([feats[:, idx[0]], feats[:, idx[1:]].mean(1)], 1)


def probe(x: np.ndarray, y: np.ndarray, multiclass: bool = False):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced"))
    folds = int(min(5, np.bincount(np.unique(y, return_inverse=True)[1]).min()))
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.001, 0.01, 0.1, 1.0]}, cv=StratifiedKFold(max(folds, 2)),
                        scoring="f1_macro" if multiclass else "roc_auc")
    return grid.fit(x, y)


def main() -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="tf_efficientnet_lite0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default=str(HERE / "results" / "encoder_probe_features.npz"))
    ap.add_argument("--out", default=str(HERE / "results" / "encoder_probe.json"))
    args = ap.parse_args()
    cache = Path(args.cache)
    if cache.is_file():
        d = dict(np.load(cache))
    else:
        d = extract(args.encoder, args.threads)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, **d)
    train = d["split"] == "train"
    test_raw = (d["split"] == "test") & ~d["aligned"]
    test_al = (d["split"] == "test") & d["aligned"]
    y, g = d["label"], d["gen"]
    report: dict = {"command": "python benchmarks/bench_encoder_probe.py", "encoder": args.encoder,
                    "extraction": {"seconds": float(d["seconds"]), "views_per_s": float(d["views_per_s"])},
                    "n": {"train": int(train.sum()), "test": int(test_raw.sum())}, "variants": {}}
    for name, views in VARIANTS.items():
        x = combine(d["feats"], views)
        clf = probe(x[train], y[train])
        s_raw, s_al = clf.predict_proba(x[test_raw])[:, 1], clf.predict_proba(x[test_al])[:, 1]
        per_gen = {gen: float(roc_auc_score(np.r_[np.zeros((y[test_al] == 0).sum()), np.ones((g[test_al] == gen).sum())],
                                            np.r_[s_al[y[test_al] == 0], s_al[g[test_al] == gen]]))
                   for gen in sorted(set(g[test_al]) - {"Real"})}
        attr = probe(x[train], g[train], multiclass=True)
        pred = attr.predict(x[test_al])
        report["variants"][name] = {
            "dims": int(x.shape[1]), "C": float(clf.best_params_["logisticregression__C"]),
            "auroc_raw": float(roc_auc_score(y[test_raw], s_raw)), "auroc_aligned": float(roc_auc_score(y[test_al], s_al)),
            "taskB_top1_aligned": float((pred == g[test_al]).mean()),
            "taskB_macro_f1_aligned": float(f1_score(g[test_al], pred, average="macro")),
            "auroc_per_generator_aligned": per_gen}
        print(f"{name:24s} AUROC raw {report['variants'][name]['auroc_raw']:.4f} aligned "
              f"{report['variants'][name]['auroc_aligned']:.4f}  Task B top-1 {report['variants'][name]['taskB_top1_aligned']:.3f} "
              f"macro-F1 {report['variants'][name]['taskB_macro_f1_aligned']:.3f}", file=sys.stderr)
    x = combine(d["feats"], VARIANTS[SHIPPED])
    loo = {}
    for gen in sorted(set(g[test_al]) - {"Real"}):
        if (g[test_al] == gen).sum() < 5:
            continue
        keep = train & (g != gen)
        clf = probe(x[keep], y[keep])
        sel = test_al & ((y == 0) | (g == gen))
        loo[gen] = float(roc_auc_score(y[sel], clf.predict_proba(x[sel])[:, 1]))
    report["leave_one_generator_out_aligned"] = loo
    report["leave_one_generator_out_mean"] = float(np.mean(list(loo.values())))
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("leave_one_generator_out_mean",)}), file=sys.stderr)


if __name__ == "__main__":
    main()
