"""A folder's own manifest wins over guessing labels from folder names; one rule for versioned names."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from conftest import run_cli_json
from fakescope.data import canonical_generator, open_source

NATIVE_TRAIN = {"total": 1164, "real": 345, "fake": 819}
NATIVE_TEST = {"total": 355, "real": 105, "fake": 250}


def test_native_pool_summary_reads_its_manifest(shared: Path) -> None:
    out = run_cli_json("data", "summary", shared / "native-pool", "--json")
    assert out["format"] == "manifest"
    assert out["skipped"] == []
    train, test = out["splits"]["train"], out["splits"]["test"]
    assert {k: train[k] for k in NATIVE_TRAIN} == NATIVE_TRAIN
    assert {k: test[k] for k in NATIVE_TEST} == NATIVE_TEST
    # The manifest's 15 generators stay 15 names: versions are kept apart, never merged.
    with (shared / "native-pool" / "manifest.csv").open(newline="") as fh:
        listed = {row["generator"] for row in csv.DictReader(fh) if row["label"] == "1"}
    assert len(listed) == 15
    names = set(train["generators"]) | set(test["generators"])
    assert names == listed
    assert {"Midjourney-v3", "Midjourney-v5", "SD2", "SD21", "SD14", "SD15"} <= names
    assert sum(train["generators"].values()) == train["fake"]


def _pool(root: Path, shared: Path, manifest_name: str) -> Path:
    """native-pool's shape in small: `Real/` beside per-generator folders, labels in a manifest."""
    folders = {"Real": ("REAL", 0, ""), "midjourney_v5": ("FAKE", 1, "midjourney_v5"), "SD21": ("FAKE", 1, "SD21")}
    rows = []
    for folder, (src_dir, label, gen) in folders.items():
        (root / folder).mkdir(parents=True)
        for src in sorted((shared / "cifake" / "test" / src_dir).glob("*.jpg"))[:2]:
            shutil.copy(src, root / folder / src.name)
            rows.append((f"{folder}/{src.name}", label, gen))
    with (root / manifest_name).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "generator"])
        writer.writerows(rows)
    return root


@pytest.mark.parametrize("manifest_name", ["manifest.csv", "labels.csv"])
def test_folder_manifest_beats_folder_names_that_label_only_some_images(shared: Path, tmp_path: Path,
                                                                        manifest_name: str) -> None:
    root = _pool(tmp_path / "d", shared, manifest_name)
    source = open_source(root)
    assert source.format == "manifest"
    got = {(Path(s.origin).parent.name, s.label, s.generator) for s in source}
    assert got == {("Real", 0, None), ("midjourney_v5", 1, "Midjourney-v5"), ("SD21", 1, "SD21")}
    assert sum(1 for s in source if s.problem is None) == 6
    # without the manifest the folder names alone leave the fakes unlabelled
    (root / manifest_name).unlink()
    unlabelled = [s for s in open_source(root) if s.label is None]
    assert len(unlabelled) == 4 and all("no label folder" in s.problem for s in unlabelled)


def test_folder_names_that_label_every_image_keep_their_format(shared: Path, tmp_path: Path) -> None:
    # cnndetection_ranking: <generator>/0_real|1_fake beside a labels.csv over the same files
    source = open_source(shared / "cnndetection_ranking")
    assert source.format == "imagefolder"
    reals = [s for s in source if s.label == 0]
    assert len(reals) == 35 and all(s.subset for s in reals)  # the layout pairs reals with a generator
    assert open_source(shared / "cnndetection_ranking", format="manifest-dir").format == "manifest"


def test_release_layouts_keep_their_format_beside_a_manifest(shared: Path) -> None:
    # genimage-tree holds a manifest.csv over the same files; the GenImage layout defines its labels
    assert open_source(shared / "genimage-tree").format == "genimage"
    assert open_source(shared / "genimage-tree", format="manifest-dir").format == "manifest"


@pytest.mark.parametrize("spelling, canonical", [
    ("Midjourney-v5", "Midjourney-v5"), ("midjourney_v5", "Midjourney-v5"), ("MJ v5", "Midjourney-v5"),
    ("Midjourney-v3", "Midjourney-v3"), ("midjourney v3", "Midjourney-v3"),
    ("Midjourney", "Midjourney"), ("imagenet_midjourney", "Midjourney"),  # GenImage's (V5) keeps its name
    ("stable-diffusion-2-1", "SD21"), ("SD2", "SD2"), ("stable_diffusion_2", "SD2"),
    ("stable_diffusion_v_1_4", "SD14"), ("SD-1.5", "SD15"), ("DALL-E-2", "DALL-E-2"),
])
def test_versions_are_part_of_the_name(spelling: str, canonical: str) -> None:
    assert canonical_generator(spelling) == canonical
