"""Shared fixtures: the real data in ../shared/data, awkward files, and the real CLI entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAKESCOPE_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


def pytest_configure(config: pytest.Config) -> None:
    if not SHARED.is_dir():
        pytest.exit(f"the shared data folder {SHARED} is missing: tests read real images from it", returncode=3)


def fakescope_bin() -> str:
    """The installed console script (the real entry point), next to this interpreter."""
    candidate = Path(sys.executable).with_name("fakescope")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("fakescope")
    if found is None:
        raise RuntimeError("the fakescope console script is not installed (pip install -e .)")
    return found


def run_cli(*args: str, input: str | None = None, timeout: float = 600, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if env:
        full_env.update(env)
    return subprocess.run(
        [fakescope_bin(), *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(cwd or REPO),
    )


def run_cli_json(*args: str, **kw) -> dict:
    proc = run_cli(*args, **kw)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def awkward_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image folder mixing real CIFAKE images with every awkward file kind, in 0_real/1_fake."""
    from PIL import Image

    from fakescope.testing.badfiles import make_awkward_files

    root = tmp_path_factory.mktemp("awkward")
    real_dir, fake_dir = root / "0_real", root / "1_fake"
    real_dir.mkdir()
    fake_dir.mkdir()
    for i, src in enumerate(sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[:5]):
        shutil.copy(src, real_dir / f"good_{i}.jpg")
    for i, src in enumerate(sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[:5]):
        shutil.copy(src, fake_dir / f"good_{i}.jpg")
    base = Image.open(SHARED / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    make_awkward_files(real_dir, base)
    (root / "README.txt").write_text("not an image, not an image extension: ignored\n")
    return root


def _train_fixture_model(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str) -> Path:
    out = tmp_path_factory.mktemp(name) / "model"
    proc = run_cli("train", "--out", out, "--no-progress", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def cifake_cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small cnn-small trained briefly on the CIFAKE folder's train split (a real, if weak, model)."""
    return _train_fixture_model(tmp_path_factory, "cifake_cnn", "--data", SHARED / "cifake", "--model", "cnn-small",
                                "--epochs", "2", "--arch-args", '{"widths": [16, 32, 64]}')


@pytest.fixture(scope="session")
def cifake_spectral(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spectral baseline fitted on the CIFAKE folder's train split (32 px)."""
    return _train_fixture_model(tmp_path_factory, "cifake_spectral", "--data", SHARED / "cifake", "--model", "spectral",
                                "--image-size", "32")


@pytest.fixture(scope="session")
def genimage_both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spectral model with binary and generator heads, fitted on Tiny GenImage's train split."""
    return _train_fixture_model(tmp_path_factory, "genimage_both", "--data", SHARED / "tiny-genimage-sample",
                                "--model", "spectral", "--task", "both", "--image-size", "128")
