"""`fakescope convert`: each published family converted from a checkpoint in its authors' exact key
layout (and the two real released heads in ../shared/data/published), then scored by fakescope and
by the standard library model with the authors' own test transform, on real images: the scores
(P(fake)) must agree within 1e-4."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import convert_helpers as H
from conftest import SHARED, run_cli

TOL = 1e-4
PUBLISHED = SHARED / "published"
PARITY: dict[str, float] = {}  # family -> max |fakescope - reference|, printed for RESULTS.md


def fakescope_scores(model_dir: Path, images: list[Path]) -> list[float]:
    from fakescope import Detector

    results = Detector.load(model_dir).predict([str(p) for p in images])
    assert all(r.get("error") is None for r in results), results
    return [float(r["score"]) for r in results]


def check_parity(name: str, model_dir: Path, reference: list[float], images: list[Path]) -> None:
    ours = fakescope_scores(model_dir, images)
    diff = max(abs(a - b) for a, b in zip(ours, reference))
    PARITY[name] = diff
    print(f"parity {name}: max |diff| {diff:.2e} over {len(images)} images; scores {[round(s, 4) for s in ours]}")
    # the check means something only if the scores are not saturated and differ between images
    assert max(reference) - min(reference) > 20 * TOL, f"{name}: reference scores too uniform to test parity: {reference}"
    assert diff <= TOL, f"{name}: fakescope {ours} vs reference {reference}"


@pytest.fixture(scope="module")
def images() -> list[Path]:
    return H.real_images()


def test_cnndetection_parity(tmp_path: Path, images: list[Path]) -> None:
    from fakescope.convert import convert_checkpoint
    from fakescope.models import read_config
    from fakescope.models.io import file_sha256

    ckpt = tmp_path / "blur_jpg_prob0.5.pth"
    model = H.cnndetection_checkpoint(ckpt, images)
    convert_checkpoint("cnndetection", ckpt, tmp_path / "cnndetection")
    cfg = read_config(tmp_path / "cnndetection")
    assert cfg.architecture == "timm:resnet50" and cfg.preprocess.resize == "crop" and cfg.preprocess.input_size == 224
    source = cfg.card["published"]
    assert source["sha256"] == file_sha256(ckpt) and source["licence"].startswith("CC BY-NC-SA")
    card = (tmp_path / "cnndetection" / "MODEL_CARD.md").read_text()
    assert "Wang" in card and source["sha256"] in card and "CC BY-NC-SA" in card
    check_parity("cnndetection", tmp_path / "cnndetection", H.reference_scores(model, H.cnndetection_transform(), images), images)


def test_npr_parity(tmp_path: Path, images: list[Path]) -> None:
    from fakescope.convert import convert_checkpoint
    from fakescope.models import read_config

    ckpt = tmp_path / "NPR.pth"
    model = H.npr_checkpoint(ckpt, images)
    out = convert_checkpoint("npr", ckpt, tmp_path / "npr")
    cfg = read_config(out)
    assert cfg.architecture == "npr-resnet" and cfg.preprocess.input_size == 256 and cfg.preprocess.resize == "resize"
    check_parity("npr", out, H.reference_scores(model, H.npr_transform(), images), images)


# 384 is the same mapping at another size (7 s on a quiet machine): slow
@pytest.mark.parametrize("size", [224, pytest.param(384, marks=pytest.mark.slow)])
def test_commfor_parity(tmp_path: Path, images: list[Path], size: int) -> None:
    from fakescope.convert import convert_checkpoint

    model = H.CommForReference(size)
    subset = images[1:2] + images[4:]  # a fake, and the three images whose geometry differs from fakescope's own
    H.centre_head(model, model.vit.head, H.commfor_transform(size), subset)
    if size == 384:  # the hub repository's form: model.safetensors (PyTorchModelHubMixin), keys vit.*
        ckpt = tmp_path / "model.safetensors"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(ckpt))
    else:  # the .pt checkpoints: {"model": state_dict} as saved by a DDP run (module. prefix)
        ckpt = tmp_path / "model_v11_ViT_384_base_ckpt.pt"
        torch.save({"model": {f"module.{k}": v for k, v in model.state_dict().items()}, "optimizer": {}}, ckpt)
    out = convert_checkpoint("commfor", ckpt, tmp_path / f"commfor{size}")
    check_parity(f"commfor-{size}", out, H.reference_scores(model, H.commfor_transform(size), subset), subset)


def test_univfd_real_head_parity(tmp_path: Path, images: list[Path]) -> None:
    """The real released UnivFD head on a random open_clip tower (narrow: the head only needs 768-d output)."""
    from fakescope.convert import convert_checkpoint

    clip = H.clip_model(width=64, layers=2, patch=32, embed_dim=768)
    head = torch.load(PUBLISHED / "univfd_fc_weights.pth", weights_only=True, map_location="cpu")
    H.centre_clip_for_head(clip, head, images)
    backbone = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(clip.state_dict(), backbone)  # a full CLIP state dict, text tower included, as open_clip ships it
    out = convert_checkpoint("univfd", PUBLISHED / "univfd_fc_weights.pth", tmp_path / "univfd", backbone=backbone)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architecture"] == "clip-probe" and cfg["card"]["published"]["backbone"]["file"] == backbone.name
    assert cfg["preprocess"]["resize"] == "crop" and cfg["preprocess"]["mean"][0] == pytest.approx(0.48145466)
    reference = H.reference_scores(H.UnivFDReference(clip, head), H.clip_transform(), images)
    check_parity("univfd (real head)", tmp_path / "univfd", reference, images)


def test_backbone_by_open_clip_tag_from_the_offline_hub_cache(tmp_path: Path, images: list[Path], monkeypatch) -> None:
    """`--backbone openai`: open_clip's registry names the hub repository, huggingface_hub finds it in its
    cache (offline, as on this machine), fakescope reads it weights-only. The cache holds a small random
    tower in place of OpenAI's (the architecture is read from the tensors)."""
    import huggingface_hub.constants as hf_constants

    from fakescope.convert import convert_checkpoint

    repo = tmp_path / "hub" / "models--timm--vit_large_patch14_clip_224.openai"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    head = torch.load(PUBLISHED / "univfd_fc_weights.pth", weights_only=True, map_location="cpu")
    clip = H.clip_model(width=64, layers=2, patch=32, embed_dim=768, seed=9)
    H.centre_clip_for_head(clip, head, images)
    torch.save(clip.state_dict(), snapshot / "open_clip_pytorch_model.bin")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    out = convert_checkpoint("univfd", PUBLISHED / "univfd_fc_weights.pth", tmp_path / "univfd", backbone="openai")
    card = json.loads((out / "config.json").read_text())["card"]["published"]
    assert card["backbone"] == {"open_clip": "ViT-L-14-quickgelu", "pretrained": "openai",
                                "architecture": card["backbone"]["architecture"]}
    assert "NOT the ViT-L/14 architecture" in card["backbone"]["architecture"]  # honest about the stand-in
    check_parity("univfd (backbone from the hub cache)", out,
                 H.reference_scores(H.UnivFDReference(clip, head), H.clip_transform(), images), images)
    (snapshot / "open_clip_pytorch_model.bin").unlink()  # not cached, offline: a one-line refusal, nothing built
    from fakescope.errors import UserError

    with pytest.raises(UserError, match="could not fetch"):
        convert_checkpoint("univfd", PUBLISHED / "univfd_fc_weights.pth", tmp_path / "u2", backbone="openai")


def test_rine_authors_layout_parity(tmp_path: Path, images: list[Path]) -> None:
    """A RINE head in the authors' layout (random, small) on a random open_clip tower."""
    from fakescope.convert import convert_checkpoint

    clip = H.clip_model(width=64, layers=4, patch=32, embed_dim=32)
    head = H.rine_head(width=64, blocks=4, nproj=2, proj_dim=16)
    torch.save(head, tmp_path / "model_2class_trainable.pth")
    save_file({f"visual.{k}": v.contiguous() for k, v in clip.visual.state_dict().items()}, str(tmp_path / "clip.safetensors"))
    out = convert_checkpoint("rine", tmp_path / "model_2class_trainable.pth", tmp_path / "rine", backbone=tmp_path / "clip.safetensors")
    check_parity("rine (authors' layout)", out, H.reference_scores(H.RineReference(clip, head), H.clip_transform(), images), images)


def test_rine_real_head_parity(tmp_path: Path, images: list[Path]) -> None:
    """The real released RINE 2-class head: it needs 1024-d tokens from 24 blocks, so the random tower keeps
    ViT-L/14's width and depth (the whole key mapping) with patch 32 and a narrow MLP for speed."""
    from fakescope.convert import convert_checkpoint

    t0 = time.time()
    clip = H.clip_model(width=1024, layers=24, patch=32, embed_dim=768, mlp_ratio=0.125)
    backbone = tmp_path / "clip.bin"
    torch.save({k: v for k, v in clip.state_dict().items() if k.startswith("visual.")}, backbone)
    out = convert_checkpoint("rine", PUBLISHED / "rine_model_2class_trainable.pth", tmp_path / "rine", backbone=backbone)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["arch_args"]["nproj"] == 4 and cfg["arch_args"]["proj_dim"] == 128
    assert cfg["arch_args"]["clip_config"]["vision_cfg"]["layers"] == 24
    head = torch.load(PUBLISHED / "rine_model_2class_trainable.pth", weights_only=True, map_location="cpu")
    reference = H.reference_scores(H.RineReference(clip, head), H.clip_transform(), images)
    check_parity("rine (real head)", out, reference, images)
    print(f"rine real head: {time.time() - t0:.1f} s")


def test_refuses_arbitrary_pickles_and_wrong_files(tmp_path: Path) -> None:
    from fakescope.convert import convert_checkpoint
    from fakescope.errors import UserError

    whole = tmp_path / "whole_model.pth"
    torch.save(nn.Linear(2048, 1), whole)  # a pickled module, not a state dict: the real CLI refuses it
    proc = run_cli("convert", "cnndetection", whole, "--out", tmp_path / "x")
    assert proc.returncode == 2 and "arbitrary unpickling" in proc.stderr and not (tmp_path / "x").exists()
    out = tmp_path / "z"
    with pytest.raises(UserError, match="--backbone"):  # a head-only family without its backbone
        convert_checkpoint("univfd", PUBLISHED / "univfd_fc_weights.pth", out)
    with pytest.raises(UserError, match="not a CNNDetection"):  # the wrong family for a file
        convert_checkpoint("cnndetection", PUBLISHED / "rine_model_2class_trainable.pth", out)
    with pytest.raises(UserError, match="unknown published family .*commfor"):
        convert_checkpoint("dire", PUBLISHED / "univfd_fc_weights.pth", out)
    with pytest.raises(FileNotFoundError):
        convert_checkpoint("npr", tmp_path / "missing.pth", out)
    broken = tmp_path / "broken.pth"
    broken.write_bytes((PUBLISHED / "univfd_fc_weights.pth").read_bytes()[:1000])
    with pytest.raises(UserError, match="cannot read"):
        convert_checkpoint("npr", broken, out)
    with pytest.raises(UserError, match="whole network"):  # complete checkpoints take no backbone
        convert_checkpoint("npr", PUBLISHED / "univfd_fc_weights.pth", out, backbone=broken)
    clip = H.clip_model(width=64, layers=2, patch=32, embed_dim=32)
    torch.save(clip.state_dict(), tmp_path / "clip.bin")
    with pytest.raises(UserError, match="24 blocks but the backbone has 2"):  # RINE head vs a 2-block tower
        convert_checkpoint("rine", PUBLISHED / "rine_model_2class_trainable.pth", out, backbone=tmp_path / "clip.bin")
    with pytest.raises(UserError, match="768-d features"):  # UnivFD head vs a tower projecting to 32-d
        convert_checkpoint("univfd", PUBLISHED / "univfd_fc_weights.pth", out, backbone=tmp_path / "clip.bin")
    assert not out.exists()


def test_families_listed_and_recognised_in_repos() -> None:
    from fakescope.convert import FAMILIES, checkpoint_in_repo, family_of_repo

    assert set(FAMILIES) == {"cnndetection", "npr", "univfd", "rine", "commfor"}
    assert "ViT-L/14" in FAMILIES["rine"]["backbone"] and FAMILIES["commfor"]["backbone"].startswith("none")
    from typer.testing import CliRunner

    from fakescope.cli.app import build_app

    result = CliRunner().invoke(build_app(), ["models", "--json"])  # in-process: the same app the console script runs
    assert result.exit_code == 0, result.output
    listed = {d["name"]: d for d in json.loads(result.stdout)}
    assert listed["univfd"]["licence"].startswith("MIT") and listed["rine"]["licence"].startswith("Apache-2.0")
    hub_cf = {"repo_id": "OwensLab/commfor-model-384", "config": {"input_size": 384, "patch_size": 16, "model_size": "small"}}
    assert family_of_repo(["README.md", "config.json", "model.safetensors"], hub_cf) == "commfor"
    assert family_of_repo(["pretrained_weights/fc_weights.pth", "README.md"], {}) == "univfd"
    assert family_of_repo(["ckpt/model_4class_trainable.pth"], {}) == "rine"
    assert family_of_repo(["weights/blur_jpg_prob0.1.pth"], {}) == "cnndetection"
    fakescope_repo = {"config": {"architecture": "cnn-small", "preprocess": {}}}
    assert family_of_repo(["config.json", "model.safetensors"], fakescope_repo) is None
    assert family_of_repo(["config.json", "model.safetensors"], {"repo_id": "someone/marine-classifier"}) is None
    assert checkpoint_in_repo(["README.md", "ckpt/model_2class_trainable.pth"], "rine") == "ckpt/model_2class_trainable.pth"
    assert checkpoint_in_repo(["config.json", "model.safetensors"], "commfor") == "model.safetensors"
