"""Publish a fakescope model directory on the Hugging Face hub with a hub model card.

`stage_upload(model_dir, repo_id, folder)` writes exactly what `push` uploads: the files a model
directory needs (`resolve_model` fetches the same ones back) and a `README.md` whose YAML front matter
(built with huggingface_hub's `ModelCardData`) says `library_name: fakescope`, the pipeline tag, tags,
licence, the training datasets and a `model-index` of the metrics the model's own config records.
`push_model` stages into a temporary folder and uploads it with `HfApi.upload_folder`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fakescope.errors import UserError

from .config import ModelConfig
from .io import CONFIG, WEIGHTS, file_sha256, is_model_dir, read_config

CARD_FILE = "MODEL_CARD.md"
# Everything a model directory needs at load time (weights, config, card, domain statistics); run
# logs, checkpoints and exported ONNX files stay behind (ONNX is re-exported from the weights).
UPLOADED = (WEIGHTS, CONFIG, CARD_FILE, "ood.safetensors")
HEADLINE_METRICS = {"accuracy": "accuracy", "auroc": "roc_auc", "ap": "average_precision"}


def _licence(config: ModelConfig, given: str | None) -> str:
    card = config.card
    return (given or card.get("licence") or card.get("license") or "other").lower()


def _datasets(config: ModelConfig) -> list[str]:
    """Hub datasets the model was trained on (a local folder is no hub dataset and is left out)."""
    source = str((config.training.get("data") or {}).get("source") or "")
    return [source[3:].split(":")[0]] if source.startswith("hf:") else []


def _eval_results(config: ModelConfig) -> list[Any]:
    """The clean-condition metrics the card records, then the validation metrics saved at training time."""
    from huggingface_hub import EvalResult

    results: list[EvalResult] = []

    def add(dataset: str, split: str | None, values: dict[str, Any], args: dict[str, Any] | None = None) -> None:
        for key, metric in HEADLINE_METRICS.items():
            if isinstance(values.get(key), (int, float)):
                results.append(EvalResult(task_type="image-classification", dataset_type=dataset, dataset_name=dataset,
                                          dataset_split=split, metric_type=metric, metric_value=round(float(values[key]), 4),
                                          dataset_args=args))

    for name, record in (config.card.get("metrics") or {}).items():
        if isinstance(record, dict) and isinstance((record.get("conditions") or {}).get("clean"), dict):
            data = str(record.get("data") or name)
            dataset = data[3:] if data.startswith("hf:") else Path(data).name or name
            aligned = (record.get("alignment") or {}).get("operation")
            add(dataset, record.get("split"), record["conditions"]["clean"], {"alignment": aligned} if aligned else None)
    validation = (config.metrics.get("validation") or {}).get("binary")
    if isinstance(validation, dict):
        source = str((config.training.get("data") or {}).get("source") or "training data")
        add(source[3:] if source.startswith("hf:") else Path(source).name, "validation", validation)
    return results


def model_card_text(model_dir: str | os.PathLike[str], repo_id: str, *, licence: str | None = None) -> str:
    """README.md for the hub: YAML front matter, how to use the model, then the model's own card."""
    from huggingface_hub import ModelCard, ModelCardData

    directory = Path(model_dir)
    config = read_config(directory)
    name = config.name or repo_id.split("/")[-1]
    tags = ["fakescope", "ai-generated-image-detection", "image-forensics", config.architecture.replace(":", "-")]
    if config.has_generator:
        tags.append("generator-attribution")
    data = ModelCardData(library_name="fakescope", pipeline_tag="image-classification", license=_licence(config, licence),
                         tags=tags, datasets=_datasets(config) or None, model_name=name,
                         eval_results=_eval_results(config) or None)
    own_card = directory / CARD_FILE
    body = own_card.read_text(encoding="utf-8") if own_card.is_file() else f"# {name}\n\n{config.card.get('summary', '')}\n"
    usage = (f"\n## Use it\n\n```bash\npip install fakescope\nfakescope detect --model hf:{repo_id} image.jpg\n```\n\n"
             f"```python\nfrom fakescope import Detector\ndet = Detector.load(\"hf:{repo_id}\")\ndet.predict(\"image.jpg\")\n```\n\n"
             f"Input: {config.preprocess.describe()}. Scores are P(fake); threshold {config.threshold}. "
             f"Weights SHA-256 `{config.card.get('weights_sha256') or file_sha256(directory / WEIGHTS)}`.\n")
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body.rstrip()}\n{usage}"))


def stage_upload(model_dir: str | os.PathLike[str], repo_id: str, folder: str | os.PathLike[str], *,
                 licence: str | None = None) -> list[str]:
    """Write exactly the files `push` uploads into `folder` (created; must be empty); returns their names."""
    directory = Path(model_dir)
    if not is_model_dir(directory):
        raise UserError(f"{directory} is not a model directory ({WEIGHTS} + {CONFIG})")
    expected = read_config(directory).card.get("weights_sha256")
    if expected and file_sha256(directory / WEIGHTS) != expected:
        raise UserError(f"{directory / WEIGHTS} does not match the checksum in {CONFIG}: refusing to publish it")
    out = Path(folder)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: give a new folder for the upload")
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in UPLOADED if (directory / n).is_file()]
    for n in names:
        shutil.copy2(directory / n, out / n)
    (out / "README.md").write_text(model_card_text(directory, repo_id, licence=licence), encoding="utf-8")
    return sorted([*names, "README.md"])


def push_model(model_dir: str | os.PathLike[str], repo_id: str, *, private: bool = False, revision: str | None = None,
               licence: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Create the repository if needed and upload the staged folder in one commit."""
    from huggingface_hub import HfApi

    api = HfApi(library_name="fakescope")
    with tempfile.TemporaryDirectory(prefix="fakescope-push-") as tmp:
        files = stage_upload(model_dir, repo_id, Path(tmp) / "upload", licence=licence)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=Path(tmp) / "upload", revision=revision,
                                 commit_message=message or f"fakescope push {Path(model_dir).name}")
    return {"repo_id": repo_id, "revision": revision or "main", "commit": info.oid, "url": info.commit_url,
            "files": files, "load_with": f"hf:{repo_id}" + (f"@{revision}" if revision else "")}
