"""The per-image predictions of an evaluation: a crash-safe row log while scoring, a table after.

While scoring, finished rows are appended to a JSON-lines log (`fakescope.utils.rowlog`, the one
resume mechanism of the local and the Ray engines), so an interrupted run leaves every finished
row on disk and a rerun of the same command resumes after them. At the end the log is read back
with pyarrow under an explicit schema (one column per condition), in the source's order, and
written as OUTDIR/predictions.parquet or .csv.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from fakescope.utils.atomic import atomic_write
from fakescope.utils.rowlog import ORDER_FIELD, RowLog, recover_log  # noqa: F401 - re-exported for callers

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


def read_log(path: Path, schema: pa.Schema) -> pa.Table:
    """The logged rows under `schema`, in the source's order when the rows carry it (`order`: rows
    of a Ray run, or of a run resumed on another engine, are logged as they finish)."""
    if not path.exists() or path.stat().st_size == 0:
        return schema.empty_table()
    with_order = schema.append(pa.field(ORDER_FIELD, pa.int64()))
    parse = pajson.ParseOptions(explicit_schema=with_order, unexpected_field_behavior="ignore")
    table = pajson.read_json(path, parse_options=parse)
    if table.column(ORDER_FIELD).null_count < table.num_rows:
        table = table.sort_by([(ORDER_FIELD, "ascending")])
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
