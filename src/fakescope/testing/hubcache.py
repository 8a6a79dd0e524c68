"""Lay files out as the Hugging Face hub cache holds a downloaded repository, for offline tests.

    add_to_hub_cache(tmp / "hf", "acme/detector", {"config.json": path, "model.safetensors": path})
    # HF_HOME=tmp/hf HF_HUB_OFFLINE=1: huggingface_hub, timm and open_clip now find acme/detector

The layout is huggingface_hub's (`HF_HOME/hub/models--OWNER--NAME/snapshots/<commit>/<file>`, the
revision's commit in `refs/<revision>`); files are copied into the snapshot (the real cache links
them to `blobs/`, which readers do not need). With `HF_HUB_OFFLINE=1` the real library code resolves
`refs/<revision>` and reads the snapshot, exactly as after a real download.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path


def add_to_hub_cache(hf_home: str | Path, repo_id: str, files: Mapping[str, str | Path | bytes], *,
                     revision: str = "main", commit: str | None = None) -> Path:
    """Write `files` (name in the repository -> source file or bytes) as one cached commit of `repo_id`;
    returns the snapshot folder. The commit id is derived from the contents unless given."""
    contents = {name: (src if isinstance(src, bytes) else Path(src).read_bytes()) for name, src in files.items()}
    if commit is None:
        h = hashlib.sha1()
        for name in sorted(contents):
            h.update(name.encode() + b"\0" + contents[name])
        commit = h.hexdigest()
    storage = Path(hf_home) / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = storage / "snapshots" / commit
    for name, data in contents.items():
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / revision).write_text(commit)  # no newline, as huggingface_hub writes it
    return snapshot


def add_folder_to_hub_cache(hf_home: str | Path, repo_id: str, folder: str | Path, **kw: str) -> Path:
    """Every file of a local folder (e.g. a fakescope model directory) as a cached repository."""
    root = Path(folder)
    return add_to_hub_cache(hf_home, repo_id, {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
                                               if p.is_file()}, **kw)

