"""The data lake: parquet datasets partitioned by night, written idempotently from micro-batches.

Spark replays a micro-batch after a crash. Each batch therefore writes files whose names depend only on the
batch id (`night=N/batch-000000042-000.parquet`, one per task that held rows of that night): they are staged
under `_staging/` (ignored by readers: leading underscore) and renamed into place, so a replayed batch replaces
its own files instead of adding more, and a downstream file stream never sees a half-written file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.errors import DataNotFoundError
from fink_common.retry import io_retry

STAGING = "_staging"  # ignored by readers (leading underscore)

__all__ = [
    "LakePaths",
    "MANIFEST",
    "STAGING",
    "TaskFiles",
    "staging_dir",
    "publish_files",
    "publish_manifest",
    "write_batch",
    "batch_file_name",
    "manifest_files",
    "wait_for_files",
    "stream_source",
]


def batch_file_name(batch_id: int, part: int = 0) -> str:
    """`batch-<id>-<part>.parquet`: one file per task of the batch that held rows of a night."""
    return f"batch-{batch_id:09d}-{part:03d}.parquet"


def _batch_prefix(batch_id: int) -> str:
    return f"batch-{batch_id:09d}"


def _is_batch_file(name: str, batch_id: int) -> bool:
    """A file of this batch (`batch-<id>-<k>.parquet`, or the single `batch-<id>.parquet` of earlier releases)."""
    prefix = _batch_prefix(batch_id)
    return name.startswith(prefix + "-") or name == prefix + ".parquet"


@dataclass(frozen=True)
class LakePaths:
    """Where each dataset and checkpoint lives under one root folder."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def science(self) -> Path:
        return self.root / "science"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def checkpoint(self, stage: str, name: str = "main") -> Path:
        return self.root / "checkpoints" / stage / name


#: what a task that writes its own files returns: one row per file (`TaskFiles.close`)
MANIFEST = T.StructType(
    [
        T.StructField("dataset", T.StringType(), False),
        T.StructField("night", T.StringType(), False),
        T.StructField("path", T.StringType(), False),
        T.StructField("rows", T.LongType(), False),
    ]
)
#: rows per parquet row group of a task's files: ~16 MB of ZTF alerts, so that readers can split a file
ROW_GROUP = 256


class TaskFiles:
    """The parquet files one Spark task writes itself into its batch's staging folders (pyarrow, no JVM):
    one file per (dataset, night), `<folder>/night=<n>/part-<task>.parquet`, so a retried task overwrites its
    own file. The driver then publishes them (`publish_files`) from the manifest `close` returns."""

    def __init__(self, folders: Mapping[str, str], schemas: Mapping[str, pa.Schema], part: int) -> None:
        self.folders, self.schemas, self.part = dict(folders), dict(schemas), part
        self.writers: dict[tuple[str, str], tuple[pq.ParquetWriter, str]] = {}
        self.rows: dict[tuple[str, str], int] = {}

    def write(self, dataset: str, night: str, table: pa.Table) -> None:
        key = (dataset, night)
        if key not in self.writers:
            folder = Path(self.folders[dataset]) / f"night={night}"
            folder.mkdir(parents=True, exist_ok=True)
            path = str(folder / f"part-{self.part:05d}.parquet")
            self.writers[key] = (pq.ParquetWriter(path, self.schemas[dataset], compression="snappy"), path)
        self.writers[key][0].write_table(table, row_group_size=ROW_GROUP)
        self.rows[key] = self.rows.get(key, 0) + table.num_rows

    def close(self) -> pa.RecordBatch:
        """Close every file; one manifest row per file (dataset, night, path, rows)."""
        manifest = []
        for (dataset, night), (writer, path) in self.writers.items():
            writer.close()
            manifest.append({"dataset": dataset, "night": night, "path": path, "rows": self.rows[(dataset, night)]})
        self.writers.clear()
        return pa.RecordBatch.from_pylist(manifest, schema=to_arrow_schema(MANIFEST))


def manifest_files(manifest: Sequence[tuple[str, str, str, int]], dataset: str) -> dict[str, list[str]]:
    """night -> the files of `dataset` in a manifest of (dataset, night, path, rows) rows."""
    files: dict[str, list[str]] = {}
    for kind, night, path, _ in manifest:
        if kind == dataset:
            files.setdefault(night, []).append(path)
    return files


def staging_dir(root: Path | str, batch_id: int) -> Path:
    """Where a batch's files are written before they are published (a fresh folder per attempt)."""
    return Path(root) / STAGING / _batch_prefix(batch_id)


def publish_files(
    root: Path | str, batch_id: int, files: Mapping[str, Sequence[Path | str]], *, partition: str = "night"
) -> dict[str, int]:
    """Move a batch's staged parquet files into `root/<partition>=<value>/batch-<id>-<k>.parquet`.

    `files` maps each partition value to the files of the batch holding rows of it. A replayed batch first
    removes its own earlier files, so the result is the same however often a batch is published. The batch's
    staging folder is removed afterwards. Returns the rows per value (from the files' footers), without the
    values that got no rows.
    """
    counts: dict[str, int] = {}
    for value, paths in sorted(files.items()):
        target_dir = Path(root) / f"{partition}={value}"
        target_dir.mkdir(parents=True, exist_ok=True)
        for old in target_dir.iterdir():  # a replayed batch: remove our own earlier attempt
            if _is_batch_file(old.name, batch_id):
                old.unlink()
        rows = 0
        for part, path in enumerate(sorted(str(p) for p in paths)):
            rows += int(pq.read_metadata(path).num_rows)
            os.replace(path, target_dir / batch_file_name(batch_id, part))
        if rows:
            counts[value] = rows
    shutil.rmtree(staging_dir(root, batch_id), ignore_errors=True)
    return counts


@io_retry(attempts=4, max_delay_s=60.0)
def publish_manifest(
    root: Path | str, batch_id: int, manifest: Sequence[tuple[str, str, str, int]], dataset: str
) -> dict[str, int]:
    """`publish_files` of the files of `dataset` that a batch's tasks wrote (their `TaskFiles` manifest)."""
    return publish_files(root, batch_id, manifest_files(manifest, dataset))


@io_retry(attempts=4, max_delay_s=60.0)
def write_batch(df: DataFrame, root: Path | str, batch_id: int, *, partition: str = "night") -> dict[str, int]:
    """Write `df` under `root/<partition>=<value>/` as this batch's files; returns rows per value.

    One pass over `df` and no shuffle: each task writes one file per `partition` value it holds (Spark's
    writer, into the staging folder), then `publish_files` moves them into place. Idempotent in `batch_id`.
    `df` should be cached by the caller when it is also used for other outputs.
    """
    staging = staging_dir(root, batch_id)
    df.write.mode("overwrite").partitionBy(partition).option("compression", "snappy").parquet(str(staging))
    prefix = f"{partition}="
    files = {
        folder.name[len(prefix) :]: sorted(folder.glob("*.parquet"))
        for folder in staging.glob(f"{prefix}*")
        if folder.is_dir()
    }
    return publish_files(root, batch_id, files, partition=partition)


def wait_for_files(path: Path | str, *, timeout_s: float, poll_s: float = 2.0) -> None:
    """Block until `path` holds at least one parquet file (an upstream stage has written its first batch)."""
    root = Path(path)
    deadline = time.monotonic() + timeout_s
    while not any(p for p in root.glob("night=*/*.parquet")):
        if time.monotonic() > deadline:
            raise DataNotFoundError(f"no parquet files appeared under {root} within {timeout_s:.0f} s")
        time.sleep(poll_s)


def stream_source(
    spark: SparkSession, path: Path | str, *, max_files_per_trigger: int, wait_s: float = 600.0
) -> DataFrame:
    """A file stream over a night-partitioned dataset of ours. Its schema is read from the files already
    written (so it is exactly what the upstream stage wrote), which is why we first wait for one."""
    wait_for_files(path, timeout_s=wait_s)
    schema = spark.read.parquet(str(path)).schema
    return (
        spark.readStream.schema(schema)
        .option("maxFilesPerTrigger", max_files_per_trigger)
        .option("latestFirst", "false")
        .parquet(str(path))
    )
