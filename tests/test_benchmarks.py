"""`fakescope benchmark cross-generator` and `robustness`, and `train --subset`, through the real CLI
on real data: the GenImage tree (8x8), Community Forensics by model_name (tiny subsets), reports."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, run_cli_json
from fakescope.data import open_source
from fakescope.metrics import binary_metrics
from fakescope.eval.published import GENIMAGE_RESNET50_SD14_ROW
from fakescope.inference import TorchBackend, score_items
from fakescope.models import load_model, read_config
from fakescope.train import TrainOptions
from fakescope.data.selection import Selection

GENIMAGE_ORDER = ["Midjourney", "SD14", "SD15", "ADM", "GLIDE", "Wukong", "VQDM", "BigGAN"]
FAST = ("--threads", "1", "--no-progress")


def test_train_subset_keeps_only_that_subset(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "adm"
    proc = run_cli("train", "--data", shared / "genimage-tree", "--model", "spectral", "--subset", "ADM", "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = read_config(out).training["data"]
    expected = [s for s in open_source(shared / "genimage-tree", split="train") if s.subset == "ADM"]
    assert data["subset"] == "ADM"
    assert (data["train"]["real"], data["train"]["fake"]) == (sum(s.label == 0 for s in expected), sum(s.label == 1 for s in expected))
    assert data["train"]["generators"] == {"ADM": 10}
    assert data["validation"]["n"] == 4 and data["validation"]["generators"] == {"ADM": 3}  # the val split, same subset
    assert data["fingerprint"] != open_source(shared / "genimage-tree", split="train").fingerprint()
    # runs without --subset keep their identity (checkpoints from before the option still resume)
    assert "subset" not in TrainOptions(data="d", model="spectral", out="o").identity()
    missing = run_cli("train", "--data", shared / "genimage-tree", "--model", "spectral", "--subset", "NoSuchGen",
                      "--out", tmp_path / "none", "--no-progress")
    assert missing.returncode == 2 and "needs both classes" in missing.stderr


@pytest.fixture(scope="module")
def genimage_crossgen(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("crossgen_genimage")
    return out, run_cli_json("benchmark", "cross-generator", "--data", shared / "genimage-tree", "--model", "spectral",
                             "--out", out, *FAST)


def test_cross_generator_on_the_genimage_tree(genimage_crossgen: tuple[Path, dict], shared: Path) -> None:
    out, doc = genimage_crossgen
    assert doc == json.loads((out / "crossgen.json").read_text())
    assert doc["subsets"] == GENIMAGE_ORDER  # GenImage Table 3's column order
    acc = doc["matrix"]["values"]
    assert len(acc) == 8 and all(len(r) == 8 for r in acc) and all(v is not None and 0 <= v <= 1 for r in acc for v in r)
    for i, s in enumerate(GENIMAGE_ORDER):
        assert doc["row_average"][s]["value"] == pytest.approx(np.mean(acc[i])) and doc["row_average"][s]["n_cells"] == 8
    assert doc["overall_mean"]["value"] == pytest.approx(np.mean(acc)) and doc["overall_mean"]["n_cells"] == 64
    assert doc["data"]["test"] == "split 'val'"
    # every detector trained on its own subset only, and never on a test image (train vs val split)
    for s in GENIMAGE_ORDER:
        cfg = read_config(out / "models" / s)
        assert cfg.training["data"]["subset"] == s and cfg.training["data"]["split"] == "train"
        assert cfg.training["data"]["train"]["generators"] == {s: doc["counts"][s]["train_fake"]}
    # one cell recomputed independently: the SD14 detector on the ADM subset's val images
    model, config = load_model(out / "models" / "SD14")
    samples = [x for x in open_source(shared / "genimage-tree", split="val") if x.subset == "ADM"]
    scores = [r.score for r in score_items(TorchBackend(model, config), samples, lambda x: x.image())]
    cell = doc["matrix"]["cells"][1][3]
    assert cell["accuracy"] == pytest.approx(binary_metrics([x.label for x in samples], scores, config.threshold)["accuracy"])
    assert (cell["n_real"], cell["n_fake"]) == (1, 3)
    # the published row is there, labelled, never mixed with ours
    pub = doc["published"]
    assert pub["label"] == "published, Zhu et al. 2023, not ours" and pub["trained_on"] == "SD14"
    assert pub["row"] == {k: v / 100 for k, v in GENIMAGE_RESNET50_SD14_ROW.items()} and pub["row_average"] == pytest.approx(0.721)
    rows = list(csv.reader(open(out / "crossgen_accuracy.csv")))
    assert rows[0][1:] == [*GENIMAGE_ORDER, "row_average"] and [r[0] for r in rows[1:]] == GENIMAGE_ORDER
    np.testing.assert_allclose([[float(v) for v in r[1:9]] for r in rows[1:]], acc, atol=1e-6)
    assert (out / "figures" / "crossgen_accuracy.png").stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert "ResNet-50 (published, Zhu et al. 2023, not ours)" in html and "99.9" in html


def test_cross_generator_reuses_trained_detectors(genimage_crossgen: tuple[Path, dict], shared: Path) -> None:
    out, first = genimage_crossgen
    proc = run_cli("benchmark", "cross-generator", "--data", shared / "genimage-tree", "--model", "spectral", "--out", out,
                   "--subset", "SD14", "--subset", "BigGAN", *FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("reusing the detector already trained") == 2
    doc = json.loads(proc.stdout)
    assert doc["subsets"] == ["SD14", "BigGAN"]
    assert doc["matrix"]["values"][0][1] == first["matrix"]["values"][1][7]  # same detector, same test images
    (out / "crossgen.json").write_text(json.dumps(first))  # leave the full run's result for the report test


def test_cross_generator_on_community_forensics_by_model_name(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "cg"
    doc = run_cli_json("benchmark", "cross-generator", "--data", shared / "commfor-sample", "--model", "spectral",
                       "--out", out, "--test-fraction", "0.3", *FAST)
    subsets = doc["subsets"]
    names = {s.subset for s in open_source(shared / "commfor-sample")}
    assert len(subsets) == 13 and set(subsets) == names
    assert doc["data"]["test"].startswith("30% of split 'train' held out by key hash")
    holdout = Selection(holdout_fraction=0.3, side="val")
    test_keys = {s.key for s in open_source(shared / "commfor-sample") if holdout(s)}
    for i, s in enumerate(subsets):
        c = doc["counts"][s]
        model = doc["models"][s]
        if c["train_real"] == 0 or c["train_fake"] == 0:  # pix2pix, progan, realgan: one real and one fake in all
            assert model["model_dir"] is None and "no training detector" in model["reason"]
            assert all(v is None for v in doc["matrix"]["values"][i])
            assert doc["row_average"][s] == {"value": None, "n_cells": 0}
            continue
        cfg = read_config(model["model_dir"])
        assert cfg.training["data"]["train"]["n"] == c["train_real"] + c["train_fake"]
        assert cfg.training["data"]["validation"]["n"] == sum(1 for x in open_source(shared / "commfor-sample")
                                                             if x.subset == s and x.key in test_keys)
        for j, t in enumerate(subsets):
            cell = doc["matrix"]["cells"][i][j]
            tc = doc["counts"][t]
            if tc["test_real"] == 0 or tc["test_fake"] == 0:
                assert cell["accuracy"] is None and cell["reason"].startswith("too few test images")
            else:
                assert 0 <= cell["accuracy"] <= 1 and cell["n"] == tc["test_real"] + tc["test_fake"]
    defined = [v for r in doc["matrix"]["values"] for v in r if v is not None]
    assert len(defined) == doc["overall_mean"]["n_cells"] >= 25 and doc["overall_mean"]["value"] == pytest.approx(np.mean(defined))
    assert doc["published"] is None  # not GenImage: no published row is printed
    assert (out / "report.html").exists() and (out / "crossgen_auroc.csv").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--data", "{shared}/genimage-tree", "--model", "no-such-detector"], "unknown detector"),
        (["--data", "{shared}/cifake", "--model", "spectral"], "no sample has a subset"),
        (["--data", "{shared}/genimage-tree", "--model", "spectral", "--subset", "DALLE"], "not in"),
        (["--data", "{shared}/genimage-tree", "--model", "spectral", "--test-fraction", "1.5"], "--test-fraction"),
    ],
)
def test_bad_cross_generator_arguments_exit_2(args: list[str], fragment: str, shared: Path, tmp_path: Path) -> None:
    proc = run_cli("benchmark", "cross-generator", *[a.format(shared=shared) for a in args], "--out", tmp_path / "o", "--no-progress")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def robustness_run(cifake_spectral: Path, genimage_both: Path, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("robustness")
    return out, run_cli_json("benchmark", "robustness", "--model", cifake_spectral, "--model", genimage_both, "--data",
                             shared / "cifake", "--out", out, "--max-samples", "200", "--bootstrap", "200", *FAST)


def test_robustness_runs_evaluate_with_genimage_degradations(robustness_run: tuple[Path, dict], cifake_spectral: Path,
                                                            genimage_both: Path) -> None:
    out, doc = robustness_run
    conditions = ["clean", "resize:112", "resize:64", "jpeg:65", "jpeg:30", "blur:3", "blur:5"]
    assert [c["name"] for c in doc["conditions"]] == conditions
    names = list(doc["models"])  # both fixture directories are called "model": their parent folders tell them apart
    assert len(set(names)) == 2 and all(n.endswith("_model") for n in names)
    assert [doc["models"][n]["dir"] for n in names] == [str(cifake_spectral), str(genimage_both)]
    for name, m in doc["models"].items():
        metrics = json.loads((out / m["evaluation"]).read_text())
        assert list(metrics["conditions"]) == conditions
        for c in conditions:
            assert m["conditions"][c] == metrics["conditions"][c]["overall"]
            assert m["conditions"][c]["n"] == 200
    rows = list(csv.DictReader(open(out / "robustness.csv")))
    assert len(rows) == 14 and {r["condition"] for r in rows} == set(conditions)
    second = next(r for r in rows if r["model"] == names[1] and r["condition"] == "jpeg:30")
    assert float(second["auroc"]) == pytest.approx(doc["models"][names[1]]["conditions"]["jpeg:30"]["auroc"])
    # 32 px CIFAKE images: down-sampling to 112 or 64 never up-samples, so those rows equal clean, and the record says why
    first = doc["models"][names[0]]["conditions"]
    assert first["resize:64"]["auroc"] == first["clean"]["auroc"]
    proto = json.loads((out / names[0] / "metrics.json").read_text())["protocol"]["conditions"]
    assert "Published: GenImage Table 5" not in (out / "report.html").read_text()  # CIFAKE is not GenImage
    assert next(c for c in proto if c["name"] == "resize:64")["unchanged_images_this_run"] == 200


@pytest.mark.browser
def test_benchmark_reports_open_in_chromium(genimage_crossgen: tuple[Path, dict], robustness_run: tuple[Path, dict],
                                            tmp_path: Path) -> None:
    from browserhelpers import inspect_page

    shots = Path(os.environ.get("FAKESCOPE_SCREENSHOTS", tmp_path))
    for out, expected, texts, shot in (
        (genimage_crossgen[0], {"crossgen_accuracy", "crossgen_auroc"},
         ("Accuracy matrix", "row avg.", "published, Zhu et al. 2023, not ours", "Overall mean"), "crossgen_report.png"),
        (robustness_run[0], {"robustness_accuracy", "robustness_auroc"}, ("Accuracy [95% CI]", "AUROC [95% CI]", "blur:5"),
         "robustness_report.png"),
    ):
        page = inspect_page(out / "report.html", shots / shot)
        assert page["errors"] == [] and page["external"] == []
        figures = {name: (complete, width) for name, complete, width in page["images"]}
        assert set(figures) == expected and all(c and w > 0 for c, w in figures.values()), figures
        for text in texts:
            assert text in page["text"], text
