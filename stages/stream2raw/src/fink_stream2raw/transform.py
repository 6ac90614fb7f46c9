"""Pure DataFrame -> DataFrame steps of stream2raw: decode Kafka messages, stamp them, split good from bad.

Decoding runs in Python workers over Arrow batches (`mapInArrow`): each message is sniffed (Avro container or
schemaless), decoded with fink_common.avro and conformed to the raw table. A message that cannot be decoded
becomes a row with its reason and raw bytes, never an exception: the query goes on and nothing is lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.avro import decode_alert
from fink_common.errors import DecodeError
from fink_common.night import JD_UNIX_EPOCH, night_column
from fink_common.schema import conform_record, raw_alert_schema, spark_schema

__all__ = [
    "KAFKA_FIELDS",
    "decoded_schema",
    "decode_value",
    "decode_messages",
    "check_alert",
    "stamp",
    "raw_rows",
    "quarantine_rows",
]

#: Where each message came from: kept on every raw and quarantined row.
KAFKA_FIELDS = [
    T.StructField("kafka_topic", T.StringType(), True),
    T.StructField("kafka_partition", T.IntegerType(), True),
    T.StructField("kafka_offset", T.LongType(), True),
    T.StructField("kafka_timestamp", T.TimestampType(), True),
]
_ERROR_FIELDS = [
    T.StructField("decode_error", T.StringType(), True),
    T.StructField("raw_value", T.BinaryType(), True),
]


def decoded_schema(survey: str = "ztf") -> T.StructType:
    """Alert columns of the raw table, then the Kafka coordinates, then the decode error and raw bytes."""
    alert = spark_schema(raw_alert_schema(survey))
    return T.StructType(list(alert.fields) + KAFKA_FIELDS + _ERROR_FIELDS)


def check_alert(record: dict[str, Any]) -> None:
    """Reject decoded alerts that cannot be placed or identified (DecodeError with the reason).

    The fields that place an alert in time and on the sky (candidate.jd, ra, dec) must be finite and in range:
    the night partition, the HEALPix index and the cross-matches are computed from them. NaN or infinity in any
    other float field (a magnitude, a score) is an IEEE value Avro carries faithfully: it is kept as-is in the
    raw table, and the quality cuts of raw2science decide about it.
    """
    candidate = record.get("candidate") or {}
    jd = candidate.get("jd")
    if record.get("candid") is None:
        raise DecodeError("candid is null")
    if not record.get("objectId"):
        raise DecodeError("objectId is empty")
    if jd is None or not math.isfinite(jd) or jd < 2_400_000.0:
        raise DecodeError(f"candidate.jd is not a valid Julian date: {jd!r}")
    for name, low, high in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0)):
        value = candidate.get(name)
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise DecodeError(f"candidate.{name} is not a valid coordinate in [{low:g}, {high:g}] degrees: {value!r}")


def decode_value(value: bytes | None, schema_name: str, survey: str) -> tuple[dict[str, Any] | None, str | None]:
    """One Kafka message -> (the raw-table record, None), or (None, the reason it cannot be stored)."""
    try:
        record = decode_alert(value, schema_name)
        check_alert(record)
        return conform_record(record, survey), None
    except DecodeError as exc:
        return None, exc.reason


def _decoder(schema_name: str, survey: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    arrow_schema = to_arrow_schema(decoded_schema(survey), timestamp_utc=True)
    alert_names = [f.name for f in spark_schema(raw_alert_schema(survey)).fields]
    empty_alert = dict.fromkeys(alert_names)

    def decode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            columns = batch.to_pydict()
            rows: list[dict[str, Any]] = []
            for value, topic, partition, offset, ts in zip(
                columns["value"], columns["topic"], columns["partition"], columns["offset"], columns["timestamp"], strict=True
            ):
                record, reason = decode_value(value, schema_name, survey)
                row = record if record is not None else dict(empty_alert)
                row.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset, kafka_timestamp=ts)
                row["decode_error"] = reason
                row["raw_value"] = value if reason is not None else None
                rows.append(row)
            yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)

    return decode


def decode_messages(kafka_rows: DataFrame, schema_name: str, survey: str = "ztf") -> DataFrame:
    """Kafka source rows (value, topic, partition, offset, timestamp) -> one decoded row per message."""
    source = kafka_rows.select("value", "topic", "partition", "offset", "timestamp")
    return source.mapInArrow(_decoder(schema_name, survey), decoded_schema(survey))


def _jd_unix(jd: Column) -> Column:
    return (jd - F.lit(JD_UNIX_EPOCH)) * F.lit(86400.0)


def stamp(decoded: DataFrame, *, longitude_deg: float, version: str) -> DataFrame:
    """Add the observing night (from the alert's jd; from the Kafka timestamp for undecodable messages),
    the ingest time and the stage version."""
    from_jd = night_column(_jd_unix(F.col("candidate.jd")), longitude_deg)
    from_kafka = night_column(F.unix_micros(F.col("kafka_timestamp")) / F.lit(1e6), longitude_deg)
    return decoded.withColumns(
        {
            "night": F.when(F.col("decode_error").isNull(), from_jd).otherwise(from_kafka),
            "ingest_timestamp": F.current_timestamp(),
            "stream2raw_version": F.lit(version),
        }
    )


def raw_rows(stamped: DataFrame) -> DataFrame:
    """The decoded alerts, as stored in the raw table."""
    return stamped.where(F.col("decode_error").isNull()).drop("decode_error", "raw_value")


def quarantine_rows(stamped: DataFrame) -> DataFrame:
    """The messages that could not be decoded: where they came from, why, and their bytes."""
    return stamped.where(F.col("decode_error").isNotNull()).select(
        *(f.name for f in KAFKA_FIELDS),
        F.col("decode_error").alias("reason"),
        F.col("raw_value").alias("value"),
        "ingest_timestamp",
        "stream2raw_version",
        "night",
    )
