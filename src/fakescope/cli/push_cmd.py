"""`fakescope push`: publish a model directory on the Hugging Face hub with a hub model card."""

from __future__ import annotations

from typing import Optional

import typer

from .app import UsageProblem, app, emit_json, user_errors


@app.command("push")
@user_errors
def push(
    model_dir: str = typer.Argument(..., help="Model directory (model.safetensors + config.json)."),
    repo_id: str = typer.Argument(..., help="Hub repository OWNER/NAME (created if missing)."),
    private: bool = typer.Option(False, "--private", help="Create the repository as private."),
    revision: Optional[str] = typer.Option(None, "--revision", help="Branch to commit to (created if missing; default: main)."),
    licence: Optional[str] = typer.Option(None, "--license", help="Licence id for the card (default: the model card's, else 'other')."),
    message: Optional[str] = typer.Option(None, "--message", help="Commit message."),
    dry_run: Optional[str] = typer.Option(None, "--dry-run", help="Write exactly what would be uploaded into this (new) folder and stop."),
) -> None:
    """Upload the model's weights, config.json, its card files and a README.md with YAML front matter
    (library_name: fakescope, pipeline_tag, tags, licence, metrics). Needs a token (`hf auth login` or
    HF_TOKEN) unless --dry-run. Load it back anywhere with `--model hf:OWNER/NAME[@REVISION]`.

    Prints one JSON object: the repository, revision, commit, files and the id to load it with.
    """
    from fakescope.models.hub import REPO_ID
    from fakescope.models.publish import push_model, stage_upload

    if not REPO_ID.match(repo_id):
        raise UsageProblem(f"{repo_id!r} is not a hub repository id (OWNER/NAME)")
    if dry_run:
        files = stage_upload(model_dir, repo_id, dry_run, licence=licence)
        emit_json({"repo_id": repo_id, "dry_run": dry_run, "files": files})
        return
    emit_json(push_model(model_dir, repo_id, private=private, revision=revision, licence=licence, message=message))
