#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install fakescope into it.
#   bash scripts/setup.sh            # the package with every optional extra (service, ONNX, Ray)
#   bash scripts/setup.sh test       # ... plus the test tools
# FAKESCOPE_VENV chooses the environment's folder (default: .venv in the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FAKESCOPE_VENV:-.venv}"
extras="all${1:+,$1}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# requirements/constraints.txt pins every dependency to versions proven together on these machines
# (torch 2.14.1 + torchvision 0.29.2 from PyPI: the local CPU torch 2.13.0 breaks torchvision::nms).
"$venv/bin/python" -m pip install -qq --disable-pip-version-check -c requirements/constraints.txt -e ".[$extras]"
"$venv/bin/python" -c "import torch, torchvision, timm; from torchvision.ops import nms; print(f'fakescope env ready: torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}')"
