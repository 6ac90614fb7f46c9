"""The fast path of the distribution: Spark's tasks read the science files themselves (pyarrow), evaluate every
filter on pandas and encode the selected alerts with fastavro; the whole alerts never become JVM rows.

The DataFrame path (`transform`: Spark reads the science rows, a pandas UDF flags them, `to_avro` encodes them)
spent most of its time in Spark's JVM reading and copying the wide nested rows. Here the stream carries only a
narrow projection (the alert id, the file and the row's index in it, `fink_common.batchfiles`); the driver splits the micro-batch's files
into slices of row groups (`slices`, at most `SLICE_ROWS` alerts each, so that one slice's messages are what the
driver holds at a time) and each task, for its slice:

1. reads its row groups (pyarrow), only the rows that survived the deduplication, and the night of the folder;
2. evaluates the filters (`registry.evaluate_filters` on `registry.input_frame`, the frame the reconciliation also
   uses), bound to the science schema's columns (`fink_plugins.bind`), one pass for all of them;
3. encodes every alert some filter selected as schemaless Avro in the wire schema (fastavro: the same bytes as
   Spark's `to_avro`, tests/test_messages.py), and gives one `(partition_key, value, alert_id, filters, failed)`
   row per alert, as `transform.encode_messages` does.

`FilePass` streams those rows to the driver (`toLocalIterator`, one slice at a time) for the Kafka transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastavro import parse_schema, schemaless_writer
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from fink_common.batchfiles import BatchFile, kept_rows
from fink_common.surveys import Survey
from fink_distribution.fink_plugins import bind, flat_paths
from fink_distribution.publisher import Outgoing
from fink_distribution.registry import AlertFilter, check_columns, evaluate_filters, input_frame, required_columns
from fink_distribution.transform import column_paths
from fink_distribution.wire import WireSchema

__all__ = ["SLICE_ROWS", "FilePass", "MessagePlan", "Slice", "encode_table", "message_rows", "plan_for", "slices"]

#: at most this many alerts per task (whole row groups of 256): ~50 MB of Rubin messages on the driver at a time
SLICE_ROWS = 512

#: the lake's partition column: a folder (`night=<n>`), a column of the rows Spark reads
PARTITION = "night"
#: one message row: (partition key, Avro value or None, alert id, selecting filters, failed filters)
MessageRow = tuple[bytes, bytes | None, Any, list[str], list[str]]


@dataclass(frozen=True)
class MessagePlan:
    """What every task needs: the bound filters, the wire schema, the id columns, the alert columns."""

    filters: tuple[AlertFilter, ...]
    schema_text: str
    alert_id: str
    partition_fields: tuple[str, ...]  # the object id fields, then the alert id: the first non-null picks the partition
    columns: tuple[str, ...]  # the alert's columns, in the wire schema's order


@dataclass(frozen=True)
class Slice:
    """Some row groups of one science file; or rows [start, stop) of one row group larger than a slice (a file
    written by Spark's writer has a single row group)."""

    file: BatchFile
    row_groups: tuple[int, ...]
    start: int | None = None
    stop: int | None = None


def plan_for(science: T.StructType, filters: Sequence[AlertFilter], schema: WireSchema, survey: Survey) -> MessagePlan:
    """The plan for science rows of the Spark schema `science` (the file stream's: the `night` folder a column)."""
    columns = tuple(science.fieldNames())
    if columns != schema.field_names:
        raise ValueError(f"the science columns {list(columns)} differ from the wire schema's {list(schema.field_names)}")
    bound = bind(filters, flat_paths(science), column_paths(science))
    check_columns(bound, column_paths(science))
    return MessagePlan(
        filters=tuple(bound),
        schema_text=schema.text,
        alert_id=survey.alert_id_field,
        partition_fields=(*survey.object_id_fields, survey.alert_id_field),
        columns=columns,
    )


def slices(files: Iterable[BatchFile], rows: int = SLICE_ROWS) -> list[Slice]:
    """The files' rows, in order, in slices of at most `rows` alerts: whole row groups, or parts of a larger one."""
    out: list[Slice] = []
    for item in files:
        metadata = pq.read_metadata(item.path)
        group: list[int] = []
        held = 0
        for index in range(metadata.num_row_groups):
            size = metadata.row_group(index).num_rows
            if size > rows:
                if group:
                    out.append(Slice(item, tuple(group)))
                    group, held = [], 0
                out.extend(Slice(item, (index,), a, min(a + rows, size)) for a in range(0, size, rows))
                continue
            if group and held + size > rows:
                out.append(Slice(item, tuple(group)))
                group, held = [], 0
            group.append(index)
            held += size
        if group:
            out.append(Slice(item, tuple(group)))
    return out


def _partition_key(table: pa.Table, fields: Sequence[str]) -> list[bytes]:
    columns = [table.column(name).to_pylist() for name in fields if name in table.column_names]
    keys = []
    for values in zip(*columns, strict=True):
        first = next((v for v in values if v is not None), None)
        keys.append(b"" if first is None else str(first).encode("utf-8"))
    return keys


def encode_table(table: pa.Table, plan: MessagePlan, parsed: Any) -> list[MessageRow]:
    """One message row per alert of a batch of science rows (no I/O); `parsed`: fastavro's form of the schema."""
    flags = evaluate_filters(input_frame(table, required_columns(plan.filters)), plan.filters)
    names = [f.name for f in plan.filters]
    marks = [flags[name].tolist() for name in names]
    keys = _partition_key(table, plan.partition_fields)
    ids = table.column(plan.alert_id).to_pylist()
    selected_rows = [i for i in range(table.num_rows) if any(m[i] is True for m in marks)]
    records = table.select(list(plan.columns)).take(pa.array(selected_rows, pa.int64())).to_pylist()
    values: dict[int, bytes] = {}
    for i, record in zip(selected_rows, records, strict=True):
        buffer = BytesIO()
        schemaless_writer(buffer, parsed, record)
        values[i] = buffer.getvalue()
    out: list[MessageRow] = []
    for i in range(table.num_rows):
        selecting = [name for name, m in zip(names, marks, strict=True) if m[i] is True]
        failed = [name for name, m in zip(names, marks, strict=True) if m[i] is None]
        out.append((keys[i], values.get(i), ids[i], selecting, failed))
    return out


def message_rows(plan: MessagePlan) -> Callable[[Iterable[Slice]], Iterator[MessageRow]]:
    def run(parts: Iterable[Slice]) -> Iterator[MessageRow]:
        parsed = parse_schema(json.loads(plan.schema_text))
        for part in parts:
            reader = pq.ParquetFile(part.file.path, coerce_int96_timestamp_unit="us")
            table = reader.read_row_groups(list(part.row_groups))
            first = sum(reader.metadata.row_group(g).num_rows for g in range(part.row_groups[0]))
            if part.start is not None and part.stop is not None:
                table = table.slice(part.start, part.stop - part.start)
                first += part.start
            rows = kept_rows(part.file, first, table.num_rows)
            if rows is not None:
                table = table.take(pa.array(rows, pa.int64()))
            if PARTITION in plan.columns and PARTITION not in table.column_names:  # the folder, as Spark reads it
                table = table.append_column(PARTITION, pa.array([part.file.night] * table.num_rows, pa.string()))
            if table.num_rows:
                yield from encode_table(table, plan, parsed)

    return run


@dataclass
class FilePass:
    """One pass over a micro-batch's slices, streamed to the driver: yields the selected alerts and counts every
    alert and filter failure on the way. Called again, it starts over (a retried transaction reads it again)."""

    spark: SparkSession
    parts: Sequence[Slice]
    plan: MessagePlan
    alerts: int = 0
    failed: Counter[str] = field(default_factory=Counter)

    def __call__(self) -> Iterator[Outgoing]:
        self.alerts, self.failed = 0, Counter()
        if not self.parts:
            return
        rdd = self.spark.sparkContext.parallelize(list(self.parts), len(self.parts)).mapPartitions(message_rows(self.plan))
        for key, value, _, selecting, failed in rdd.toLocalIterator(prefetchPartitions=True):
            self.alerts += 1
            self.failed.update(failed)
            if value is not None:
                yield key, value, selecting

