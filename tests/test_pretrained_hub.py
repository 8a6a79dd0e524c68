"""`train --pretrained` with names timm / open_clip / the hub resolve, offline against a local hub cache.

The cache holds what the hub would serve: `timm/resnet10t.c3_in1k` written by timm's own `save_for_hf`
from a randomly initialised resnet10t (config.json + model.safetensors), a tiny open_clip model in
open_clip's hub layout, and the shipped default model as a fakescope repository. With
`HF_HUB_OFFLINE=1`, timm's and open_clip's real loading code reads them; the tests check the backbone
holds exactly those tensors and that config.json records where they came from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import REPO, SHARED, run_cli
from fakescope.models.io import file_sha256
from fakescope.testing.hubcache import add_folder_to_hub_cache

TIMM_REPO = "timm/resnet10t.c3_in1k"  # resnet10t's default pretrained tag in timm
CLIP_REPO = "acme/tiny-clip"
TINY_CLIP_CFG = {"embed_dim": 32, "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
                 "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}}
DEFAULT = REPO / "src" / "fakescope" / "weights" / "default"
TRAIN_FAST = ["--data", SHARED / "cifake", "--epochs", "1", "--max-samples", "24", "--batch-size", "8",
              "--image-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import open_clip
    import timm
    from timm.models._hub import save_for_hf

    root = tmp_path_factory.mktemp("pretrained")
    torch.manual_seed(1)
    save_for_hf(timm.create_model("resnet10t", pretrained=False), str(root / "timm"), safe_serialization=True)
    torch.manual_seed(2)
    clip = open_clip.CLIP(**TINY_CLIP_CFG)
    (root / "clip").mkdir()
    save_file({k: v.contiguous() for k, v in clip.state_dict().items()}, str(root / "clip" / "open_clip_model.safetensors"))
    (root / "clip" / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": TINY_CLIP_CFG, "preprocess_cfg": {"mean": list(open_clip.OPENAI_DATASET_MEAN),
                                                         "std": list(open_clip.OPENAI_DATASET_STD)}}))
    home = root / "hf"
    add_folder_to_hub_cache(home, TIMM_REPO, root / "timm")
    add_folder_to_hub_cache(home, CLIP_REPO, root / "clip")
    add_folder_to_hub_cache(home, "acme/cifake-cnn", DEFAULT)
    return {"home": home, "timm": root / "timm" / "model.safetensors", "clip": root / "clip" / "open_clip_model.safetensors"}


def env(cache: dict[str, Path]) -> dict[str, str]:
    return {"HF_HOME": str(cache["home"]), "HF_HUB_OFFLINE": "1", "FAKESCOPE_CACHE": str(cache["home"].parent / "fs"),
            "OMP_NUM_THREADS": "1"}


LOAD_EVERY_TIMM_NAME = """
import json, sys, torch
from safetensors.torch import load_file
from fakescope.models import ModelConfig, create_model, default_preprocess
ref = load_file(sys.argv[1])
out = {}
for spec in sys.argv[2:]:
    net = create_model(ModelConfig(architecture="timm:resnet10t", preprocess=default_preprocess("timm:resnet10t", {})))
    info = net.backbone.load_pretrained(spec)
    own = net.backbone.model.state_dict()
    out[spec] = {"info": info, "equal": sum(torch.equal(own[k], ref[k]) for k in own), "n": len(own)}
print(json.dumps(out))
"""


def test_timm_names_and_hub_ids_load_exactly_the_cached_tensors(cache: dict[str, Path]) -> None:
    specs = ["timm", "timm:resnet10t.c3_in1k", f"hf-hub:{TIMM_REPO}"]
    proc = subprocess.run([sys.executable, "-c", LOAD_EVERY_TIMM_NAME, str(cache["timm"]), *specs], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    snapshot = next((cache["home"] / "hub" / "models--timm--resnet10t.c3_in1k" / "snapshots").iterdir())
    for spec, got in json.loads(proc.stdout).items():
        assert got["equal"] == got["n"] == got["info"]["loaded"] > 80, spec  # every tensor, bit for bit
        source = got["info"]["source"]
        assert source["library"] == "timm" and source["timm_name"] == "resnet10t.c3_in1k"
        assert (source["repo_id"], source["commit"], source["file"]) == (TIMM_REPO, snapshot.name, "model.safetensors")
        assert source["sha256"] == file_sha256(cache["timm"])


def test_train_from_a_hub_backbone_records_it(cache: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m"
    # lr 1e-9: one epoch barely moves the weights, so the saved backbone must still be the cached one
    proc = run_cli("train", "--model", "timm:resnet10t", "--pretrained", f"hf-hub:{TIMM_REPO}", "--lr", "1e-9",
                   "--out", out, *TRAIN_FAST, env=env(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"pretrained weights hf-hub:{TIMM_REPO}: {{'loaded': 84" in proc.stderr
    record = json.loads((out / "config.json").read_text())["training"]["pretrained"]
    assert record["spec"] == f"hf-hub:{TIMM_REPO}" and record["source"]["sha256"] == file_sha256(cache["timm"])
    ref, saved = load_file(str(cache["timm"])), load_file(str(out / "model.safetensors"))
    weights = [k for k in ref if k.endswith(".weight") and ref[k].ndim == 4]  # the convolutions
    assert len(weights) > 10
    assert max((saved[f"backbone.model.{k}"] - ref[k]).abs().max().item() for k in weights) < 1e-6


def test_clip_probe_trains_on_open_clip_hub_weights(cache: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "clip"
    proc = run_cli("train", "--model", "clip-probe", "--arch-args", json.dumps({"clip_config": TINY_CLIP_CFG}),
                   "--pretrained", f"hf-hub:{CLIP_REPO}", "--out", out, *TRAIN_FAST, env=env(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = {k.removeprefix("visual."): v for k, v in load_file(str(cache["clip"])).items() if k.startswith("visual.")}
    saved = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(saved[f"backbone.visual.{k}"], v) for k, v in ref.items())  # the tower is frozen
    source = json.loads((out / "config.json").read_text())["training"]["pretrained"]["source"]
    assert source["library"] == "open_clip" and source["file"] == "open_clip_model.safetensors"
    assert source["sha256"] == file_sha256(cache["clip"])


def test_fine_tune_a_hub_fakescope_model_and_refuse_what_is_not_cached(cache: dict[str, Path], tmp_path: Path) -> None:
    arch = json.loads((DEFAULT / "config.json").read_text())["arch_args"]
    proc = run_cli("train", "--model", "cnn-small", "--arch-args", json.dumps(arch), "--pretrained", "hf:acme/cifake-cnn",
                   "--out", tmp_path / "ft", *TRAIN_FAST, env=env(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initialised from hf:acme/cifake-cnn:" in proc.stderr
    record = json.loads((tmp_path / "ft" / "config.json").read_text())["training"]["pretrained"]
    assert record["weights_sha256"] == file_sha256(DEFAULT / "model.safetensors")

    missing = run_cli("train", "--model", "timm:resnet10t", "--pretrained", "timm:resnet10t.a1_in1k",
                      "--out", tmp_path / "x", *TRAIN_FAST, env=env(cache))
    assert missing.returncode == 2 and "--pretrained timm:resnet10t.a1_in1k: could not load it" in missing.stderr
    wrong = run_cli("train", "--model", "clip-probe", "--arch-args", json.dumps({"clip_config": TINY_CLIP_CFG}),
                    "--pretrained", "timm", "--out", tmp_path / "y", *TRAIN_FAST, env=env(cache))
    assert wrong.returncode == 2 and "clip-probe takes open_clip weights" in wrong.stderr


def test_streamed_hub_dataset_trains_on_its_first_rows(tmp_path: Path) -> None:
    """`--streaming` (Community Forensics' only sane mode) through the real `datasets` streaming reader,
    offline on a local folder in the hub layout: the run reads the first N rows of each split."""
    data = f"hf:{SHARED / 'tiny-genimage-sample'}"
    proc = run_cli("train", "--data", data, "--streaming", "--max-samples", "40", "--model", "spectral", "--epochs", "1",
                   "--out", tmp_path / "s", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "s" / "config.json").read_text())
    described = doc["training"]["data"]
    assert described["format"] == "hf-hub/hf-parquet" and doc["training"]["options"]["streaming"] is True
    assert described["train"]["n"] == 40 and 0 < described["validation"]["n"] <= 40
    import pyarrow.parquet as pq

    first = pq.read_table(next((SHARED / "tiny-genimage-sample" / "data").glob("train-*.parquet")), columns=["label"])
    assert described["train"]["fake"] == sum(first.column("label").to_pylist()[:40])  # exactly the first 40 rows
    refused = run_cli("train", "--data", data, "--streaming", "--model", "spectral", "--out", tmp_path / "t")
    assert refused.returncode == 2 and "needs --max-samples" in refused.stderr
