"""ONNX: `fakescope export onnx`, the onnxruntime backend, and torch == onnx on real images."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SHARED, run_cli, run_cli_json
from fakescope.models import ModelConfig, create_model, default_preprocess, save_model
from fakescope.models.shipped import SHIPPED
from fakescope.models.io import file_sha256
from test_models import TINY_CLIP

CIFAKE_IMAGES = sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[:6] + \
    sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[:6]
LARGE_IMAGES = sorted((SHARED / "genimage-tree").rglob("*.jpg"))[::15] + \
    sorted((SHARED / "genimage_biggan_fixtures").rglob("*.png"))[:2]
TOLERANCE = 1e-4


def copy_model(src: Path, tmp_path: Path) -> Path:
    """A private copy: exporting writes model.onnx beside the weights; shared fixtures stay as they are."""
    dst = tmp_path / src.parent.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint", "best"))
    return dst


def untrained(tmp_path: Path, arch: str, args: dict, size: int | None, task: str = "both") -> Path:
    pre = default_preprocess(arch, args, input_size=size)
    gens = ["Real", "ADM", "BigGAN", "SD14"] if task != "binary" else []
    config = ModelConfig(architecture=arch, task=task, preprocess=pre, arch_args=args, generators=gens)
    return save_model(create_model(config).eval(), config, tmp_path / arch.replace(":", "_"))


def with_tta(src: Path, tmp_path: Path) -> Path:
    """A copy whose config asks for flip test-time augmentation: the exported graph must hold it."""
    dst = copy_model(src, tmp_path)
    data = json.loads((dst / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps({**data, "tta": ["hflip"]}))
    return dst


@pytest.fixture(scope="module")
def cnn_onnx(cifake_cnn: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained cnn-small fixture with its model.onnx, exported once for this module."""
    from fakescope import Detector

    model_dir = copy_model(cifake_cnn, tmp_path_factory.mktemp("cnn_onnx"))
    Detector.load(model_dir, backend="onnx")
    return model_dir


# Every registered detector: the trained fixtures where they exist, else a small random-init
# instance (what is compared is the computation, not the accuracy).
MODELS = {
    "cnn-small (trained)": lambda request, tmp: request.getfixturevalue("cnn_onnx"),
    "cnn-small with flip TTA (trained)": lambda request, tmp: with_tta(request.getfixturevalue("cifake_cnn"), tmp),
    "spectral (trained)": lambda request, tmp: copy_model(request.getfixturevalue("cifake_spectral"), tmp),
    "spectral both heads (trained)": lambda request, tmp: copy_model(request.getfixturevalue("genimage_both"), tmp),
    "npr": lambda request, tmp: untrained(tmp, "npr", {"widths": [16, 32], "depths": [1, 1]}, 64),
    "timm:resnet18": lambda request, tmp: untrained(tmp, "timm:resnet18", {}, 64),
    "clip-probe": lambda request, tmp: untrained(tmp, "clip-probe", TINY_CLIP, None),
    "npr-resnet": lambda request, tmp: untrained(tmp, "npr-resnet", {"layers": [1, 1]}, 64),
    "rine": lambda request, tmp: untrained(tmp, "rine", {**TINY_CLIP, "nproj": 1, "proj_dim": 8}, None),
    # the shipped encoder model: its views canvas (whole image above the native centre) in one graph
    "encoder (shipped)": lambda request, tmp: copy_model(SHIPPED["encoder"].path, tmp),
    "encoder-ft": lambda request, tmp: untrained(tmp, "encoder-ft:tf_efficientnet_lite0", {"trainable_blocks": 1}, 96),
}


def test_models_cover_the_registry() -> None:
    from fakescope.models import list_detectors

    covered = {name.split(" ")[0].split(":")[0] for name in MODELS}
    assert covered == {s.name for s in list_detectors()}


@pytest.mark.parametrize("name", list(MODELS))
def test_torch_and_onnx_agree_on_real_images(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from fakescope import Detector

    model_dir = MODELS[name](request, tmp_path)
    torch_det = Detector.load(model_dir)
    onnx_det = Detector.load(model_dir, backend="onnx")
    assert type(onnx_det.backend).__name__ == "OnnxBackend" and (model_dir / "model.onnx").is_file()
    images = CIFAKE_IMAGES if torch_det.config.preprocess.input_size == 32 else LARGE_IMAGES
    expected = torch_det.predict(images, batch_size=5)
    got = onnx_det.predict(images, batch_size=5)
    assert all(r.get("error") is None for r in expected + got)
    assert [g["score"] for g in got] == pytest.approx([e["score"] for e in expected], abs=TOLERANCE)
    for g, e in zip(got, expected):
        if abs(e["score"] - torch_det.threshold) > TOLERANCE:  # a verdict can only flip on the threshold
            assert g["label"] == e["label"]
    if torch_det.config.has_generator:
        for g, e in zip(got, expected):
            assert [x["label"] for x in g["generator"]][:1] == [x["label"] for x in e["generator"]][:1]
            probs_g = {x["label"]: x["score"] for x in g["generator"]}
            for x in e["generator"]:
                assert probs_g.get(x["label"], 0.0) == pytest.approx(x["score"], abs=TOLERANCE)


def test_export_command_writes_a_dynamic_graph_with_metadata(cifake_cnn: Path, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    out = tmp_path / "exported" / "cnn.onnx"
    report = run_cli_json("export", "onnx", "--model", cifake_cnn, "--out", out)
    sha = file_sha256(cifake_cnn / "model.safetensors")
    assert report["onnx"] == str(out) and report["outputs"] == ["binary"] and report["weights_sha256"] == sha
    assert report["check_max_prob_diff"] < 1e-4 and report["bytes"] == out.stat().st_size
    proto = onnx.load(str(out))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert proto.graph.input[0].name == "input" and dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    assert [o.name for o in proto.graph.output] == ["binary"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["weights_sha256"] == sha
    assert json.loads(meta["fakescope_config"]) == json.loads((cifake_cnn / "config.json").read_text())
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n in (1, 7):  # the batch axis is dynamic
        (logits,) = session.run(None, {"input": np.zeros((n, 3, 32, 32), np.float32)})
        assert logits.shape == (n,)
    assert sorted(p.name for p in out.parent.iterdir()) == ["cnn.onnx"]


def test_export_errors_exit_2(tmp_path: Path) -> None:
    proc = run_cli("export", "onnx", "--model", tmp_path, "--out", tmp_path / "x.onnx")
    assert proc.returncode == 2 and "not a model directory" in proc.stderr and proc.stderr.count("\n") == 1


def test_the_onnx_file_is_reused_then_refreshed_when_weights_change(cnn_onnx: Path, tmp_path: Path) -> None:
    from fakescope import Detector
    from fakescope.detect.onnx_export import onnx_metadata

    model_dir = copy_model(cnn_onnx, tmp_path)
    onnx_file = model_dir / "model.onnx"
    first = onnx_file.stat().st_mtime_ns
    Detector.load(model_dir, backend="onnx")
    assert onnx_file.stat().st_mtime_ns == first  # up to date: not exported again

    from fakescope.models import load_model

    model, config = load_model(model_dir)
    with torch.no_grad():
        model.binary_head.bias.add_(3.0)  # new weights, same architecture
    save_model(model, config, model_dir)
    det = Detector.load(model_dir, backend="onnx")
    assert onnx_metadata(onnx_file)["weights_sha256"] == file_sha256(model_dir / "model.safetensors")
    assert det.predict(CIFAKE_IMAGES[0])["score"] == pytest.approx(Detector.load(model_dir).predict(CIFAKE_IMAGES[0])["score"], abs=TOLERANCE)

    # Same weights, a config that changes the graph (flip TTA runs inside it): exported again, and
    # the ONNX scores follow torch's; a key the graph never sees (the threshold) does not re-export.
    doc = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**doc, "tta": ["hflip"]}))
    det = Detector.load(model_dir, backend="onnx")
    assert json.loads(onnx_metadata(onnx_file)["fakescope_config"])["tta"] == ["hflip"]
    assert det.predict(CIFAKE_IMAGES[1])["score"] == pytest.approx(Detector.load(model_dir).predict(CIFAKE_IMAGES[1])["score"], abs=TOLERANCE)
    exported = onnx_file.stat().st_mtime_ns
    (model_dir / "config.json").write_text(json.dumps({**doc, "tta": ["hflip"], "threshold": 0.4}))
    Detector.load(model_dir, backend="onnx")
    assert onnx_file.stat().st_mtime_ns == exported


def test_a_read_only_model_dir_exports_to_the_cache(cifake_spectral: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, where chmod does not stop writes: refuse writes into the model dir instead."""
    from fakescope import Detector
    from fakescope.detect import onnx_export

    model_dir = copy_model(cifake_spectral, tmp_path)
    real_write = onnx_export.atomic_write_bytes

    def read_only_model_dir(path, data):  # noqa: ANN001
        if Path(path).parent == model_dir:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_write(path, data)

    monkeypatch.setattr(onnx_export, "atomic_write_bytes", read_only_model_dir)
    monkeypatch.setenv("FAKESCOPE_CACHE", str(tmp_path / "cache"))
    det = Detector.load(model_dir, backend="onnx")
    sha = file_sha256(model_dir / "model.safetensors")
    assert det.backend.path == tmp_path / "cache" / "onnx" / f"{sha[:32]}.onnx"
    assert not (model_dir / "model.onnx").exists()
    assert onnx_export.onnx_file_for(model_dir) == det.backend.path  # found again without exporting


def test_onnxruntime_threads_are_set_for_this_machine(cnn_onnx: Path) -> None:
    from fakescope import Detector
    from fakescope.detect.runner import physical_cores

    model_dir = cnn_onnx
    opts = Detector.load(model_dir, backend="onnx").backend.session.get_session_options()
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (physical_cores(), 1)
    one = Detector.load(model_dir, backend="onnx", threads=1).backend.session.get_session_options()
    assert one.intra_op_num_threads == 1


def test_detect_cli_onnx_backend_matches_torch(cnn_onnx: Path, awkward_folder: Path) -> None:
    model_dir = cnn_onnx
    rows = {}
    for backend in ("torch", "onnx"):
        proc = run_cli("detect", "--model", model_dir, "--backend", backend, "-f", "jsonl", "--no-progress",
                       awkward_folder, "-r")
        assert proc.returncode == 0, proc.stderr[-2000:]
        rows[backend] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in rows["onnx"]] == [r["path"] for r in rows["torch"]]
    assert [r["error"] for r in rows["onnx"]] == [r["error"] for r in rows["torch"]]
    scored = [(o["score"], t["score"]) for o, t in zip(rows["onnx"], rows["torch"]) if t["error"] is None]
    assert len(scored) >= 10 and max(abs(o - t) for o, t in scored) <= TOLERANCE
