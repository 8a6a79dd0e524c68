"""The per-image predictions of an evaluation: a crash-safe row log while scoring, a table after.

While scoring, finished rows are appended to a JSON-lines log (written in chunks, each fsync'ed),
so an interrupted run leaves every finished row on disk and a rerun of the same command resumes
after them. At the end the log is read back with pyarrow under an explicit schema (one column per
condition) and written as OUTDIR/predictions.parquet or .csv.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from fakescope.utils.atomic import atomic_write, atomic_write_text

from .scoring import generator_column, score_column

BASE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("key", pa.string()), ("path", pa.string()), ("split", pa.string()), ("label", pa.int64()),
    ("generator", pa.string()), ("subset", pa.string()), ("family", pa.string()), ("format", pa.string()),
    ("width", pa.int64()), ("height", pa.int64()), ("error", pa.string()),
    # what the file declares (eval/evidence.py): verdict, generator, the items as JSON
    ("evidence_verdict", pa.string()), ("evidence_generator", pa.string()), ("evidence", pa.string()),
]
PREDICTION_FORMATS = ("parquet", "csv")


def predictions_schema(conditions: list[str], with_generator: bool) -> pa.Schema:
    fields = [pa.field(name, dtype) for name, dtype in BASE_FIELDS]
    fields += [pa.field(score_column(c), pa.float64()) for c in conditions]
    if with_generator:
        fields += [pa.field(generator_column(c), pa.string()) for c in conditions]
    return pa.schema(fields)


class RowLog:
    """Append-only JSON-lines log of finished rows; flushed every `every` rows or `seconds`."""

    def __init__(self, path: Path, every: int = 512, seconds: float = 10.0) -> None:
        self.path = path
        self.every = every
        self.seconds = seconds
        self._buffer: list[str] = []
        self._last = time.monotonic()
        self.written = 0

    def add(self, row: dict[str, Any]) -> None:
        self._buffer.append(json.dumps(row, ensure_ascii=False, default=str))
        if len(self._buffer) >= self.every or time.monotonic() - self._last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        # Take the rows out first: an interrupt during the write must not make the handler's own
        # flush write them twice (a half-written last line is dropped by `recover_log`).
        lines, self._buffer = self._buffer, []
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.written += len(lines)
        self._last = time.monotonic()


def recover_log(path: Path) -> set[str]:
    """Keys of the complete rows in a log; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return set()
    keys: set[str] = set()
    good: list[str] = []
    rewrite = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                key = json.loads(line)["key"] if line.endswith("\n") else None
            except (ValueError, KeyError, TypeError):
                key = None
            if key is None:  # torn by a kill mid-write: everything after it is suspect
                rewrite = True
                break
            if key in keys:  # never count a row twice
                rewrite = True
                continue
            keys.add(key)
            good.append(line)
    if rewrite:
        atomic_write_text(path, "".join(good))
    return keys


def read_log(path: Path, schema: pa.Schema) -> pa.Table:
    if not path.exists() or path.stat().st_size == 0:
        return schema.empty_table()
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pajson.read_json(path, parse_options=parse)
    return table.select(schema.names)


def write_predictions(table: pa.Table, out_dir: Path, fmt: str = "parquet") -> Path:
    if fmt not in PREDICTION_FORMATS:
        raise ValueError(f"predictions format {fmt!r} not in {PREDICTION_FORMATS}")
    target = out_dir / f"predictions.{fmt}"
    if fmt == "parquet":
        atomic_write(target, lambda p: pq.write_table(table, p))
    else:
        atomic_write(target, lambda p: pacsv.write_csv(table, p))
    for other in PREDICTION_FORMATS:  # a previous run's file in the other format would be stale
        if other != fmt:
            (out_dir / f"predictions.{other}").unlink(missing_ok=True)
    return target
