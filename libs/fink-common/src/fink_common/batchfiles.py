"""The files of a micro-batch, for stages whose tasks read the lake themselves (pyarrow, no JVM rows).

Such a stage streams only a narrow projection of its input through Spark (the alert id, the ingest time and the
file each row is in, `FILE_COLUMN`, from the file source's `_metadata.file_path`), deduplicates that if it must,
and collects it on the driver: `batch_files` gives one `BatchFile` per input file with the ids that survived.
Its tasks then read each file (`read_batch_file`), keeping the first row of each surviving id, in Arrow batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

__all__ = ["FILE_COLUMN", "BatchFile", "batch_files", "file_column", "local_path", "read_batch_file"]

#: the column of the narrow projection that names each row's file
FILE_COLUMN = "file"


@dataclass(frozen=True)
class BatchFile:
    """One input file of a micro-batch, its night (its `night=` folder), and the ids of it to read (None: all)."""

    path: str
    night: str
    keep: tuple[Any, ...] | None = None


def file_column() -> Column:
    """The file of each row of a parquet file stream (a `file:` URI), as `FILE_COLUMN`."""
    return F.col("_metadata.file_path").alias(FILE_COLUMN)


def local_path(uri: str) -> str:
    """A file stream's `file:` URI as a local path."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def _night_of(path: str) -> str:
    folder = Path(path).parent.name
    return folder.partition("=")[2] if folder.startswith("night=") else ""


def batch_files(rows: DataFrame, key: str | None) -> list[BatchFile]:
    """The files of a micro-batch's narrow projection (an action: collects it), with the ids of each that it
    holds (`key`); with key None, every row of every file."""
    by_file: dict[str, list[Any]] = {}
    columns = [FILE_COLUMN] if key is None else [FILE_COLUMN, key]
    for row in rows.select(*columns).collect():
        by_file.setdefault(row[FILE_COLUMN], [])
        if key is not None:
            by_file[row[FILE_COLUMN]].append(row[key])
    return [
        BatchFile(local_path(uri), _night_of(local_path(uri)), None if key is None else tuple(ids))
        for uri, ids in sorted(by_file.items())
    ]


def read_batch_file(item: BatchFile, key: str, batch_rows: int, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The file's rows to read, in Arrow batches of at most `batch_rows`: with `keep`, the first row of each
    kept id; else every row. `columns`: only those (and the key)."""
    wanted, seen = (set(item.keep) if item.keep is not None else None), set()
    reader = pq.ParquetFile(item.path, coerce_int96_timestamp_unit="us")
    for batch in reader.iter_batches(batch_size=batch_rows, columns=columns):
        if wanted is None:
            yield pa.Table.from_batches([batch])
            continue
        rows = []
        for i, value in enumerate(batch.column(key).to_pylist()):
            if value in wanted and value not in seen:
                seen.add(value)
                rows.append(i)
        if rows:
            yield pa.Table.from_batches([batch]).take(pa.array(rows, pa.int64()))
