"""The fast path (tasks decode and write parquet themselves) against the DataFrame path, and its replays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, Row, SparkSession

from fink_common.datasets import sample_files
from fink_common.lake import LakePaths, write_batch
from fink_stream2raw.config import load_config
from fink_stream2raw.job import BatchSink
from fink_stream2raw.transform import decode_messages, quarantine_rows, raw_rows, stamp

TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
LONGITUDE = -116.865
BAD = [b"", b"\x00\x01garbage", None]


@pytest.fixture(scope="module")
def values() -> list[bytes | None]:
    good = [p.read_bytes() for p in sample_files("ztf_4.02")[:40]] + [p.read_bytes() for p in sample_files("ztf_3.3")[:10]]
    return good[:20] + BAD[:2] + good[20:] + BAD[2:]


def _kafka_rows(spark: SparkSession, values: list[bytes | None], partitions: int, first: int = 0) -> DataFrame:
    rows = [(v, "ztf_test", 0, first + i, TS) for i, v in enumerate(values)]
    schema = "value binary, topic string, partition int, offset long, timestamp timestamp"
    return spark.createDataFrame(rows, schema).repartition(partitions)


def _sink(tmp_path: Path) -> BatchSink:
    env = {"FINK_INPUT_TOPICS": "ztf_test", "FINK_DATA_DIR": str(tmp_path / "lake"), "FINK_SITE_LONGITUDE": str(LONGITUDE)}
    return BatchSink(load_config(env))


def _comparable(row: Row) -> dict:
    out = row.asDict(recursive=True)
    out.pop("ingest_timestamp")  # the time each path ran
    return out


def test_files_hold_what_the_dataframe_path_gives(spark: SparkSession, tmp_path: Path, values: list) -> None:
    """Every column of every raw and quarantine row, nested history and cutouts included, is the same as
    through decode_messages -> stamp -> raw_rows / quarantine_rows (what Spark's own writer stored)."""
    sink = _sink(tmp_path)
    sink(_kafka_rows(spark, values, 3), 0)
    assert sink.totals == {"received": 53, "raw": 50, "quarantined": 3}

    lake = LakePaths(tmp_path / "lake")
    got_raw = spark.read.parquet(str(lake.raw))
    got_bad = spark.read.parquet(str(lake.quarantine))
    stamped = stamp(decode_messages(_kafka_rows(spark, values, 1), "ztf_4.02"), longitude_deg=LONGITUDE, version=sink_version())
    write_batch(raw_rows(stamped), tmp_path / "spark" / "raw", 0)  # Spark's own writer, as before the fast path
    write_batch(quarantine_rows(stamped), tmp_path / "spark" / "quarantine", 0)
    want_raw = spark.read.parquet(str(tmp_path / "spark" / "raw"))
    want_bad = spark.read.parquet(str(tmp_path / "spark" / "quarantine"))

    assert got_raw.columns == want_raw.columns and got_bad.columns == want_bad.columns
    assert got_raw.schema == want_raw.schema and got_bad.schema == want_bad.schema
    assert [_comparable(r) for r in got_raw.orderBy("kafka_offset").collect()] == [
        _comparable(r) for r in want_raw.orderBy("kafka_offset").collect()
    ]
    assert [_comparable(r) for r in got_bad.orderBy("kafka_offset").collect()] == [
        _comparable(r) for r in want_bad.orderBy("kafka_offset").collect()
    ]
    assert {r.night for r in got_raw.select("night").collect()} == {"20231017", "20191231"}
    assert not (lake.raw / "_staging" / "batch-000000000").exists()


def sink_version() -> str:
    from fink_stream2raw import __version__

    return __version__


def test_replayed_batch_replaces_its_own_files(spark: SparkSession, tmp_path: Path, values: list) -> None:
    """Spark replays a batch after a crash, possibly split into other tasks: its files are replaced, the
    other batches' files are kept, and every message is stored once."""
    sink = _sink(tmp_path)
    sink(_kafka_rows(spark, values[:30], 4), 5)
    sink(_kafka_rows(spark, values[30:], 2, first=30), 6)
    sink(_kafka_rows(spark, values[:30], 1), 5)  # the replay of batch 5, in a single task this time

    lake = LakePaths(tmp_path / "lake")
    offsets = [r.kafka_offset for r in spark.read.parquet(str(lake.raw)).select("kafka_offset").collect()]
    bad = [r.kafka_offset for r in spark.read.parquet(str(lake.quarantine)).select("kafka_offset").collect()]
    assert sorted(offsets + bad) == list(range(len(values)))  # each message once
    night_files = sorted(p.name for p in (lake.raw / "night=20231017").iterdir())
    assert [n for n in night_files if n.startswith("batch-000000005")] == ["batch-000000005-000.parquet"]
    assert any(n.startswith("batch-000000006") for n in night_files)
