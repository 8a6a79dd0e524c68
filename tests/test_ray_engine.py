"""`fakescope detect --engine ray`: Ray Data actors score a folder / a parquet dataset into parquet.

One local Ray (2 CPUs, this machine only, no dashboard, no usage stats) is started by this module and
shut down after it; the CLI joins it with --ray-address, as it would join a real cluster.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import SHARED, run_cli

pytest.importorskip("ray", reason="the Ray engine is an optional extra (fakescope[ray])")


@pytest.fixture(scope="module")
def ray_address() -> str:
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # Ray maps 127.0.0.1 to this machine's own address on purpose (services.resolve_ip_for_localhost):
    # the instance stays on this machine either way.
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                       logging_level="ERROR")
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()


def local_rows(model: Path, *args: str, **kw) -> dict[str, dict]:
    proc = run_cli("detect", "--model", model, "-f", "jsonl", "--no-progress", *args, **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {r["path"]: r for r in map(json.loads, proc.stdout.splitlines())}


def ray_rows(model: Path, out: Path, address: str, *args: str, **kw) -> tuple[dict, dict[str, dict]]:
    import pyarrow.parquet as pq

    proc = run_cli("detect", "--engine", "ray", "--ray-address", address, "--model", model, "--output", out,
                   "--no-progress", *args, **kw)
    assert proc.returncode == 0, proc.stderr[-4000:]
    record = json.loads(proc.stdout)
    table = pq.read_table(out)  # the folder is a parquet dataset; _detect.json is skipped by readers
    rows = table.to_pylist()
    assert len(rows) == len({r["path"] for r in rows})
    return record, {r["path"]: r for r in rows}


# The engines batch the same images differently, and oneDNN's convolutions round differently with
# the batch's size and layout: equal to float32 rounding, not bit for bit.
SCORE_TOLERANCE = 1e-5


def assert_same_results(local: dict[str, dict], remote: dict[str, dict]) -> None:
    assert set(remote) == set(local)
    for path, row in local.items():
        other = remote[path]
        assert other["error"] == row["error"], path
        assert other["label"] == row["label"], path
        assert (other["verdict"], other["reason"], other["answered_by"]) == (row["verdict"], row["reason"],
                                                                            row["answered_by"]), path
        claims = lambda items: [(i["source"], i["claim"], i["generator"], i["signer"]) for i in items]  # noqa: E731
        assert claims(json.loads(other["evidence"])) == claims(row["evidence"]), path  # a JSON string in parquet
        assert other["model"] == row["model"] and other["input_size"] == row["input_size"]
        assert other["pipeline"] == row["pipeline"]
        if row["error"] is None:
            assert other["score"] == pytest.approx(row["score"], abs=SCORE_TOLERANCE), path
        if row["generator"] is None:
            assert other["generator"] is None
        else:
            assert [g["label"] for g in other["generator"]] == [g["label"] for g in row["generator"]]
            assert [g["score"] for g in other["generator"]] == pytest.approx([g["score"] for g in row["generator"]], abs=SCORE_TOLERANCE)


def test_ray_scores_a_folder_like_the_local_engine(ray_address: str, cifake_cnn: Path, awkward_folder: Path,
                                                  tmp_path: Path) -> None:
    work = tmp_path / "cwd"
    (work / "rel").mkdir(parents=True)
    shutil.copy(awkward_folder / "1_fake" / "good_0.jpg", work / "rel" / "x.jpg")
    shutil.copy(awkward_folder / "1_fake" / "good_1.jpg", work / "listed.jpg")
    firefly = str(SHARED / "provenance" / "c2pa" / "Firefly_tabby_cat.jpg")  # declares itself AI-generated
    args = [str(awkward_folder), "-r", "rel/x.jpg", firefly, "-"]  # relative paths mean the caller's folder
    listing = f"{work / 'listed.jpg'}\nmissing.jpg\n"
    local = local_rows(cifake_cnn, *args, input=listing, cwd=work)
    record, remote = ray_rows(cifake_cnn, tmp_path / "out", ray_address, *args, input=listing, cwd=work)
    assert_same_results(local, remote)
    assert remote["rel/x.jpg"]["error"] is None and remote["missing.jpg"]["error"] == "file not found"
    assert remote[str(awkward_folder / "0_real" / "empty.jpg")]["error"].startswith("empty file")
    assert (remote[firefly]["verdict"], remote[firefly]["answered_by"]) == ("fake", "evidence:c2pa")
    assert any(i["source"] == "c2pa" for i in json.loads(remote[firefly]["evidence"]))
    summary = record["summary"]
    assert summary["images"] == len(local) and summary["errors"] == sum(r["error"] is not None for r in local.values())
    assert summary["fake"] + summary["real"] + summary["uncertain"] + summary["errors"] == summary["images"]
    assert summary["fake"] == sum(r["verdict"] == "fake" for r in local.values())
    assert record["engine"] == "ray" and record["workers"] == 2 and record["model"]["architecture"] == "cnn-small"
    assert json.loads((tmp_path / "out" / "_detect.json").read_text()) == record
    # a second run never mixes its files into an earlier run's folder
    again = run_cli("detect", "--engine", "ray", "--ray-address", ray_address, "--model", cifake_cnn,
                    "--output", tmp_path / "out", str(awkward_folder))
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_ray_scores_a_parquet_dataset_with_attribution(ray_address: str, genimage_both: Path, tmp_path: Path) -> None:
    data = SHARED / "tiny-genimage-sample"
    local = local_rows(genimage_both, str(data), "--split", "validation")
    record, remote = ray_rows(genimage_both, tmp_path / "out", ray_address, str(data), "--split", "validation",
                              "--batch-size", "8")
    assert len(remote) == 35 and record["summary"]["errors"] == 0
    assert_same_results(local, remote)
    assert all(len(r["generator"]) == 3 for r in remote.values())
