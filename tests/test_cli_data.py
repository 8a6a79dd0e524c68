"""`fakescope data summary` and the CLI spine through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli, run_cli_json
from fakescope.testing.badfiles import BAD_EXPECTED


def test_summary_json_schema(shared: Path) -> None:
    out = run_cli_json("data", "summary", shared / "genimage-tree", "--json")
    assert set(out) == {"source", "format", "splits", "skipped"}
    assert out["format"] == "genimage"
    assert out["splits"]["train"]["total"] == 134 and out["splits"]["val"]["total"] == 39
    for counts in out["splits"].values():
        assert set(counts) == {"total", "real", "fake", "generators"}
        assert counts["real"] + counts["fake"] == counts["total"]
        assert sum(counts["generators"].values()) == counts["fake"]
    assert out["skipped"] == []


def test_summary_split_option(shared: Path) -> None:
    out = run_cli_json("data", "summary", shared / "cifake-parquet", "--split", "test", "--json")
    assert out["splits"] == {"test": {"total": 10008, "real": 5022, "fake": 4986, "generators": {"SD14": 4986}}}


def test_summary_single_split_named_all(shared: Path) -> None:
    out = run_cli_json("data", "summary", shared / "cnndetection_ranking", "--json")
    assert list(out["splits"]) == ["all"]
    assert out["splits"]["all"]["total"] == 70


def test_summary_of_awkward_folder_lists_every_bad_file(awkward_folder: Path) -> None:
    proc = run_cli("data", "summary", awkward_folder, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # stdout is exactly one JSON object
    listed = {Path(s["path"]).name for s in out["skipped"]}
    assert listed == set(BAD_EXPECTED)
    assert all(set(s) == {"path", "reason"} and s["reason"] for s in out["skipped"])
    human = run_cli("data", "summary", awkward_folder)
    assert human.returncode == 0
    for name in BAD_EXPECTED:
        assert name in human.stdout


def test_hub_spec_through_cli(shared: Path, tmp_path: Path) -> None:
    out = run_cli_json(
        "data", "summary", f"hf:{shared / 'tiny-genimage-sample'}", "--streaming", "--json",
        env={"HF_DATASETS_CACHE": str(tmp_path)},
    )
    assert out["splits"]["train"]["total"] == 138 and out["splits"]["validation"]["total"] == 35


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["data", "summary", "/definitely/not/here"], "no such file"),
        (["data", "summary", "{shared}/cifake", "--split", "bogus"], "no split 'bogus'"),
        (["data", "summary", "{shared}/cifake", "--format", "nonsense"], "unknown format"),
        (["data", "summary"], "Missing argument"),
        (["data", "summary", "{shared}/cifake", "--no-such-option"], "No such option"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(shared: Path, args: list[str], fragment: str) -> None:
    proc = run_cli(*[a.replace("{shared}", str(shared)) for a in args])
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_on_every_command() -> None:
    import typer.main

    from fakescope.cli import build_app

    click_app = typer.main.get_command(build_app())
    paths: list[list[str]] = [[]]

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            paths.append(prefix + [name])
            walk(sub, prefix + [name])

    walk(click_app, [])
    assert ["data", "summary"] in paths
    for path in paths:
        proc = run_cli(*path, "--help")
        assert proc.returncode == 0, (path, proc.stderr)
        assert "Usage" in proc.stdout


def test_version_and_python_module_entry() -> None:
    import subprocess
    import sys

    from fakescope import __version__

    assert run_cli("--version").stdout.strip() == __version__
    proc = subprocess.run([sys.executable, "-m", "fakescope", "--version"], capture_output=True, text=True)
    assert proc.stdout.strip() == __version__
