"""What a result was produced with: library versions, machine, device (recorded in every model/result)."""

from __future__ import annotations

import os
import platform
from typing import Any


def environment_record() -> dict[str, Any]:
    import numpy
    import PIL
    import torch

    from fakescope.version import __version__

    record: dict[str, Any] = {
        "fakescope": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    try:
        import timm

        record["timm"] = timm.__version__
    except ImportError:  # pragma: no cover - timm is a core dependency
        pass
    if torch.cuda.is_available():  # only asked here, at record time, never at import time
        record["cuda_device"] = torch.cuda.get_device_name(0)
    return record
