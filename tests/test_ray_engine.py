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


# ---------------------------------------------------------------- evaluate and inspect on the Ray engine

# What says how a run went, not what it found: engine options, output folder, timing, date, and how
# many rows this run scored itself (a resumed run scored fewer).
RUN_FIELDS = ("/protocol/options", "/protocol/timing", "/protocol/date", "/protocol/environment",
              "/protocol/samples/resumed", "/protocol/samples/scored_this_run")


def metrics_differences(local: object, remote: object, path: str = "") -> list[str]:
    """Where two metrics.json documents differ, beyond float rounding and RUN_FIELDS."""
    if path in RUN_FIELDS:
        return []
    if isinstance(local, dict) and isinstance(remote, dict):
        if set(local) != set(remote):
            return [f"{path}: keys {sorted(set(local) ^ set(remote))}"]
        return [d for k in local for d in metrics_differences(local[k], remote[k], f"{path}/{k}")]
    if isinstance(local, list) and isinstance(remote, list):
        if len(local) != len(remote):
            return [f"{path}: {len(local)} vs {len(remote)} items"]
        return [d for i, (a, b) in enumerate(zip(local, remote)) for d in metrics_differences(a, b, f"{path}[{i}]")]
    if isinstance(local, float) and isinstance(remote, float):
        same = local == pytest.approx(remote, abs=1e-6) or (local != local and remote != remote)  # NaN
        return [] if same else [f"{path}: {local} vs {remote}"]
    return [] if local == remote else [f"{path}: {local!r} vs {remote!r}"]


def assert_same_evaluation(local_out: Path, remote_out: Path) -> dict:
    import pyarrow.parquet as pq

    local, remote = (json.loads((p / "metrics.json").read_text()) for p in (local_out, remote_out))
    assert metrics_differences(local, remote) == []
    assert remote["protocol"]["options"]["engine"] == "ray" and local["protocol"]["options"]["engine"] == "local"
    a, b = (pq.read_table(p / "predictions.parquet") for p in (local_out, remote_out))
    assert a.column_names == b.column_names and a.num_rows == b.num_rows > 0
    for name in a.column_names:  # same rows in the same order: scores to float32 rounding, the rest exactly
        left, right = a.column(name).to_pylist(), b.column(name).to_pylist()
        if name.startswith("score:"):
            assert right == pytest.approx(left, abs=1e-6, nan_ok=True), name
        else:
            assert right == left, name
    return remote


def evaluate_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["evaluate", "--data", data, "--out", out, "--bootstrap", "50", "--no-report", "--no-progress",
            "--threads", "1", *extra]


def test_ray_evaluate_gives_the_local_metrics(ray_address: str, tmp_path: Path) -> None:
    """cifake-parquet's test split (subset) with one degradation, in this process on the module's Ray."""
    from fakescope.eval.evaluate import EvalOptions, evaluate

    common = dict(data=str(SHARED / "cifake-parquet"), max_samples=48, degrade=["jpeg:75"], bootstrap=50,
                  threads=1, progress=False, report=False, batch_size=16)
    evaluate(EvalOptions(out=str(tmp_path / "local"), **common))
    evaluate(EvalOptions(out=str(tmp_path / "ray"), engine="ray", ray_address=ray_address, workers=1, **common))
    remote = assert_same_evaluation(tmp_path / "local", tmp_path / "ray")
    assert remote["data"]["n_scored"] == 48 and remote["protocol"]["samples"]["outside_subset"] > 0
    assert not (tmp_path / "ray" / ".partial").exists()
    for bad in (["--engine", "spark"], ["--workers", "2"], ["--ray-address", ray_address]):  # the last two: ray only
        proc = run_cli("evaluate", "--data", SHARED / "cifake-parquet", "--out", tmp_path / "bad", *bad)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_ray_evaluate_killed_midway_resumes_to_the_same_result(ray_address: str, tmp_path: Path) -> None:
    """native-pool's test split (subset, two conditions): the CLI on Ray is SIGKILLed once its row
    log holds a finished batch; the same run again scores only the rest and ends as a local run."""
    from fakescope.eval.evaluate import EvalOptions, evaluate

    data, n = SHARED / "native-pool", 120
    extra = ("--max-samples", str(n), "--degrade", "jpeg:75")
    evaluate(EvalOptions(data=str(data), out=str(tmp_path / "local"), max_samples=n, degrade=["jpeg:75"], bootstrap=50,
                         threads=1, progress=False, report=False))
    ray_args = [*evaluate_args(data, tmp_path / "ray", *extra), "--engine", "ray", "--ray-address", ray_address,
                "--batch-size", "8"]
    finished = kill_once_logged(ray_args, tmp_path / "ray" / ".partial" / "rows.jsonl")
    assert 0 < finished < n
    # the same command again (in this process, to spare a second interpreter start)
    evaluate(EvalOptions(data=str(data), out=str(tmp_path / "ray"), max_samples=n, degrade=["jpeg:75"], bootstrap=50,
                         threads=1, progress=False, report=False, batch_size=8, engine="ray", ray_address=ray_address))
    remote = assert_same_evaluation(tmp_path / "local", tmp_path / "ray")
    samples = remote["protocol"]["samples"]
    assert samples["resumed"] >= finished and samples["resumed"] + samples["scored_this_run"] == n


def kill_once_logged(args: list[str], log: Path) -> int:
    """Start the CLI, SIGKILL it as soon as its row log holds a finished block; the rows it kept.
    Blocks of 256 KiB of encoded images (FAKESCOPE_RAY_BLOCK_BYTES): a few images each here."""
    import signal
    import subprocess
    import time

    from conftest import fakescope_bin

    proc = subprocess.Popen([fakescope_bin(), *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "FAKESCOPE_RAY_BLOCK_BYTES": str(256 * 1024)})
    deadline = time.monotonic() + 120
    while not (log.exists() and log.stat().st_size > 0) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be interrupted"
    return len(log.read_text().splitlines())


def test_ray_inspect_matches_local_and_resumes(ray_address: str, tmp_path: Path) -> None:
    """The shared provenance files (listed four times, watermarks decoded) and a missing file: the CLI
    on Ray is killed midway, the same run again finishes with the local engine's rows in its order."""
    import pyarrow.parquet as pq

    from fakescope.verdict.ray_engine import ray_inspect

    inputs = [str(SHARED / "provenance")] * 4 + ["missing.png"]
    local = run_cli("inspect", *inputs, "-r", "-f", "jsonl", "--no-progress")
    assert local.returncode == 0, local.stderr[-3000:]
    expected = [json.loads(line) for line in local.stdout.splitlines()]
    out = tmp_path / "out"
    finished = kill_once_logged(["inspect", *inputs, "-r", "--engine", "ray", "--ray-address", ray_address,
                                 "--output", out, "--no-progress"], out / ".partial" / "rows.jsonl")
    assert 0 < finished < len(expected)
    record = ray_inspect(inputs, recursive=True, out_dir=out, address=ray_address, progress=False)
    rows = pq.read_table(out / "inspect.parquet").to_pylist()
    assert [{**r, "evidence": json.loads(r["evidence"])} for r in rows] == expected  # same rows, same order
    summary = record["summary"]
    assert summary["files"] == len(expected) and summary["errors"] == 1 and summary["resumed"] == finished
    assert summary["ai-generated"] == sum(r["verdict"] == "ai-generated" for r in expected) > 0
    assert json.loads((out / "_inspect.json").read_text()) == record and not (out / ".partial").exists()
    # a finished run's folder is refused, and so is a Ray option with the local engine
    again = run_cli("inspect", *inputs, "--engine", "ray", "--ray-address", ray_address, "--output", out)
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    assert run_cli("inspect", *inputs, "--workers", "2").returncode == 2
