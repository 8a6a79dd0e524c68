"""Importing fakescope (every module) and building models never initialises CUDA."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import importlib, pkgutil, torch
import fakescope
for m in pkgutil.walk_packages(fakescope.__path__, "fakescope."):
    if m.name.startswith(("fakescope.serve", "fakescope.detect.ray")):
        continue  # optional extras, imported only when used
    importlib.import_module(m.name)
from fakescope.models import ModelConfig, create_model, default_preprocess, list_detectors
create_model(ModelConfig(architecture="cnn-small", preprocess=default_preprocess("cnn-small")))
assert len(list_detectors()) >= 5
print("cuda initialised:", torch.cuda.is_initialized())
"""


def test_no_cuda_initialisation() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cuda initialised: False" in proc.stdout
