"""Build a raw lake from real alert files without Kafka, as stream2raw would have written it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from fink_common.lake import write_batch
from fink_common.surveys import DecodeSettings, get_survey
from fink_stream2raw.transform import decode_messages, raw_rows, stamp

__all__ = ["lsst_raw_frame", "raw_frame", "write_raw_lake"]


def raw_frame(spark: SparkSession, files: list[Path]) -> DataFrame:
    """Raw-table rows decoded from real alert files (one Kafka-like message per file)."""
    ts = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
    rows = [(p.read_bytes(), "ztf_fixture", 0, i, ts) for i, p in enumerate(files)]
    kafka = spark.createDataFrame(rows, "value binary, topic string, partition int, offset long, timestamp timestamp")
    return raw_rows(stamp(decode_messages(kafka, "ztf_4.02"), longitude_deg=-116.865, version="fixture"))


def write_raw_lake(spark: SparkSession, files: list[Path], raw_dir: Path, *, per_batch: int = 100) -> int:
    """Write the files' alerts as raw batches of `per_batch` (several files, as a stream would)."""
    for batch_id, start in enumerate(range(0, len(files), per_batch)):
        write_batch(raw_frame(spark, files[start : start + per_batch]), raw_dir, batch_id)
    return len(files)


def lsst_raw_frame(spark: SparkSession, values: list[bytes]) -> DataFrame:
    """LSST raw-table rows decoded from Kafka message values (Confluent-framed or container), as stream2raw."""
    ts = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
    rows = [(v, "lsst_fixture", 0, i, ts) for i, v in enumerate(values)]
    kafka = spark.createDataFrame(rows, "value binary, topic string, partition int, offset long, timestamp timestamp")
    decoded = decode_messages(kafka, DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    lsst = get_survey("lsst")
    return raw_rows(stamp(decoded, longitude_deg=lsst.site_longitude_deg, version="fixture", survey="lsst"))
