"""Pure DataFrame -> DataFrame steps of stream2raw: decode Kafka messages, stamp them, split good from bad.

Decoding runs in Python workers over Arrow batches (`mapInArrow`): each message is decoded by its survey's plug-in
(`fink_common.surveys`: the framing is sniffed per message) and conformed to the survey's raw table. A message that cannot be decoded
becomes a row with its reason and raw bytes, never an exception: the query goes on and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.errors import DecodeError
from fink_common.night import night_column
from fink_common.schema import raw_alert_schema, spark_schema
from fink_common.surveys import AlertDecoder, DecodeSettings, get_survey

__all__ = [
    "KAFKA_FIELDS",
    "raw_record_schema",
    "decoded_schema",
    "decode_value",
    "decode_messages",
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
    return T.StructType(list(raw_record_schema(survey).fields) + KAFKA_FIELDS + _ERROR_FIELDS)


def raw_record_schema(survey: str = "ztf") -> T.StructType:
    """The alert columns of a survey's raw table: its schema versions' fields, then the survey's own columns."""
    plugin = get_survey(survey)
    return T.StructType(list(spark_schema(raw_alert_schema(survey)).fields) + list(plugin.raw_extra_fields))


def decode_value(value: bytes | None, decoder: AlertDecoder) -> tuple[dict[str, Any] | None, str | None]:
    """One Kafka message -> (the raw-table record, None), or (None, the reason it cannot be stored).

    A DecodeError is the message's fault: it goes to the quarantine with its reason. Any other error (a schema
    registry that stays down, say) propagates and fails the micro-batch, so no offset moves past the message."""
    try:
        return decoder(value), None
    except DecodeError as exc:
        return None, exc.reason


def _decoder(settings: DecodeSettings) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    arrow_schema = to_arrow_schema(decoded_schema(settings.survey), timestamp_utc=True)
    alert_names = [f.name for f in raw_record_schema(settings.survey).fields]
    empty_alert = dict.fromkeys(alert_names)

    def decode(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        decoder = get_survey(settings.survey).decoder(settings)
        for batch in batches:
            columns = batch.to_pydict()
            rows: list[dict[str, Any]] = []
            for value, topic, partition, offset, ts in zip(
                columns["value"], columns["topic"], columns["partition"], columns["offset"], columns["timestamp"], strict=True
            ):
                record, reason = decode_value(value, decoder)
                row = record if record is not None else dict(empty_alert)
                row.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset, kafka_timestamp=ts)
                row["decode_error"] = reason
                row["raw_value"] = value if reason is not None else None
                rows.append(row)
            yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)

    return decode


def decode_messages(kafka_rows: DataFrame, settings: DecodeSettings | str, survey: str = "ztf") -> DataFrame:
    """Kafka source rows (value, topic, partition, offset, timestamp) -> one decoded row per message.
    `settings` may be just the schema name of schemaless messages (no registry)."""
    if isinstance(settings, str):
        settings = DecodeSettings(survey=survey, schema_name=settings)
    source = kafka_rows.select("value", "topic", "partition", "offset", "timestamp")
    return source.mapInArrow(_decoder(settings), decoded_schema(settings.survey))


def stamp(decoded: DataFrame, *, longitude_deg: float, version: str, survey: str = "ztf") -> DataFrame:
    """Add the observing night (from the alert's time; from the Kafka timestamp for undecodable messages),
    the ingest time and the stage version."""
    plugin = get_survey(survey)
    unix = F.col(plugin.time_field) * F.lit(plugin.time_scale) + F.lit(plugin.time_offset)
    from_alert = night_column(unix, longitude_deg)
    from_kafka = night_column(F.unix_micros(F.col("kafka_timestamp")) / F.lit(1e6), longitude_deg)
    return decoded.withColumns(
        {
            "night": F.when(F.col("decode_error").isNull(), from_alert).otherwise(from_kafka),
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
