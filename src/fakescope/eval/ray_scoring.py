"""`fakescope evaluate --engine ray`: the scoring pass of `evaluate` on Ray Data's engine.

    source --flat_map: read tasks (every P-th sample each: bytes, format, dedup, subset, resume)-->
        entries --map_batches: a pool of `ScoreEntries` actors (one model each: evidence, decode,
        conditions, scores)--> finished rows --> the driver's resumable row log

Everything around the pass (protocol, fingerprint, de-duplication reference, metrics, verdicts,
report) stays in `evaluate`, so both engines write the same metrics.json: the rows are the local
engine's rows (same code: `entries`, `with_evidence`, `score_rows`) and carry their position in
the listing, which orders the predictions as a local run does. What the read tasks and actors count
besides rows (samples seen, left out, duplicates, images a degradation left unchanged) comes back
as `tally` rows and is added up in the driver.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from fakescope.data import Sample, open_source
from fakescope.utils.rowlog import ORDER_FIELD

from .scoring import Entry, PassCounts, entries

TALLY = "tally"  # a JSON object of counts (a read task's PassCounts, an actor batch's unchanged images)
SAMPLE_FIELDS = tuple(f.name for f in dataclasses.fields(Sample) if f.name != "data")


def read_entries(row: dict[str, Any], *, data: str, format: str | None, split: str, cwd: str, parts: int,
                 done: frozenset[str], cutoff: int | None, exclude: frozenset[bytes] | None) -> Iterator[dict[str, Any]]:
    """Ray flat_map: this task's share of `entries` (every `parts`-th sample), then its counts."""
    os.chdir(cwd)  # a relative data path means the driver's folder
    source = open_source(data, format=format).with_split(split)
    counts = PassCounts()
    for entry in entries(source, counts, done=done, cutoff=cutoff, exclude_hashes=set(exclude) if exclude else None,
                         part=(int(row["part"]), parts)):
        meta = {name: getattr(entry.sample, name) for name in SAMPLE_FIELDS}
        meta.update(order=entry.order, format=entry.format, error=entry.error)
        yield {"meta": json.dumps(meta), "data": entry.data or b""}
    tally = {k: v for k, v in dataclasses.asdict(counts).items() if k != "unchanged"}
    yield {"meta": json.dumps({TALLY: tally}), "data": b""}


class ScoreEntries:
    """Ray actor: the evaluated model (as `evaluate` loads it), reused for every batch it scores."""

    def __init__(self, opts: Any, threads: int) -> None:
        import torch

        from .conditions import parse_alignment, parse_conditions
        from .evaluate import _model
        from .predictions import predictions_schema

        torch.set_num_threads(threads)
        self.backend, config, _, _ = _model(dataclasses.replace(opts, threads=None).model_stage())
        self.conditions = parse_conditions(opts.degrade)
        self.alignment = parse_alignment(opts.align_format)
        self.batch_size = opts.batch_size
        names = [c.name for c in self.conditions]
        self.schema = predictions_schema(names, config.has_generator).append(pa.field(ORDER_FIELD, pa.int64())) \
            .append(pa.field(TALLY, pa.string()))

    def __call__(self, batch: pa.Table) -> pa.Table:
        from .evidence import with_evidence
        from .scoring import score_rows

        todo: list[Entry] = []
        out: list[dict[str, Any]] = []
        for meta_json, data in zip(batch.column("meta").to_pylist(), batch.column("data").to_pylist()):
            meta = json.loads(meta_json)
            if TALLY in meta:  # a read task's counts: passed on to the driver
                out.append({TALLY: json.dumps(meta[TALLY])})
                continue
            sample = Sample(**{name: meta[name] for name in SAMPLE_FIELDS})
            todo.append(Entry(sample, data=data if meta["error"] is None else None, format=meta["format"],
                              error=meta["error"], order=meta["order"]))
        counts = PassCounts()
        rows = list(score_rows(self.backend, with_evidence(todo), self.conditions, alignment=self.alignment,
                               batch_size=self.batch_size, counts=counts, with_order=True))
        if rows and counts.unchanged:
            rows[0][TALLY] = json.dumps({"unchanged": counts.unchanged})
        return pa.Table.from_pylist(rows + out, schema=self.schema)


def add_tally(counts: PassCounts, tally: dict[str, Any]) -> None:
    """Add one task's or batch's counts to the run's."""
    for name, value in tally.items():
        if isinstance(value, dict):
            target = getattr(counts, name) if getattr(counts, name) is not None else {}
            for k, n in value.items():
                key = int(k) if name == "duplicates_by_label" else k
                target[key] = target.get(key, 0) + n
            setattr(counts, name, target)
        else:
            setattr(counts, name, getattr(counts, name) + value)


def ray_score_rows(opts: Any, *, model_dir: str, split: str, done: set[str], cutoff: int | None,
                   exclude: set[bytes] | None, counts: PassCounts,
                   on_batch: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """The rows `score_rows` gives locally, from a Ray actor pool (in the order they finish, each
    with `order`); `counts` receives the pass's counts; `on_batch` after each batch arrives."""
    import ray.data

    from fakescope.verdict.ray_engine import RESUMABLE_BLOCK_BYTES, part_dataset, ray_session, stream_rows

    actor_opts = dataclasses.replace(opts, model=model_dir)  # resolved: actors may start in another folder
    with ray_session(opts.ray_address, opts.workers, opts.progress, block_bytes=RESUMABLE_BLOCK_BYTES) as size:
        ds = part_dataset(size).flat_map(read_entries, num_cpus=0, fn_kwargs={
            "data": opts.data, "format": opts.format, "split": split, "cwd": os.getcwd(), "parts": size,
            "done": frozenset(done), "cutoff": cutoff, "exclude": frozenset(exclude) if exclude is not None else None})
        ds = ds.map_batches(ScoreEntries, batch_size=opts.batch_size, batch_format="pyarrow", num_cpus=1,
                            compute=ray.data.ActorPoolStrategy(size=size),
                            fn_constructor_kwargs={"opts": actor_opts, "threads": opts.threads or 1})
        for row in stream_rows(ds, on_batch=on_batch):
            tally = row.pop(TALLY)
            if tally is not None:
                add_tally(counts, json.loads(tally))
            if row["key"] is not None:
                yield row
