"""The onnxruntime backend: the `Backend` protocol over an exported graph (`--backend onnx`).

Importing this module registers it as `runner.BACKENDS["onnx"]`. Pixels are prepared exactly as
for torch (`models.preprocess`: same decode, same resize/crop, `normalization_arrays` from the
model's config), and the logits become scores through the same `fake_probability` /
`generator_probabilities` as torch, so both backends agree to float rounding.

Threads: onnxruntime's default is one intra-op thread per *logical* core and spinning workers.
We use the physical cores (hyper-threads share one FPU), one inter-op thread (these graphs are a
single chain), full graph optimisation, and no spin-waiting when the caller asks for fewer threads
than cores (a shared machine: a spinning thread steals a core another process needs).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from fakescope.models import ModelConfig, read_config
from fakescope.models.net import fake_probability, generator_probabilities
from fakescope.models.preprocess import normalization_arrays

from . import runner
from .runner import physical_cores
from .onnx_export import INPUT_NAME, onnx_file_for


def session_options(threads: int | None = None):  # -> onnxruntime.SessionOptions
    import onnxruntime as ort

    cores = physical_cores()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or cores
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads and threads < cores:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OnnxBackend:
    def __init__(self, onnx_path: str | os.PathLike[str], config: ModelConfig, threads: int | None = None,
                 device: str = "cpu") -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ValueError("onnxruntime has no CUDA provider here; use --device cpu or --backend torch")
            providers.insert(0, "CUDAExecutionProvider")
        self.path = Path(onnx_path)
        self.config = config
        self.session = ort.InferenceSession(str(self.path), sess_options=session_options(threads), providers=providers)
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.mean, self.std = normalization_arrays(config.preprocess)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"expected a uint8 NHWC batch, got {batch.shape} {batch.dtype}")
        x = batch.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)  # the same ops as to_input
        x = np.ascontiguousarray((x - self.mean) / self.std)
        outs = dict(zip(self.output_names, self.session.run(self.output_names, {INPUT_NAME: x})))
        logits = {name: torch.from_numpy(value) for name, value in outs.items()}
        gen = generator_probabilities(logits)
        return fake_probability(logits).numpy().astype(np.float64), (gen.numpy() if gen is not None else None)


def _onnx_backend(model_dir: Path, device: str, threads: int | None) -> OnnxBackend:
    return OnnxBackend(onnx_file_for(model_dir), read_config(model_dir), threads=threads, device=device)


runner.BACKENDS["onnx"] = _onnx_backend
