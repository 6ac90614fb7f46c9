"""Spark Structured Streaming reads a real Kafka topic through the spark-sql-kafka connector.

The 300 real ZTF 4.02 alerts are replayed into Kafka by datasim, read back by a streaming query, decoded, and
compared with a direct fastavro decode of the same files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import fastavro
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from fink_common.avro import decode_alert
from fink_common.datasets import sample_dir, sample_files
from fink_common.schema import load_avro_schema
from fink_common.testing import unique_name
from fink_datasim.replay import replay


def _expected() -> list[tuple[str, int, float]]:
    rows = []
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as fh:
            for rec in fastavro.reader(fh):
                rows.append((rec["objectId"], rec["candid"], rec["candidate"]["jd"]))
    return sorted(rows)


def _stream_all(
    spark: SparkSession, bootstrap: str, topic: str, decode: Callable[[DataFrame], DataFrame], tmp: Path
) -> pd.DataFrame:
    """Run a streaming query over the whole topic (availableNow), sink to parquet, return the decoded rows."""
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", 100)
        .load()
    )
    decoded: DataFrame = decode(source)
    query = (
        decoded.writeStream.format("parquet")
        .option("path", str(tmp / "out"))
        .option("checkpointLocation", str(tmp / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(timeout=300)
    assert query.exception() is None
    batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    assert len(batches) >= 3  # maxOffsetsPerTrigger=100 over 300 messages: really streamed in micro-batches
    return spark.read.parquet(str(tmp / "out")).toPandas()


def _check(got: pd.DataFrame) -> None:
    rows = sorted(zip(got["objectId"], got["candid"].astype(int), got["jd"].astype(float), strict=True))
    expected = _expected()
    assert len(rows) == 300
    assert rows == expected


def test_container_alerts_decode_in_a_streaming_query(spark: SparkSession, kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = unique_name("it_ztf_container")
    result = replay(sample_dir("ztf_4.02"), topic, rate=0, framing="container", bootstrap=kafka_bootstrap, progress=False)
    assert result.sent == 300 and result.failed == 0

    @F.pandas_udf("objectId string, candid long, jd double")
    def ids(values: pd.Series) -> pd.DataFrame:
        recs = [decode_alert(v, "ztf_4.02") for v in values]
        return pd.DataFrame(
            {
                "objectId": [r["objectId"] for r in recs],
                "candid": [r["candid"] for r in recs],
                "jd": [r["candidate"]["jd"] for r in recs],
            }
        )

    got = _stream_all(spark, kafka_bootstrap, topic, lambda df: df.select(ids("value").alias("a")).select("a.*"), tmp_path)
    _check(got)


def test_schemaless_alerts_decode_with_from_avro(spark: SparkSession, kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = unique_name("it_ztf_schemaless")
    result = replay(sample_dir("ztf_4.02"), topic, rate=0, framing="schemaless", bootstrap=kafka_bootstrap, progress=False)
    assert result.sent == 300 and result.failed == 0
    schema_json = json.dumps(load_avro_schema("ztf_4.02"))

    def decode(df: DataFrame) -> DataFrame:
        alert = from_avro(F.col("value"), schema_json, {"mode": "FAILFAST"}).alias("alert")
        return df.select(alert).select("alert.objectId", "alert.candid", F.col("alert.candidate.jd").alias("jd"))

    got = _stream_all(spark, kafka_bootstrap, topic, decode, tmp_path)
    _check(got)


def test_kafka_source_reports_offsets(spark: SparkSession, kafka_bootstrap: str) -> None:
    """A batch read of the connector sees every offset of a partition, in order (no loss at the source)."""
    topic = unique_name("it_offsets")
    replay(sample_dir("ztf_4.02"), topic, rate=0, framing="container", bootstrap=kafka_bootstrap, limit=50, progress=False)
    df = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka_bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .select("partition", "offset")
        .toPandas()
    )
    assert sorted(df["offset"].tolist()) == list(range(50))
    assert set(df["partition"]) == {0}

