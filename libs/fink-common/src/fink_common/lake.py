"""The data lake: parquet datasets partitioned by night, written idempotently from micro-batches.

Spark replays a micro-batch after a crash. Each batch therefore writes exactly one file per night with a
name that depends only on the batch id (`night=N/batch-000000042.parquet`): it is staged under `_staging/`
(ignored by readers: leading underscore) and renamed into place, so a replayed batch replaces its own file
instead of adding a second one, and a downstream file stream never sees a half-written file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from fink_common.errors import DataNotFoundError
from fink_common.retry import io_retry

__all__ = ["LakePaths", "write_batch", "batch_file_name", "wait_for_files", "stream_source"]


def batch_file_name(batch_id: int) -> str:
    return f"batch-{batch_id:09d}.parquet"


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


def _fs(spark: SparkSession, path: str):  # noqa: ANN202 (py4j objects are untyped)
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath, jvm


@io_retry(attempts=4, max_delay_s=60.0)
def write_batch(df: DataFrame, root: Path | str, batch_id: int, *, partition: str = "night") -> dict[str, int]:
    """Write `df` as one parquet file per `partition` value for this batch; returns rows per value.

    Idempotent in `batch_id`. `df` should be cached by the caller when it is also used for other outputs.
    """
    counts = {str(r[partition]): int(r["count"]) for r in df.groupBy(partition).count().collect()}
    if not counts:
        return {}
    root_str = str(root)
    staging = f"{root_str}/_staging/batch-{batch_id:09d}"
    spark = df.sparkSession
    (
        df.repartition(len(counts), partition)
        .write.mode("overwrite")
        .partitionBy(partition)
        .option("compression", "snappy")
        .parquet(staging)
    )
    fs, _, jvm = _fs(spark, staging)
    for value in counts:
        part_dir = jvm.org.apache.hadoop.fs.Path(f"{staging}/{partition}={value}")
        files = [s.getPath() for s in fs.listStatus(part_dir) if s.getPath().getName().endswith(".parquet")]
        if len(files) != 1:  # repartition by the partition column puts each value in exactly one task
            raise RuntimeError(f"expected one file for {partition}={value} in batch {batch_id}, got {len(files)}")
        target_dir = jvm.org.apache.hadoop.fs.Path(f"{root_str}/{partition}={value}")
        fs.mkdirs(target_dir)
        target = jvm.org.apache.hadoop.fs.Path(target_dir, batch_file_name(batch_id))
        if fs.exists(target):  # a replayed batch: replace our own earlier file
            fs.delete(target, False)
        if not fs.rename(files[0], target):
            raise OSError(f"cannot move {files[0]} to {target}")
    fs.delete(jvm.org.apache.hadoop.fs.Path(staging), True)
    return counts


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
