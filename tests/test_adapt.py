"""`fakescope adapt`: a frozen-feature detector fitted to a user's own folder, end to end, and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_cli, run_cli_json

NAME = json.loads((Path(__file__).resolve().parents[1] / "src/fakescope/weights/native/config.json").read_text())["name"]


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    """What a user brings: 0_real / 1_fake folders (CNNDetection's five GANs), plus two unreadable files."""
    root = tmp_path_factory.mktemp("mine")
    for label in ("0_real", "1_fake"):
        (root / label).mkdir()
        for src in sorted((shared / "cnndetection_ranking").glob(f"*/{label}/*.jpg")):
            shutil.copy(src, root / label / f"{src.parent.parent.name}_{src.name}")
    (root / "0_real" / "notes.jpg").write_text("not an image\n")
    good = next((root / "1_fake").iterdir()).read_bytes()
    (root / "1_fake" / "cut.jpg").write_bytes(good[: len(good) // 3])
    return root


@pytest.fixture(scope="module")
def adapted(user_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("adapted") / "mine"
    result = run_cli_json("adapt", user_folder, "--model", "native", "--out", out, "--min-per-class", "5")
    return out, result


def test_adapt_writes_a_calibrated_model_with_its_card(adapted: tuple[Path, dict]) -> None:
    out, result = adapted
    m = result["measured"]
    assert m["holdout_n"] == m["holdout_real"] + m["holdout_fake"] >= 15
    assert m["adapted_auroc"] > m["base_auroc"]  # the point of adapting: better on the user's own images
    assert 0.0 <= m["wrong_verdict_rate"] <= 0.05 + 1e-9  # the hold-out's operating point for FPR/FNR 0.05
    skipped = sum(result["skipped"]["adaptation"].values()) + sum(result["skipped"]["hold-out"].values())
    assert skipped == 2  # the text file and the truncated JPEG are counted, not fatal
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["adapted_from"]["name"] == NAME and config["name"] == f"{NAME}-adapted"
    assert config["operating_point"]["fitted_on"].startswith("the adaptation hold-out")
    assert config["domain"]["ood"]["threshold"] > 0 and (out / "ood.safetensors").is_file()
    card = (out / "MODEL_CARD.md").read_text()
    assert f"images: {m['holdout_n']} ({m['holdout_real']} real, {m['holdout_fake']} fake)" in card
    assert f"adapted {m['adapted_auroc']:.4f}, base model {m['base_auroc']:.4f}" in card


def test_adapted_model_is_served_by_every_surface(adapted: tuple[Path, dict], user_folder: Path, tmp_path: Path) -> None:
    out, _ = adapted
    image = sorted((user_folder / "1_fake").glob("stylegan_*.jpg"))[0]
    rows = [json.loads(line) for line in run_cli("detect", image, "--model", out, "--format", "jsonl").stdout.splitlines()]
    assert rows[0]["verdict"] in ("fake", "real", "uncertain") and rows[0].get("error") is None
    assert rows[0]["answered_by"] is None or rows[0]["answered_by"].startswith(f"model:{NAME}-adapted@")
    pipeline = tmp_path / "mine.json"
    pipeline.write_text(json.dumps({"name": "mine", "stages": [{"stage": "evidence"}, {"stage": "models", "models": [
        {"model": str(out)}]}, {"stage": "fallback"}]}))
    from fakescope import Detector

    detector = Detector.load(pipeline=str(pipeline))
    result = detector.predict(str(image))
    assert result["score"] == pytest.approx(rows[0]["score"], abs=1e-6)


def test_generator_head_survives_adaptation(adapted: tuple[Path, dict], user_folder: Path) -> None:
    """The generator head is re-expressed for the new standardisation: its probabilities do not move."""
    from fakescope.data.decode import decode_image
    from fakescope.models import load_model
    from fakescope.models.hub import resolve_model
    from fakescope.models.net import generator_probabilities
    from fakescope.models.preprocess import prepare, to_input

    out, _ = adapted
    base, base_cfg = load_model(resolve_model("native"))
    mine, cfg = load_model(out)
    files = sorted((user_folder / "1_fake").glob("*_*.jpg"))[:4]
    x = to_input(np.stack([prepare(decode_image(f.read_bytes()), cfg.preprocess) for f in files]), cfg.preprocess)
    with torch.no_grad():
        a, b = generator_probabilities(base(x)), generator_probabilities(mine(x))
    assert torch.allclose(a, b, atol=1e-4)
    assert cfg.generators == base_cfg.generators


@pytest.mark.parametrize("args, message", [
    (["{shared}/genimage_biggan_fixtures"], "one class only"),
    (["{shared}/cnndetection_ranking", "--min-per-class", "30"], "too few images"),
    (["{shared}/cnndetection_ranking", "--model", "default"], "trained end to end"),
    (["{shared}/native-pool/manifest.csv", "--split", "test"], "test split"),
    (["{shared}/cnndetection_ranking", "--holdout", "0.95"], "--holdout"),
])
def test_adapt_refuses_what_it_cannot_do_in_one_line(args: list[str], message: str, shared: Path, tmp_path: Path) -> None:
    full = [a.format(shared=shared) for a in args]
    if "--model" not in full:
        full += ["--model", "native"]
    proc = run_cli("adapt", *full, "--out", tmp_path / "m")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "m").exists()
