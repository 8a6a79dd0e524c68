"""Hub models (`hf:OWNER/NAME[@REVISION]`) and `fakescope push`, offline against a local hub cache.

The cache is laid out as huggingface_hub lays it out (HF_HOME/hub/models--OWNER--NAME/...), and
`HF_HUB_OFFLINE=1` makes the real library code resolve the revision from `refs/` and read the
snapshot. The model published is the shipped default, staged by `push --dry-run` exactly as it
would be uploaded, so the tests run the round trip push -> hub -> detect/evaluate/Detector.load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED, run_cli, run_cli_json
from fakescope.testing.hubcache import add_folder_to_hub_cache, add_to_hub_cache

DEFAULT = REPO / "src" / "fakescope" / "weights" / "default"
CIFAKE_TEST = SHARED / "cifake" / "test"
REPO_ID = "acme/cifake-cnn"


def images(n: int) -> list[Path]:
    real = sorted((CIFAKE_TEST / "REAL").glob("*.jpg"))[: n // 2]
    return real + sorted((CIFAKE_TEST / "FAKE").glob("*.jpg"))[: n - n // 2]


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("push") / "upload"
    doc = run_cli_json("push", DEFAULT, REPO_ID, "--dry-run", out)
    assert doc == {"repo_id": REPO_ID, "dry_run": str(out),
                   "files": ["MODEL_CARD.md", "README.md", "config.json", "model.safetensors", "ood.safetensors"]}
    return out


@pytest.fixture(scope="module")
def hub_env(tmp_path_factory: pytest.TempPathFactory, staged: Path) -> dict[str, str]:
    """HF_HOME with the staged upload as two revisions (main and the tag v1) and an unrelated repo."""
    home = tmp_path_factory.mktemp("hf")
    add_folder_to_hub_cache(home, REPO_ID, staged)
    add_folder_to_hub_cache(home, REPO_ID, staged, revision="v1")
    add_to_hub_cache(home, "acme/not-a-detector", {"config.json": b'{"architectures": ["BertModel"]}',
                                                   "README.md": b"# a language model\n"})
    return {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "FAKESCOPE_CACHE": str(home / "fakescope")}


def scores(doc: dict) -> list[float]:
    return [r["score"] for r in doc["results"]]


def test_push_dry_run_writes_a_hub_card(staged: Path) -> None:
    config = json.loads((DEFAULT / "config.json").read_text())
    assert (staged / "model.safetensors").read_bytes() == (DEFAULT / "model.safetensors").read_bytes()
    text = (staged / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "fakescope" and meta["pipeline_tag"] == "image-classification"
    assert meta["license"] == "other"  # the default model's card names no licence
    assert {"fakescope", "cnn-small"} <= set(meta["tags"])
    results = meta["model-index"][0]["results"]
    clean = config["card"]["metrics"]["cifake_test"]["conditions"]["clean"]
    test_metrics = {m["type"]: m["value"] for m in results[0]["metrics"]}
    assert results[0]["dataset"]["split"] == "test"
    assert test_metrics == {"accuracy": round(clean["accuracy"], 4), "roc_auc": round(clean["auroc"], 4),
                            "average_precision": round(clean["ap"], 4)}
    validation = {m["type"]: m["value"] for m in results[1]["metrics"]}
    assert validation["accuracy"] == round(config["metrics"]["validation"]["binary"]["accuracy"], 4)
    assert f"--model hf:{REPO_ID}" in text and config["card"]["weights_sha256"] in text
    assert "# Model card: fakescope-default-cifake" in text  # the model's own card follows the front matter


def test_push_refuses_bad_input(tmp_path: Path, staged: Path) -> None:
    not_model = run_cli("push", tmp_path, REPO_ID, "--dry-run", tmp_path / "out")
    assert not_model.returncode == 2 and "not a model directory" in not_model.stderr
    busy = run_cli("push", DEFAULT, REPO_ID, "--dry-run", staged)
    assert busy.returncode == 2 and "not empty" in busy.stderr
    bad_id = run_cli("push", DEFAULT, "no-owner", "--dry-run", tmp_path / "out2")
    assert bad_id.returncode == 2 and "OWNER/NAME" in bad_id.stderr
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize("spec", [f"hf:{REPO_ID}", f"hf:{REPO_ID}@v1"])
def test_detect_from_the_hub_scores_as_the_local_directory(hub_env: dict[str, str], spec: str) -> None:
    files = images(6)
    local = run_cli_json("detect", "--model", DEFAULT, "--format", "json", *files)
    hub = run_cli_json("detect", "--model", spec, "--format", "json", *files, env=hub_env)
    # Same weights, same images: equal up to float32 rounding (oneDNN's kernels may differ with the
    # buffers' alignment between two processes).
    assert len(scores(hub)) == 6 and None not in scores(hub)
    assert scores(hub) == pytest.approx(scores(local), abs=1e-6)
    assert hub["model"]["version"] == local["model"]["version"]


def test_detector_load_and_evaluate_resolve_hub_ids(hub_env: dict[str, str], tmp_path: Path) -> None:
    files = [str(p) for p in images(4)]
    code = ("import json, sys; from fakescope import Detector; "
            "d = Detector.load(sys.argv[1]); print(json.dumps([r['score'] for r in d.predict(sys.argv[2:])]))")
    def api(spec: str, env: dict[str, str] | None = None) -> list[float]:
        import os

        proc = subprocess.run([sys.executable, "-c", code, spec, *files], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout)
    hub_scores, local_scores = api(f"hf:{REPO_ID}", hub_env), api(str(DEFAULT))
    # same weights, two processes: equal up to float32 rounding (as in the detect test above)
    assert len(hub_scores) == 4 and hub_scores == pytest.approx(local_scores, abs=1e-6)

    common = ["--data", CIFAKE_TEST.parent, "--split", "test", "--max-samples", "40", "--bootstrap", "0",
              "--no-report", "--no-progress", "--threads", "1"]
    local = run_cli_json("evaluate", "--model", DEFAULT, "--out", tmp_path / "local", *common)
    hub = run_cli_json("evaluate", "--model", f"hf:{REPO_ID}@v1", "--out", tmp_path / "hub", *common, env=hub_env)
    assert hub["model"]["spec"] == f"hf:{REPO_ID}@v1" and "models--acme--cifake-cnn" in hub["model"]["dir"]
    assert hub["model"]["weights_sha256"] == local["model"]["weights_sha256"]
    assert hub["conditions"]["clean"]["overall"] == local["conditions"]["clean"]["overall"]
    assert hub["conditions"]["clean"]["overall"]["n"] == 40


def test_unknown_or_foreign_hub_repositories_fail_in_one_line(hub_env: dict[str, str]) -> None:
    image = images(1)[0]
    missing = run_cli("detect", "--model", "hf:acme/absent", image, env=hub_env)
    assert missing.returncode == 2 and "hf:acme/absent: not in the local hub cache" in missing.stderr
    assert "Traceback" not in missing.stderr
    foreign = run_cli("detect", "--model", "hf:acme/not-a-detector", image, env=hub_env)
    assert foreign.returncode == 2 and "Traceback" not in foreign.stderr
    assert "not a fakescope model" in foreign.stderr or "neither a fakescope model" in foreign.stderr
    malformed = run_cli("detect", "--model", "hf:acme", image, env=hub_env)
    assert malformed.returncode == 2 and "hf:OWNER/NAME[@REVISION]" in malformed.stderr


def test_hub_ids_and_checkpoint_choice() -> None:
    from fakescope.errors import UserError
    from fakescope.convert import checkpoint_in_repo
    from fakescope.models.hub import HubSpec, parse_hub_spec, resolve_model

    assert parse_hub_spec("hf:OwensLab/commfor-model-224") == HubSpec("OwensLab/commfor-model-224", None)
    assert parse_hub_spec("hf:a/b@v1.0") == HubSpec("a/b", "v1.0")
    assert str(parse_hub_spec("hf:a/b@0123abc")) == "hf:a/b@0123abc"
    for bad in ("hf:", "hf:a", "hf:a/b/c", "hf:a/b@", "hf:/b"):
        with pytest.raises(UserError):
            parse_hub_spec(bad)
    assert resolve_model("runs/model") == Path("runs/model")  # a local path is returned as given
    # the hub picks the file by the family's own names; the one model.safetensors of a mixin repository;
    # two unnamed candidates are ambiguous
    assert checkpoint_in_repo(["README.md", "config.json", "model.safetensors", "pytorch_model.bin"], "commfor") == "model.safetensors"
    assert checkpoint_in_repo(["ckpt/model_2class_trainable.pth", "README.md"], "rine") == "ckpt/model_2class_trainable.pth"
    assert checkpoint_in_repo(["weights/NPR.pth", "weights/other.pth"], "npr") == "weights/NPR.pth"
    assert checkpoint_in_repo(["a.pth", "b.pth"], "npr") is None and checkpoint_in_repo(["README.md"], "npr") is None
