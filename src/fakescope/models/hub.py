"""Models on the Hugging Face hub: `hf:OWNER/NAME[@REVISION]` wherever a model directory is accepted.

    from fakescope.models.hub import resolve_model
    resolve_model("hf:someone/cifake-detector@v1")   # -> a local fakescope model directory
    resolve_model("runs/cnn")                         # -> Path("runs/cnn"), untouched

Downloads go through `huggingface_hub` into its own cache, so `HF_HOME`, `HF_HUB_CACHE`,
`HF_HUB_OFFLINE` and tokens behave as in every other hub library: offline, the cached snapshot of
the revision (`refs/<revision>` or a commit hash) is used. Two kinds of repository are accepted:
- fakescope's own format (`model.safetensors` + a fakescope `config.json`): the snapshot folder is
  the model directory;
- a published detector in its authors' layout (a family `fakescope.convert` knows): the checkpoint is
  downloaded and converted once into `$FAKESCOPE_CACHE/hub/OWNER--NAME/<commit>-<sha12>/`, keyed by
  repository, resolved commit and the checkpoint's SHA-256, so a new upload is a new directory.
  The family's own file names choose the checkpoint (`fakescope.convert.checkpoint_in_repo`), and only
  that file is downloaded. Head-only families (UnivFD, RINE: a head for CLIP ViT-L/14) are refused
  with the local `fakescope convert ... --backbone` command to run instead: the backbone is not in
  their repositories.
Nothing from a repository is ever executed: no remote code, and checkpoints other than safetensors
are read by fakescope.convert with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from fakescope.errors import UserError

from .io import CONFIG, WEIGHTS, file_sha256

HUB_PREFIX = "hf:"
# What a fakescope model directory may hold besides weights and config (cards, domain statistics,
# an exported ONNX file): fetched with the model so every backend finds what it needs.
FAKESCOPE_FILES = [CONFIG, WEIGHTS, "MODEL_CARD.md", "README.md", "ood.safetensors", "*.onnx", "*.onnx.json"]
# Files that describe a repository without being weights: enough to recognise its family.
DESCRIPTION_FILES = ["*.json", "*.md", "*.txt", "*.yaml", "*.yml"]
# Weight files fakescope.convert may read (named when a repository's checkpoint cannot be chosen).
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HubSpec:
    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return HUB_PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


def is_hub_spec(spec: object) -> bool:
    return isinstance(spec, str) and spec.startswith(HUB_PREFIX)


def parse_hub_spec(spec: str) -> HubSpec:
    """`hf:OWNER/NAME` or `hf:OWNER/NAME@REVISION` (a branch, tag or commit hash)."""
    if not is_hub_spec(spec):
        raise UserError(f"{spec!r} is not a hub model (expected hf:OWNER/NAME[@REVISION])")
    body = spec[len(HUB_PREFIX):]
    repo_id, _, revision = body.partition("@")
    if not REPO_ID.match(repo_id) or (body.count("@") and not revision):
        raise UserError(f"{spec!r} is not a hub model id (expected hf:OWNER/NAME[@REVISION])")
    return HubSpec(repo_id, revision or None)


def fakescope_cache() -> Path:
    """Where converted hub models live: $FAKESCOPE_CACHE, else ~/.cache/fakescope."""
    return Path(os.environ.get("FAKESCOPE_CACHE") or Path.home() / ".cache" / "fakescope")


def resolve_model(spec: str | os.PathLike[str]) -> Path:
    """A local model directory for `spec`: a hub id is downloaded (and converted when needed); a
    shipped model's name ("default", "native") is its folder in the package; anything else is taken
    as a local path and returned as given (callers check it). The one resolver every entry point uses."""
    if not is_hub_spec(spec):
        from fakescope.models.shipped import resolve_model_dir

        return resolve_model_dir(spec)
    return _resolve_hub(parse_hub_spec(str(spec)))


@contextmanager
def _hub_errors(spec: HubSpec) -> Iterator[None]:
    """huggingface_hub's errors (not cached while offline, no such repository or revision, no access)
    as one line naming the model id."""
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        yield
    except LocalEntryNotFoundError as exc:
        raise UserError(f"{spec}: not in the local hub cache and the hub cannot be reached "
                        f"(HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}): {str(exc).splitlines()[0]}") from None
    except HfHubHTTPError as exc:
        raise UserError(f"{spec}: {str(exc).splitlines()[0]}") from None


def _snapshot(spec: HubSpec, patterns: list[str]) -> Path:
    from huggingface_hub import snapshot_download

    with _hub_errors(spec):
        return Path(snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=patterns,
                                      library_name="fakescope"))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def is_fakescope_config(doc: dict[str, Any] | None) -> bool:
    """fakescope's config.json (an architecture and its preprocessing), not timm's or transformers'
    config.json, which name an architecture too but carry `pretrained_cfg` / `architectures`."""
    return bool(doc) and isinstance(doc.get("architecture"), str) and isinstance(doc.get("preprocess"), dict)


def _resolve_hub(spec: HubSpec) -> Path:
    described = _snapshot(spec, DESCRIPTION_FILES)
    if is_fakescope_config(_read_json(described / CONFIG)):
        folder = _snapshot(HubSpec(spec.repo_id, described.name), FAKESCOPE_FILES)  # the same commit
        if not (folder / WEIGHTS).is_file():
            raise UserError(f"{spec}: a fakescope config.json without {WEIGHTS} in the repository")
        return folder
    return _convert_repo(spec, described)


def _repo_files(spec: HubSpec, snapshot: Path) -> list[str]:
    """The repository's file list: asked of the hub when online, else what the cached snapshot holds."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        from huggingface_hub import HfApi

        try:
            return sorted(HfApi(library_name="fakescope").list_repo_files(spec.repo_id, revision=snapshot.name))
        except Exception:  # noqa: BLE001 - unreachable hub: fall back to the cached snapshot, as huggingface_hub does
            pass
    return sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file())


def _convert_repo(spec: HubSpec, snapshot: Path) -> Path:
    from huggingface_hub import hf_hub_download

    files = _repo_files(spec, snapshot)
    try:
        from fakescope.convert import checkpoint_in_repo, convert_checkpoint, family_of_repo, get_family
    except ImportError:
        raise UserError(f"{spec} is not a fakescope model (no fakescope config.json); conversion of published "
                        "repositories needs fakescope.convert, which this installation lacks") from None
    meta = {"repo_id": spec.repo_id, "revision": snapshot.name, "config": _read_json(snapshot / CONFIG),
            "readme": _read_text(snapshot / "README.md")}
    family = family_of_repo(files, meta)
    if family is None:
        raise UserError(f"{spec} is neither a fakescope model (model.safetensors + fakescope config.json) nor a "
                        f"published detector fakescope.convert knows; its files: {', '.join(files[:12]) or 'none'}")
    # fakescope.convert knows each family's file names (fc_weights.pth, NPR.pth, model.safetensors, ...)
    name = checkpoint_in_repo(files, family)
    if name is None:
        weights = [f for f in files if f.endswith(CHECKPOINT_SUFFIXES)]
        raise UserError(f"{spec}: cannot tell which checkpoint of the {family} repository to convert "
                        f"({', '.join(weights) or 'no weights file'})")
    needs = get_family(family).backbone
    if needs:
        # A head-only release: the backbone (CLIP ViT-L/14, ~1.7 GB) is not in the repository, and which
        # weights to put under the head is the user's choice to record, so it is made locally, once.
        raise UserError(f"{spec} holds a {family} head only ({name}), which needs a backbone ({needs}): download "
                        f"it (hf download {spec.repo_id} {name}) and convert it locally: fakescope convert {family} "
                        f"{PurePosixPath(name).name} --out DIR --backbone PATH|openai, then use --model DIR")
    with _hub_errors(spec):
        checkpoint = Path(hf_hub_download(spec.repo_id, name, revision=snapshot.name, library_name="fakescope"))
    sha = file_sha256(checkpoint)
    out = fakescope_cache() / "hub" / spec.repo_id.replace("/", "--") / f"{snapshot.name}-{sha[:12]}"
    if (out / CONFIG).is_file() and (out / WEIGHTS).is_file():
        return out  # converted before: the same repository, commit and checkpoint bytes
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        try:
            convert_checkpoint(family, checkpoint, work)
        except UserError as exc:  # name the hub file, not only its path inside the cache
            raise UserError(f"{spec} ({name}): {exc}") from None
        _record_source(work, out, spec, snapshot.name, name, sha, family)
        try:
            os.replace(work, out)  # atomic: a crash leaves no half-converted model behind
        except OSError:
            if not (out / CONFIG).is_file():  # not a concurrent conversion that won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _record_source(directory: Path, final: Path, spec: HubSpec, commit: str, file: str, sha: str, family: str) -> None:
    """Say in the converted config and MODEL_CARD.md where it came from (repository, commit, file, checksum)."""
    from fakescope.utils.atomic import atomic_write_text

    from .io import read_config

    config = read_config(directory)
    source = {"repo_id": spec.repo_id, "revision": spec.revision or "main", "commit": commit,
              "file": file, "sha256": sha, "family": family}
    config.card["hub_source"] = source
    published = config.card.get("published")
    if isinstance(published, dict) and isinstance(published.get("command"), str):
        # the conversion ran in a temporary folder renamed to `final`: record the folder that exists
        published["command"] = published["command"].replace(str(directory), str(final))
    atomic_write_text(directory / CONFIG, config.to_json())
    card = directory / "MODEL_CARD.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8").replace(str(directory), str(final))
        line = (f"- Hub: `{spec}`, commit `{commit}`, file `{file}` (SHA-256 `{sha}`), converted on load by "
                "fakescope.models.hub\n")
        text = text.replace("## Source\n", "## Source\n" + line, 1)
        atomic_write_text(card, text)


__all__ = ["HUB_PREFIX", "HubSpec", "fakescope_cache", "is_fakescope_config", "is_hub_spec", "parse_hub_spec",
           "resolve_model"]
