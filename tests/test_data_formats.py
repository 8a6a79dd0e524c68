"""Every dataset form in ../shared/data read through `open_source`, with the counts of its PROVENANCE."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from fakescope.data import FAKE, REAL, SourceError, canonical_generator, open_source, summarize

GENIMAGE_TRAIN = {"ADM": 10, "BigGAN": 10, "GLIDE": 17, "Midjourney": 23, "SD14": 7, "SD15": 23, "VQDM": 7, "Wukong": 7}
GENIMAGE_VAL = {"ADM": 3, "BigGAN": 3, "GLIDE": 5, "Midjourney": 7, "SD14": 2, "SD15": 7, "VQDM": 2, "Wukong": 2}

# folder -> (format, {split: (total, real, fake, generators or None)})
EXPECTED = {
    "cifake": ("cifake", {"train": (1000, 500, 500, {"SD14": 500}), "test": (2000, 1000, 1000, {"SD14": 1000})}),
    "cifake-parquet": ("hf-parquet", {"train": (100000, 50000, 50000, {"SD14": 50000}), "test": (10008, 5022, 4986, {"SD14": 4986})}),
    "tiny-genimage-sample": ("hf-parquet", {"train": (138, 31, 107, None), "validation": (35, 7, 28, None)}),
    "genimage-tree": ("genimage", {"train": (134, 30, 104, GENIMAGE_TRAIN), "val": (39, 8, 31, GENIMAGE_VAL)}),
    "genimage-tree/manifest.csv": ("manifest", {"train": (134, 30, 104, GENIMAGE_TRAIN), "val": (39, 8, 31, GENIMAGE_VAL)}),
    "genimage_biggan_fixtures": ("manifest", {"all": (8, 0, 8, {"BigGAN": 8})}),
    "commfor-sample": ("commfor-parquet", {"train": (292, 146, 146, None)}),
    "cnndetection_ranking": ("imagefolder", {"all": (70, 35, 35, {"BigGAN": 7, "cyclegan": 7, "gaugan": 7, "stargan": 7, "stylegan": 7})}),
}


def _count(source) -> dict:
    out: dict = {}
    for s in source:
        c = out.setdefault(s.split, [0, 0, 0, Counter()])
        assert s.problem is None, (s.origin, s.problem)
        c[0] += 1
        c[1 if s.label == REAL else 2] += 1
        if s.label == FAKE:
            c[3][s.generator] += 1
    return out


@pytest.mark.parametrize("folder", [k for k in EXPECTED if k != "cifake-parquet"])
def test_counts_and_format(shared: Path, folder: str) -> None:
    fmt, splits = EXPECTED[folder]
    source = open_source(shared / folder)
    assert source.format == fmt
    assert source.splits() == list(splits)
    counted = _count(source)
    for split, (total, real, fake, gens) in splits.items():
        got = counted[split]
        assert (got[0], got[1], got[2]) == (total, real, fake), split
        assert source.count(split) == total
        if gens is not None:
            assert dict(got[3]) == gens


def test_cifake_parquet_counts_from_metadata(shared: Path) -> None:
    source = open_source(shared / "cifake-parquet")
    assert source.count("train") == 100000 and source.count("test") == 10008
    labels = Counter(s.label for s in source.with_split("test"))
    assert labels == {REAL: 5022, FAKE: 4986}


def test_tiny_genimage_generators_match_genimage_tree(shared: Path) -> None:
    """The same 173 images read from parquet and from the release tree carry the same generator names."""
    parquet = Counter(s.generator for s in open_source(shared / "tiny-genimage-sample") if s.label == FAKE)
    tree = Counter(s.generator for s in open_source(shared / "genimage-tree") if s.label == FAKE)
    assert parquet == tree
    assert set(parquet) == {"ADM", "BigGAN", "GLIDE", "Midjourney", "SD14", "SD15", "VQDM", "Wukong"}


def test_genimage_without_generator_level(shared: Path, tmp_path: Path) -> None:
    """`imagenet_ai_0419_sdv4/train/ai` (no generator level) gives the same names as the full tree."""
    for gen_dir in (shared / "genimage-tree").iterdir():
        if gen_dir.is_dir():
            for subset in gen_dir.iterdir():
                shutil.copytree(subset, tmp_path / subset.name)
    flat = open_source(tmp_path)
    assert flat.format == "genimage"
    full = open_source(shared / "genimage-tree")
    by_name = {Path(s.key).name: (s.label, s.generator, s.split) for s in full}
    flat_names = {Path(s.key).name: (s.label, s.generator, s.split) for s in flat}
    assert flat_names == by_name


def test_genimage_subsets_pair_reals_with_fakes(shared: Path) -> None:
    samples = list(open_source(shared / "genimage-tree", split="train"))
    reals = [s for s in samples if s.label == REAL]
    assert all(s.generator is None for s in reals)
    assert {s.subset for s in reals} == set(GENIMAGE_TRAIN)


def test_commfor_pairs_and_families(shared: Path) -> None:
    samples = list(open_source(shared / "commfor-sample"))
    reals = [s for s in samples if s.label == REAL]
    fakes = [s for s in samples if s.label == FAKE]
    assert all(s.generator is None and s.family == "real" for s in reals)
    assert all(s.family == "gan" for s in fakes)
    # every real is paired with a generator that has fakes in the set
    assert {s.subset for s in reals} == {s.generator for s in fakes}
    assert any(s.origin.endswith("(biggan/0_real/105_biggan_real.jpg)") for s in reals)


def test_hub_reader_on_local_copies_matches_native_parquet(shared: Path, tmp_path: Path, monkeypatch) -> None:
    """The `hf:` path (datasets.load_dataset) read offline from local copies with the hub's schema."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for folder in ("tiny-genimage-sample", "commfor-sample"):
        native = list(open_source(shared / folder))
        for streaming in (False, True):
            hub = open_source(f"hf:{shared / folder}", streaming=streaming)
            assert hub.format.startswith("hf-hub/")
            got = list(hub)
            assert [(s.split, s.label, s.generator, s.subset, s.family) for s in got] == [
                (s.split, s.label, s.generator, s.subset, s.family) for s in native
            ]
            assert got[0].read_bytes() == native[0].read_bytes()


def test_hub_split_selection(shared: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    src = open_source(f"hf:{shared / 'tiny-genimage-sample'}", split="validation", streaming=True)
    assert src.splits() == ["validation"]
    assert sum(1 for _ in src) == 35


def test_canonical_generator_names() -> None:
    assert canonical_generator("stable_diffusion_v_1_4") == "SD14"
    assert canonical_generator("imagenet_ai_0419_sdv4") == "SD14"
    assert canonical_generator("imagenet_ai_0424_sdv5") == "SD15"
    assert canonical_generator("imagenet_midjourney") == "Midjourney"
    assert canonical_generator("big gan") == "BigGAN"
    assert canonical_generator("nature") is None and canonical_generator("Real") is None
    assert canonical_generator("cyclegan") == "cyclegan"  # unknown names are kept as spelled


def test_manifest_csv_and_jsonl_with_bad_rows(shared: Path, tmp_path: Path) -> None:
    real = sorted((shared / "cifake" / "test" / "REAL").glob("*.jpg"))[0]
    fake = sorted((shared / "cifake" / "test" / "FAKE").glob("*.jpg"))[0]
    rows = [
        {"path": str(real), "label": "real"},
        {"path": str(fake), "label": 1, "generator": "stable_diffusion_v_1_4"},
        {"path": str(fake), "label": "maybe"},
        {"path": "missing.jpg", "label": 0},
    ]
    jl = tmp_path / "m.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    csvf = tmp_path / "m.csv"
    csvf.write_text("path,label,generator\n" + "\n".join(f"{r['path']},{r['label']},{r.get('generator', '')}" for r in rows) + "\n")
    for manifest in (jl, csvf):
        result = summarize(open_source(manifest), progress=False)
        assert result["splits"]["all"] == {"total": 2, "real": 1, "fake": 1, "generators": {"SD14": 1}}
        reasons = [s["reason"] for s in result["skipped"]]
        assert any("neither real nor fake" in r for r in reasons)
        assert any("file not found" in r for r in reasons)
    assert any("invalid JSON" in s["reason"] for s in summarize(open_source(jl), progress=False)["skipped"])


def test_errors_for_unreadable_specs(shared: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="cannot tell the dataset format"):
        open_source(tmp_path / "empty")
    with pytest.raises(SourceError, match="no split 'bogus'"):
        open_source(shared / "cifake", split="bogus")
    with pytest.raises(SourceError, match="unknown format"):
        open_source(shared / "cifake", format="nonsense")


def test_forced_format_and_fingerprint(shared: Path) -> None:
    as_folder = open_source(shared / "cifake", format="imagefolder")
    assert as_folder.format == "imagefolder"
    assert sum(1 for s in as_folder if s.label == FAKE) == 1500  # train 500 + test 1000 FAKE folders
    a, b = open_source(shared / "cifake"), open_source(shared / "cifake")
    assert a.fingerprint() == b.fingerprint()
    assert a.with_split("train").fingerprint() != a.with_split("test").fingerprint()
