"""The files of a micro-batch, for stages whose tasks read the lake themselves (pyarrow, no JVM rows).

Such a stage streams only a narrow projection of its input through Spark (the alert id, the ingest time, and
where each row is: its file, `FILE_COLUMN`, and its index in the file, `ROW_COLUMN`, from the file source's
`_metadata`), deduplicates that if it must, and collects it on the driver: `batch_files` gives one `BatchFile` per
input file with the rows that survived. Its tasks then read those rows of each file (`read_batch_file`), in
Arrow batches: exactly the rows Spark's deduplication kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

__all__ = [
    "FILE_COLUMN",
    "ROW_COLUMN",
    "BatchFile",
    "batch_files",
    "file_column",
    "kept_rows",
    "local_path",
    "read_batch_file",
    "row_column",
]

#: the columns of the narrow projection that say where each row is: its file, its index in the file
FILE_COLUMN, ROW_COLUMN = "file", "row"


@dataclass(frozen=True)
class BatchFile:
    """One input file of a micro-batch, its night (its `night=` folder), and the rows of it to read, by index in
    the file, in order (None: all)."""

    path: str
    night: str
    keep: tuple[int, ...] | None = None


def file_column() -> Column:
    """The file of each row of a parquet file stream (a `file:` URI), as `FILE_COLUMN`."""
    return F.col("_metadata.file_path").alias(FILE_COLUMN)


def row_column() -> Column:
    """The index of each row in its parquet file (from 0), as `ROW_COLUMN`."""
    return F.col("_metadata.row_index").alias(ROW_COLUMN)


def local_path(uri: str) -> str:
    """A file stream's `file:` URI as a local path."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def _night_of(path: str) -> str:
    folder = Path(path).parent.name
    return folder.partition("=")[2] if folder.startswith("night=") else ""


def batch_files(rows: DataFrame) -> list[BatchFile]:
    """The files of a micro-batch's narrow projection (`FILE_COLUMN`, `ROW_COLUMN`) with the rows of each that it
    holds (an action: collects the projection)."""
    by_file: dict[str, list[int]] = {}
    for row in rows.select(FILE_COLUMN, ROW_COLUMN).collect():
        by_file.setdefault(row[FILE_COLUMN], []).append(int(row[ROW_COLUMN]))
    return [BatchFile(local_path(uri), _night_of(local_path(uri)), tuple(sorted(ids))) for uri, ids in sorted(by_file.items())]


def kept_rows(item: BatchFile, first: int, n: int) -> list[int] | None:
    """The kept rows among rows [first, first + n) of the file, relative to `first` (None: all of them)."""
    if item.keep is None:
        return None
    return [r - first for r in item.keep if first <= r < first + n]


def read_batch_file(item: BatchFile, batch_rows: int, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """The file's rows to read (`keep`), in Arrow batches of at most `batch_rows` rows before the selection;
    only the top-level `columns` the file has, if given."""
    reader = pq.ParquetFile(item.path, coerce_int96_timestamp_unit="us")
    if columns is not None:
        columns = [c for c in columns if c in reader.schema_arrow.names]
    first = 0
    for batch in reader.iter_batches(batch_size=batch_rows, columns=columns):
        table = pa.Table.from_batches([batch])
        rows = kept_rows(item, first, batch.num_rows)
        first += batch.num_rows
        if rows is not None:
            table = table.take(pa.array(rows, pa.int64()))
        if table.num_rows:
            yield table
