"""The files of a micro-batch: the rows Spark's deduplication keeps (by their index in the file) are exactly the
rows the tasks read back, across Arrow batches, duplicates in one file included."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from fink_common.batchfiles import BatchFile, batch_files, file_column, kept_rows, read_batch_file, row_column


def _lake(tmp_path: Path) -> Path:
    folder = tmp_path / "lake" / "night=20240101"
    folder.mkdir(parents=True)
    ids = [5, 6, 5, 7, 8, 5, 9]
    pq.write_table(pa.table({"id": ids, "n": list(range(len(ids)))}), folder / "a.parquet", row_group_size=3)
    return tmp_path / "lake"


def test_the_rows_spark_keeps_are_the_rows_read_back(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    narrow = spark.read.parquet(str(lake)).select("id", file_column(), row_column())
    kept = narrow.dropDuplicates(["id"])
    (item,) = batch_files(kept)
    assert item.night == "20240101" and Path(item.path).name == "a.parquet"
    assert len(item.keep or ()) == 5 and list(item.keep or ()) == sorted(item.keep or ())
    expected = {r["row"]: r["id"] for r in kept.collect()}
    for batch_rows in (1, 2, 3, 100):
        read = pa.concat_tables(read_batch_file(item, batch_rows)).to_pylist()
        assert {r["n"]: r["id"] for r in read} == expected, batch_rows  # column n is the row index
        assert sorted(r["id"] for r in read) == [5, 6, 7, 8, 9]


def test_kept_rows_are_relative_to_the_slice() -> None:
    item = BatchFile("f.parquet", "1", (0, 2, 3, 6))
    assert kept_rows(item, 0, 3) == [0, 2]
    assert kept_rows(item, 3, 3) == [0]
    assert kept_rows(item, 6, 10) == [0]
    assert kept_rows(BatchFile("f.parquet", "1"), 3, 3) is None


def test_without_a_selection_every_row_is_read(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    (path,) = lake.glob("night=*/*.parquet")
    read = pa.concat_tables(read_batch_file(BatchFile(str(path), "20240101"), 2))
    assert read.column("n").to_pylist() == list(range(7))
