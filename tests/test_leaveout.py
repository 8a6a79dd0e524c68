"""`fakescope benchmark cross-generator --leave-one-out` on the real native-pool set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import SHARED, run_cli, run_cli_json

NATIVE_POOL = SHARED / "native-pool" / "manifest.csv"


def _test_counts() -> tuple[int, dict[str, int]]:
    rows = [r for r in csv.DictReader(NATIVE_POOL.open()) if r["split"] == "test"]
    fakes: dict[str, int] = {}
    for r in rows:
        if r["label"] == "1":
            fakes[r["generator"]] = fakes.get(r["generator"], 0) + 1
    return sum(r["label"] == "0" for r in rows), fakes


def test_leave_one_out_rows_raw_and_aligned(tmp_path: Path) -> None:
    out = tmp_path / "loo"
    doc = run_cli_json("benchmark", "cross-generator", "--leave-one-out", "--data", NATIVE_POOL, "--model", "spectral",
                       "--out", out, "--subset", "StyleGAN3", "--subset", "DeepFloyd-IF", "--max-samples", "150",
                       "--threads", "1", "--no-progress", env={"OMP_NUM_THREADS": "1"}, timeout=600)
    n_real, fakes = _test_counts()
    assert [r["held_out"] for r in doc["rows"]] == ["DeepFloyd-IF", "StyleGAN3"]
    for row in doc["rows"]:
        g = row["held_out"]
        for scoring in ("raw", "aligned"):
            cell = row[scoring]
            assert cell["n_real"] == n_real and cell["n_fake"] == fakes[g]
            assert 0.0 <= cell["auroc"] <= 1.0
        trained = json.loads((out / "models" / g / "config.json").read_text())["training"]["data"]
        assert trained["excluded_subset"] == g and g not in trained["train"]["generators"]
        assert trained["train"]["real"] > 0  # every real stays in training
    assert doc["protocol"]["scorings"]["aligned"]["spec"] == "jpeg:96"
    lines = (out / "leaveout.csv").read_text().splitlines()
    assert lines[0].startswith("held_out,test_fakes,test_reals,auroc_raw,auroc_aligned") and len(lines) == 3
    # A rerun with the same settings reuses the trained detectors instead of training again.
    again = run_cli("benchmark", "cross-generator", "--leave-one-out", "--data", NATIVE_POOL, "--model", "spectral",
                    "--out", out, "--subset", "StyleGAN3", "--max-samples", "150", "--threads", "1", "--no-progress")
    assert again.returncode == 0 and "reusing" in again.stderr


def test_leave_one_out_refuses_an_unknown_generator(tmp_path: Path) -> None:
    proc = run_cli("benchmark", "cross-generator", "--leave-one-out", "--data", NATIVE_POOL, "--model", "spectral",
                   "--out", tmp_path / "x", "--subset", "NoSuchGAN")
    assert proc.returncode == 2 and "NoSuchGAN" in proc.stderr and "SD14" in proc.stderr
