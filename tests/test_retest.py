"""`fakescope benchmark published` end to end: a converted published detector (NPR, authors' layout,
random weights) and the shipped default model re-tested raw, format-aligned and degraded on real
GenImage images, through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import convert_helpers as H
from conftest import REPO, SHARED, run_cli_json


def test_published_retest_table(tmp_path: Path) -> None:
    H.npr_checkpoint(tmp_path / "NPR.pth", H.real_images())
    converted = run_cli_json("convert", "npr", tmp_path / "NPR.pth", "--out", tmp_path / "npr")  # the real CLI, as a user
    npr_dir = Path(converted["model_dir"])
    assert converted["architecture"] == "npr-resnet" and converted["source"]["family"] == "npr"
    default = REPO / "src" / "fakescope" / "weights" / "default"
    out = tmp_path / "retest"
    doc = run_cli_json("benchmark", "published", "--models", npr_dir, "--models", default, "--data", SHARED / "genimage-tree",
                       "--split", "val", "--out", out, "--degrade", "jpeg:65", "--degrade", "resize:64", "--max-samples", "10",
                       "--bootstrap", "0", "--no-progress", "--threads", "1", "--no-model-reports")
    assert doc["columns"] == ["raw", "aligned jpeg:96", "jpeg:65", "resize:64"]
    assert list(doc["models"]) == ["npr", "default"] and doc["n_images"] == 10
    npr = doc["models"]["npr"]
    assert npr["family"] == "npr" and npr["source_sha256"] and doc["models"]["default"]["family"] is None
    assert "re-encoded as JPEG" in doc["alignment"]["operation"] or "jpeg" in doc["alignment"]["operation"].lower()
    # every cell is the evaluation it came from: raw columns from the raw run, the aligned one from the aligned run
    raw = json.loads((out / "npr" / "raw" / "metrics.json").read_text())
    aligned = json.loads((out / "npr" / "aligned" / "metrics.json").read_text())
    assert aligned["protocol"]["alignment"]["enabled"] and not raw["protocol"]["alignment"]["enabled"]
    assert npr["cells"]["raw"]["n_real"] >= 1 and npr["cells"]["raw"]["n_fake"] >= 1  # both classes: AUROC is defined
    assert npr["cells"]["raw"]["auroc"] is not None
    assert npr["cells"]["raw"]["auroc"] == raw["conditions"]["clean"]["overall"]["auroc"]
    assert npr["cells"]["jpeg:65"]["accuracy"] == raw["conditions"]["jpeg:65"]["overall"]["accuracy"]
    assert npr["cells"]["aligned jpeg:96"]["accuracy"] == aligned["conditions"]["clean"]["overall"]["accuracy"]
    accs = [npr["cells"][c]["accuracy"] for c in doc["columns"]]
    assert abs(npr["mean_accuracy"] - sum(accs) / len(accs)) < 1e-12
    table = (out / "retest.md").read_text()
    assert "| model | family | raw | aligned jpeg:96 | jpeg:65 | resize:64 | mean |" in table
    assert f"| npr | npr | {100 * npr['cells']['raw']['accuracy']:.1f} / " in table
    rows = list(csv.DictReader((out / "retest.csv").open()))
    assert len(rows) == 2 * 4 and {r["condition"] for r in rows} == set(doc["columns"])
    assert "Published detectors re-tested" in (out / "report.html").read_text()


def test_published_retest_refuses_a_non_model(tmp_path: Path) -> None:
    import pytest

    from fakescope.eval.retest import RetestOptions, retest

    with pytest.raises(FileNotFoundError, match="not a model directory"):
        retest(RetestOptions(models=[str(tmp_path)], data=str(SHARED / "genimage-tree"), out=str(tmp_path / "o")))
    from fakescope.errors import UserError

    with pytest.raises(UserError, match="at least one model"):
        retest(RetestOptions(models=[], data=str(SHARED / "genimage-tree"), out=str(tmp_path / "o")))
