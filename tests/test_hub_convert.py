"""Published detectors straight from the hub: `--model hf:OWNER/NAME` on a repository in its authors'
layout is converted once by fakescope.convert and then served from fakescope's cache.

Offline against a local hub cache (huggingface_hub's own layout, HF_HUB_OFFLINE=1) holding
- a Community Forensics repository as the authors publish it (PyTorchModelHubMixin: model.safetensors
  with keys vit.* and config.json of the constructor arguments), random small-spread weights;
- an NPR repository (NPR.pth, a flat state dict in the authors' layout);
- an NPR.pth that is a pickled module (refused) and the real UnivFD head (needs a backbone: refused).
The hub's scores must equal those of the same file converted locally (fakescope.convert, what `fakescope
convert` runs) and detected from that directory, both through the real `fakescope detect`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import convert_helpers as H
from conftest import SHARED, run_cli, run_cli_json
from fakescope.testing.hubcache import add_to_hub_cache

COMMFOR, NPR, PICKLED, UNIVFD = "acme/forensics-vit-224", "acme/npr-detector", "acme/npr-pickled", "acme/univfd-head"
# what Community Forensics' ViTClassifier saves through PyTorchModelHubMixin (OwensLab/commfor-model-224)
COMMFOR_CONFIG = {"device": "cuda", "freeze_backbone": False, "input_size": 224, "model_size": "small", "patch_size": 16}
MIXIN_README = b"---\ntags:\n- model_hub_mixin\n- pytorch_model_hub_mixin\n---\nPushed with PytorchModelHubMixin.\n"


@pytest.fixture(scope="module")
def images() -> list[Path]:
    chosen = H.real_images()
    return [chosen[1], chosen[4], chosen[6]]  # a fake JPEG, a non-square photo, a small PNG


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, images: list[Path]) -> dict:
    """HF_HOME with the four repositories; the checkpoints are also kept as local files."""
    home = tmp_path_factory.mktemp("hf")
    files = tmp_path_factory.mktemp("authors")
    model = H.CommForReference(224)
    H.centre_head(model, model.vit.head, H.commfor_transform(224), images)  # scores spread, not saturated
    commfor = files / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(commfor))
    npr = files / "NPR.pth"
    H.npr_checkpoint(npr, images)
    pickled = files / "pickled" / "NPR.pth"
    pickled.parent.mkdir()
    torch.save(nn.Linear(512, 1), pickled)  # a whole module: loading it would run pickle's code paths
    add_to_hub_cache(home, COMMFOR, {"model.safetensors": commfor, "README.md": MIXIN_README,
                                     "config.json": json.dumps(COMMFOR_CONFIG).encode()})
    add_to_hub_cache(home, NPR, {"NPR.pth": npr, "README.md": b"# NPR (Tan et al., CVPR 2024)\n"})
    add_to_hub_cache(home, PICKLED, {"NPR.pth": pickled})
    add_to_hub_cache(home, UNIVFD, {"pretrained_weights/fc_weights.pth": SHARED / "published" / "univfd_fc_weights.pth"})
    env = {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "FAKESCOPE_CACHE": str(home / "fakescope")}
    return {"home": home, "env": env, "checkpoints": {"commfor": commfor, "npr": npr}}


def scores(doc: dict) -> list[float]:
    return [r["score"] for r in doc["results"]]


def converted(hub: dict, repo: str) -> list[Path]:
    folder = Path(hub["env"]["FAKESCOPE_CACHE"]) / "hub" / repo.replace("/", "--")
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def offline_here(hub: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same cache for in-process calls (huggingface_hub reads HF_HOME once, at import)."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub["home"] / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("FAKESCOPE_CACHE", hub["env"]["FAKESCOPE_CACHE"])


@pytest.mark.parametrize(("family", "repo"), [("commfor", COMMFOR), ("npr", NPR)])
def test_hub_repo_in_authors_layout_scores_as_local_conversion(hub: dict, images: list[Path], tmp_path: Path,
                                                               offline_here: None, family: str, repo: str) -> None:
    from fakescope.convert import convert_checkpoint
    from fakescope.models.hub import resolve_model
    from fakescope.models.io import file_sha256

    ckpt = hub["checkpoints"][family]
    # `fakescope convert` is this call behind its option parsing; run in-process, it saves an interpreter start
    local = convert_checkpoint(family, ckpt, tmp_path / family)
    expected = scores(run_cli_json("detect", "--model", local, "--format", "json", *images))
    got = run_cli_json("detect", "--model", f"hf:{repo}", "--format", "json", *images, env=hub["env"])
    assert None not in scores(got) and len(scores(got)) == len(images)
    assert max(abs(a - b) for a, b in zip(scores(got), expected)) <= 1e-6, (scores(got), expected)
    assert max(scores(got)) - min(scores(got)) > 0.05, scores(got)  # not saturated: equality means something

    # converted once, into fakescope's cache, keyed by commit and checkpoint checksum
    [folder] = converted(hub, repo)
    commit = (hub["home"] / "hub" / f"models--{repo.replace('/', '--')}" / "refs" / "main").read_text()
    sha = file_sha256(ckpt)
    assert folder.name == f"{commit}-{sha[:12]}"
    stamp = (folder.stat().st_mtime_ns, (folder / "model.safetensors").stat().st_mtime_ns)
    assert resolve_model(f"hf:{repo}") == folder  # the second resolve: no second conversion
    assert converted(hub, repo) == [folder]
    assert (folder.stat().st_mtime_ns, (folder / "model.safetensors").stat().st_mtime_ns) == stamp

    config, mine = (json.loads((d / "config.json").read_text()) for d in (folder, local))
    for key in ("architecture", "arch_args", "preprocess", "threshold"):
        assert config.get(key) == mine.get(key), key
    card = config["card"]
    name = ckpt.name
    assert card["hub_source"] == {"repo_id": repo, "revision": "main", "commit": commit, "file": name,
                                  "sha256": sha, "family": family}
    assert card["published"]["sha256"] == sha and str(folder) in card["published"]["command"]
    text = (folder / "MODEL_CARD.md").read_text()
    assert f"- Hub: `hf:{repo}`, commit `{commit}`, file `{name}`" in text and ".tmp" not in text


def test_pickled_checkpoint_on_the_hub_is_refused(hub: dict, images: list[Path]) -> None:
    proc = run_cli("detect", "--model", f"hf:{PICKLED}", images[0], env=hub["env"])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"error: hf:{PICKLED} (NPR.pth): ") and "arbitrary unpickling" in proc.stderr
    assert converted(hub, PICKLED) == []  # nothing half-converted left behind


def test_head_only_family_asks_for_a_local_conversion(hub: dict, offline_here: None) -> None:
    from fakescope.errors import UserError
    from fakescope.models.hub import resolve_model

    with pytest.raises(UserError) as info:
        resolve_model(f"hf:{UNIVFD}")
    message = str(info.value)
    assert "\n" not in message and f"hf download {UNIVFD} pretrained_weights/fc_weights.pth" in message
    assert "fakescope convert univfd fc_weights.pth --out DIR --backbone" in message
    assert converted(hub, UNIVFD) == []
