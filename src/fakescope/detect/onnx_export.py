"""Export a model directory to ONNX, and find (or make) the ONNX file a model directory runs from.

The graph takes the *normalised* float NCHW batch (`input`, dynamic batch axis) and returns the
logits of the model's heads, named as `DetectorNet` names them: `binary` (N,) and/or `generator`
(N, G). Decoding, resize/crop and normalisation stay in Python, derived from config.json like for
the torch backend, so both backends see identical pixels.

Exporter: torch.onnx's dynamo exporter (`dynamo=True`, needs onnxscript). It is the supported one
in torch 2.14 and handles every registered detector, the CLIP tower of `clip-probe` included;
the legacy TorchScript exporter fails on CLIP's fused attention (`aten::_native_multi_head_attention`).

The file's metadata records what it was exported from: `fakescope_config` (config.json),
`weights_sha256` (of model.safetensors), `fakescope_version` and `torch_version`.

Where `Detector.load(DIR, backend="onnx")` finds its file (`onnx_file_for`):
1. DIR/model.onnx, when its `weights_sha256` matches DIR/model.safetensors;
2. else a fresh export to DIR/model.onnx when DIR is writable;
3. else (a read-only install, e.g. the shipped model in site-packages) a cache file
   `$FAKESCOPE_CACHE` (default `$XDG_CACHE_HOME/fakescope` or `~/.cache/fakescope`) /onnx/<sha>.onnx.
A stale file (weights changed since its export) is never used.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fakescope.errors import UserError
from fakescope.models.io import CONFIG, WEIGHTS, file_sha256, is_model_dir
from fakescope.utils.atomic import atomic_write_bytes

ONNX_FILE = "model.onnx"
INPUT_NAME = "input"
HEADS = ("binary", "generator")  # DetectorNet's output keys, in graph output order
# A guard against a broken export (those are off by 0.1 or more), checked on random pixels: noise
# is the hardest case for float32 rounding in the spectral detector's 128x128 DFT (7e-5 there,
# 2e-6 on real photographs). tests/test_onnx.py holds both backends to 1e-4 on real images.
CHECK_TOLERANCE = 1e-3


def cache_dir() -> Path:
    explicit = os.environ.get("FAKESCOPE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fakescope"


def _heads(model: Any) -> list[str]:
    return [h for h in HEADS if getattr(model, f"{h}_head", None) is not None]


def _graph_module(model: Any) -> Any:
    import torch

    class Heads(torch.nn.Module):
        """DetectorNet returns a dict; an exported graph returns a tuple in a fixed order."""

        def __init__(self, net: torch.nn.Module, names: list[str]) -> None:
            super().__init__()
            self.net = net
            self.names = names

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.net(x)
            return tuple(out[name] for name in self.names)

    return Heads(model, _heads(model)).eval()


def export_onnx(model_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, opset: int | None = None,
                check: bool = True) -> dict[str, Any]:
    """Export DIR to `out` (written atomically); returns a report (heads, sizes, check result, time)."""
    import onnx
    import torch

    from fakescope.version import __version__
    from fakescope.models import load_model

    start = time.perf_counter()
    directory = Path(model_dir)
    model, config = load_model(directory, device="cpu")
    sha = file_sha256(directory / WEIGHTS)
    graph = _graph_module(model)
    names = list(graph.names)
    height, width, _ = config.preprocess.canvas_shape  # square but for policy "views" (a column of views)
    example = torch.randn(2, 3, height, width)
    kwargs: dict[str, Any] = {"opset_version": opset} if opset else {}
    # The exporter reports its progress on stdout, where `fakescope` prints machine output.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph, (example,), None, input_names=[INPUT_NAME], output_names=names,
            dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False, **kwargs,
        )
    proto = program.model_proto
    meta = {
        "fakescope_config": config.to_json(),
        "weights_sha256": sha,
        "fakescope_version": __version__,
        "torch_version": torch.__version__,
        "outputs": ",".join(names),
    }
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    report: dict[str, Any] = {
        "onnx": str(out), "model_dir": str(directory), "architecture": config.architecture, "outputs": names,
        "input": [INPUT_NAME, ["batch", 3, height, width]], "opset": max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "weights_sha256": sha, "bytes": len(data),
    }
    if check:
        report["check_max_prob_diff"] = diff = _check(model, config, names, data)
        if diff > CHECK_TOLERANCE:
            raise UserError(f"the ONNX graph of {directory} disagrees with torch by {diff:.2e} in probability "
                            f"(> {CHECK_TOLERANCE}); not writing {out}")
    atomic_write_bytes(out, data)
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def _check(model: Any, config: Any, names: list[str], data: bytes) -> float:
    """Largest difference in probabilities (P(fake), generator) between torch and onnxruntime, on
    random 8-bit images prepared as real ones are, at a batch size the export never saw."""
    import onnxruntime as ort
    import torch

    from fakescope.models.net import fake_probability, generator_probabilities
    from fakescope.models.preprocess import to_input

    pixels = np.random.default_rng(0).integers(0, 256, (3, *config.preprocess.canvas_shape), dtype=np.uint8)
    x = to_input(pixels, config.preprocess)
    with torch.no_grad():
        expected = model(x)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = {n: torch.from_numpy(v) for n, v in zip(names, session.run(names, {INPUT_NAME: x.numpy()}))}
    diffs = [float((fake_probability(got) - fake_probability(expected)).abs().max())]
    if "generator" in got:
        diffs.append(float((generator_probabilities(got) - generator_probabilities(expected)).abs().max()))
    return max(diffs)


def onnx_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata an exported file carries (empty for a file that is not ours)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a usable export
        return {}
    return {p.key: p.value for p in proto.metadata_props}


# The config keys that shape the exported graph (test-time views and multi-crop run inside it). Keys
# the graph never sees (threshold, domain, operating point, card) may change without a re-export.
GRAPH_KEYS = ("architecture", "task", "arch_args", "preprocess", "labels", "generators", "tta", "multicrop")


def _graph_part(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config.get(k) for k in GRAPH_KEYS}


def _matches(path: Path, sha: str, config: dict[str, Any]) -> bool:
    """An export of these weights made from a config that gives the same graph."""
    if not path.is_file():
        return False
    meta = onnx_metadata(path)
    if meta.get("weights_sha256") != sha:
        return False
    try:
        stored = json.loads(meta.get("fakescope_config", ""))
    except ValueError:
        return False
    return isinstance(stored, dict) and _graph_part(stored) == _graph_part(config)


def onnx_file_for(model_dir: str | os.PathLike[str]) -> Path:
    """The ONNX file for DIR's current weights: DIR/model.onnx, a cached export, or a new export."""
    directory = Path(model_dir)
    if not is_model_dir(directory):
        raise FileNotFoundError(f"{directory}: not a model directory (needs {CONFIG} and {WEIGHTS})")
    sha = file_sha256(directory / WEIGHTS)
    beside = directory / ONNX_FILE
    cached = cache_dir() / "onnx" / f"{sha[:32]}.onnx"
    config = json.loads((directory / CONFIG).read_text())
    for candidate in (beside, cached):
        if _matches(candidate, sha, config):
            return candidate
    try:
        export_onnx(directory, beside)
        return beside
    except OSError as exc:  # a read-only install: fall back to the user's cache
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    export_onnx(directory, cached)
    return cached
