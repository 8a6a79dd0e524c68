"""Published-detector conversion: time, size and parity per family, and the DDA-style re-test table.

No released backbone can be fetched here, so every network is in its authors' exact key layout with
random weights (tests/convert_helpers.py), except the two real released heads in
../shared/data/published (UnivFD, RINE), which sit on random CLIP towers. Numbers about accuracy
are therefore about random networks: they show the protocol runs, not how the detectors perform.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_published.py --out benchmarks/results/published
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import convert_helpers as H  # noqa: E402
from conftest import SHARED  # noqa: E402

PUBLISHED = SHARED / "published"


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.iterdir()) / 2**20, 1)


def parity(model_dir: Path, reference: list[float], images: list[Path]) -> dict:
    from fakescope import Detector

    t0 = time.time()
    ours = [r["score"] for r in Detector.load(model_dir).predict([str(p) for p in images])]
    return {"max_abs_diff": max(abs(a - b) for a, b in zip(ours, reference)), "scores": [round(s, 5) for s in ours],
            "reference": [round(s, 5) for s in reference], "score_seconds": round(time.time() - t0, 2)}


def convert(family: str, ckpt: Path, out: Path, backbone: Path | None = None) -> tuple[Path, float]:
    from fakescope.convert import convert_checkpoint

    t0 = time.time()
    convert_checkpoint(family, ckpt, out, backbone=backbone)
    return out, round(time.time() - t0, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/fakescope-bench-published"))
    ap.add_argument("--full-vit-l", action="store_true", help="also convert the real heads on a full-size ViT-L/14 tower")
    args = ap.parse_args()
    work, out = args.work, args.out
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    images = H.real_images()
    rows: dict[str, dict] = {}
    models: dict[str, Path] = {}

    def record(name: str, layout: str, model_dir: Path, seconds: float, reference: list[float]) -> None:
        rows[name] = {"checkpoint": layout, "convert_seconds": seconds, "model_mb": dir_mb(model_dir),
                      **parity(model_dir, reference, images)}
        models[name] = model_dir
        print(name, json.dumps(rows[name]), flush=True)

    m = H.cnndetection_checkpoint(work / "blur_jpg_prob0.5.pth", images)
    d, s = convert("cnndetection", work / "blur_jpg_prob0.5.pth", work / "cnndetection")
    record("cnndetection", "authors' layout, random (torchvision ResNet-50)", d, s, H.reference_scores(m, H.cnndetection_transform(), images))

    m = H.npr_checkpoint(work / "NPR.pth", images)
    d, s = convert("npr", work / "NPR.pth", work / "npr")
    record("npr", "authors' layout, random", d, s, H.reference_scores(m, H.npr_transform(), images))

    for size in (224, 384):
        m = H.CommForReference(size)
        H.centre_head(m, m.vit.head, H.commfor_transform(size), images)
        ckpt = work / f"commfor{size}.safetensors"
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(ckpt))
        d, s = convert("commfor", ckpt, work / f"commfor-{size}")
        record(f"commfor-{size}", "hub layout (vit.*), random timm ViT-S/16", d, s, H.reference_scores(m, H.commfor_transform(size), images))

    univfd_head = torch.load(PUBLISHED / "univfd_fc_weights.pth", weights_only=True, map_location="cpu")
    rine_head = torch.load(PUBLISHED / "rine_model_2class_trainable.pth", weights_only=True, map_location="cpu")
    # the reduced tower the regular tests use for the RINE head: ViT-L/14's width and depth, patch 32, MLP 1/8
    clip = H.clip_model(width=1024, layers=24, patch=32, embed_dim=768, mlp_ratio=0.125)
    H.centre_clip_for_head(clip, univfd_head, images)
    torch.save(clip.state_dict(), work / "clip_reduced.bin")
    d, s = convert("univfd", PUBLISHED / "univfd_fc_weights.pth", work / "univfd", backbone=work / "clip_reduced.bin")
    record("univfd", "REAL head; random CLIP tower 1024 wide x 24 blocks, patch 32, MLP ratio 0.125", d, s,
           H.reference_scores(H.UnivFDReference(clip, univfd_head), H.clip_transform(), images))
    d, s = convert("rine", PUBLISHED / "rine_model_2class_trainable.pth", work / "rine", backbone=work / "clip_reduced.bin")
    record("rine", "REAL head; random CLIP tower 1024 wide x 24 blocks, patch 32, MLP ratio 0.125", d, s,
           H.reference_scores(H.RineReference(clip, rine_head), H.clip_transform(), images))
    del clip

    if args.full_vit_l:
        import open_clip

        torch.manual_seed(7)
        t0 = time.time()
        full = open_clip.create_model("ViT-L-14-quickgelu", pretrained=None).eval()
        H.centre_clip_for_head(full, univfd_head, images)
        torch.save({k: v for k, v in full.state_dict().items() if k.startswith("visual.")}, work / "vit_l14_random.bin")
        build = round(time.time() - t0, 2)
        d, s = convert("univfd", PUBLISHED / "univfd_fc_weights.pth", work / "univfd-vitl", backbone=work / "vit_l14_random.bin")
        rows_before = set(rows)
        record("univfd (full ViT-L/14)", "REAL head; random open_clip ViT-L-14-quickgelu (304 M parameters)", d, s,
               H.reference_scores(H.UnivFDReference(full, univfd_head), H.clip_transform(), images))
        d, s = convert("rine", PUBLISHED / "rine_model_2class_trainable.pth", work / "rine-vitl", backbone=work / "vit_l14_random.bin")
        record("rine (full ViT-L/14)", "REAL head; random open_clip ViT-L-14-quickgelu (304 M parameters)", d, s,
               H.reference_scores(H.RineReference(full, rine_head), H.clip_transform(), images))
        for name in set(rows) - rows_before:
            rows[name]["backbone_build_seconds"] = build
            models.pop(name)  # too slow for the re-test table on this CPU

    (out / "conversion.json").write_text(json.dumps(rows, indent=1) + "\n")
    cmd = [str(Path(sys.executable).with_name("fakescope")), "benchmark", "published", "--data", str(SHARED / "genimage-tree"),
           "--split", "val", "--out", str(work / "retest"), "--bootstrap", "200", "--no-progress", "--threads", "1",
           "--no-model-reports"]
    for name, d in models.items():
        cmd += ["--models", str(d)]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    (out / "retest.json").write_text(proc.stdout)
    (out / "retest.md").write_text((work / "retest" / "retest.md").read_text())
    print(f"retest: {time.time() - t0:.0f} s", flush=True)
    print((work / "retest" / "retest.md").read_text())


if __name__ == "__main__":
    main()
