"""Kill-and-resume (SIGKILL mid-epoch), same-seed reproducibility, and 2-process DDP training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import fakescope_bin, run_cli
from trainhelpers import saved_val_scores, train_log

ARGS = ["--model", "cnn-small", "--arch-args", '{"widths": [8, 16, 32]}', "--max-samples", "600", "--epochs", "3",
        "--batch-size", "32", "--checkpoint-every", "4", "--no-progress"]


def _train(shared: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = run_cli("train", "--data", shared / "cifake", "--out", out, *ARGS, *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _final(out: Path) -> tuple[dict, dict]:
    config = json.loads((out / "config.json").read_text())
    return config["metrics"]["validation"], saved_val_scores(out)


@pytest.fixture(scope="module")
def reference(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "model"
    _train(shared, out)
    return out


def test_same_seed_same_metrics(shared: Path, reference: Path, tmp_path: Path) -> None:
    _train(shared, tmp_path / "again")
    assert _final(tmp_path / "again") == _final(reference)
    assert [r["train_loss"] for r in train_log(tmp_path / "again")] == [r["train_loss"] for r in train_log(reference)]


def test_sigkill_mid_epoch_then_resume(shared: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    cmd = [fakescope_bin(), "train", "--data", str(shared / "cifake"), "--out", str(out), *ARGS]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    state_file = out / "checkpoint" / "state.json"
    killed_at = None
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state_file.exists():
            try:
                state = json.loads(state_file.read_text())["train_state"]
            except (ValueError, OSError):
                state = None
            if state and state["epoch"] >= 1 and state["step_in_epoch"] > 0:  # inside epoch 2
                proc.send_signal(signal.SIGKILL)
                killed_at = state
                break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert killed_at is not None, "the run ended before a mid-epoch checkpoint appeared"
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "config.json").exists()  # the run had not finished
    done_before = [r["epoch"] for r in train_log(out)]
    assert done_before and done_before[0] == 1

    resumed = run_cli("train", "--data", shared / "cifake", "--out", out, *ARGS)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr
    assert [r["epoch"] for r in train_log(out)] == [1, 2, 3]  # no finished epoch lost, none repeated
    # Exact resume: model, optimiser, RNG and data position restored -> the uninterrupted result.
    assert _final(out) == _final(reference)


def test_resume_refuses_a_different_run(shared: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    import shutil

    shutil.copytree(reference, out)
    proc = run_cli("train", "--data", shared / "cifake", "--out", out, *ARGS[:-1], "--lr", "0.5", "--no-progress")
    assert proc.returncode == 2
    assert "checkpoint of a different run" in proc.stderr


def test_ddp_two_cpu_processes(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "fakescope",
           "train", "--data", str(shared / "cifake"), "--out", str(out), "--model", "cnn-small", "--arch-args",
           '{"widths": [16, 32, 64]}', "--max-samples", "900", "--epochs", "5", "--batch-size", "32", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["world_size"] == 2
    train_n = config["training"]["data"]["train"]["n"]
    log = train_log(out)
    assert [r["epoch"] for r in log] == [1, 2, 3, 4, 5]
    # each rank read its own shard: together they saw every training image exactly once per epoch
    assert all(r["train_images"] == train_n for r in log)
    val = config["metrics"]["validation"]["binary"]
    assert val["n"] == config["training"]["data"]["validation"]["n"]  # metrics reduced over both ranks
    assert val["auroc"] > 0.6 and val["accuracy"] > 0.55
    assert log[-1]["train_loss"] < log[0]["train_loss"] + 0.05
    # only rank 0 wrote: one model directory, one log, loadable
    from fakescope.models import load_model

    model, cfg = load_model(out)
    assert cfg.architecture == "cnn-small"
    assert len(saved_val_scores(out)) == val["n"]
