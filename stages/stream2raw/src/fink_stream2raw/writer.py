"""The fast path of stream2raw: each Spark task decodes its Kafka messages and writes the parquet files itself.

Profiling the DataFrame path (`transform.decode_messages` -> `stamp` -> Spark's parquet writer) showed that
about half of the time went to the JVM: converting the decoded Arrow batches into Spark rows (an alert
carries ~30 previous candidates of ~100 fields each), caching them so that raw and quarantine could both be
written, and encoding the nested rows again for parquet. Here the Python worker that decodes a batch (the
same `decode_value`) also writes it with pyarrow, straight from the Arrow data, so the rows never cross into
the JVM: Spark only schedules the tasks and gets back a small manifest (one row per file).

Each task writes one file per (dataset, night) under `<dataset>/_staging/batch-<id>/night=<n>/`, named after
its partition id: a retried task overwrites its own file. The driver then publishes the files of the batch
(`fink_common.lake.publish_files`), which makes the batch idempotent as with `write_batch`. The files have
exactly the columns Spark's writer gave them (the Arrow schemas below come from the same Spark schemas).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark import TaskContext
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.lake import MANIFEST, TaskFiles
from fink_common.night import night_of_unix
from fink_common.surveys import AlertDecoder, DecodeSettings, get_survey
from fink_stream2raw.transform import KAFKA_FIELDS, decode_value, raw_record_schema

__all__ = ["RAW", "QUARANTINE", "MANIFEST", "FileStamp", "raw_file_schema", "quarantine_file_schema", "stage_files"]

RAW, QUARANTINE = "raw", "quarantine"
_STAMP_FIELDS = [
    T.StructField("ingest_timestamp", T.TimestampType(), True),
    T.StructField("stream2raw_version", T.StringType(), True),
]


def raw_file_schema(survey: str = "ztf") -> pa.Schema:
    """Columns of a raw file (the night is the folder): the alert, its Kafka coordinates, the stamp."""
    alert = raw_record_schema(survey)
    return to_arrow_schema(T.StructType(list(alert.fields) + KAFKA_FIELDS + _STAMP_FIELDS), timestamp_utc=True)


def quarantine_file_schema() -> pa.Schema:
    """Columns of a quarantine file: where the message came from, why it was refused, its bytes, the stamp."""
    fields = [
        *KAFKA_FIELDS,
        T.StructField("reason", T.StringType(), True),
        T.StructField("value", T.BinaryType(), True),
        *_STAMP_FIELDS,
    ]
    return to_arrow_schema(T.StructType(fields), timestamp_utc=True)


@dataclass(frozen=True)
class FileStamp:
    """What every row of one micro-batch is stamped with, and where its files go."""

    batch_id: int
    raw_staging: str
    quarantine_staging: str
    decoding: DecodeSettings
    longitude_deg: float
    version: str
    ingest_timestamp: dt.datetime


def _night_of_timestamp(ts: dt.datetime | None, longitude_deg: float) -> str:
    return night_of_unix(ts.timestamp() if ts is not None else 0.0, longitude_deg)


def _split(batch: pa.RecordBatch, stamp: FileStamp, decoder: AlertDecoder) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Decode one Arrow batch of Kafka rows into raw and quarantine rows, grouped by (dataset, night)."""
    survey = get_survey(stamp.decoding.survey)
    columns = batch.to_pydict()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    stamped = {"ingest_timestamp": stamp.ingest_timestamp, "stream2raw_version": stamp.version}
    for value, topic, partition, offset, ts in zip(
        columns["value"], columns["topic"], columns["partition"], columns["offset"], columns["timestamp"], strict=True
    ):
        meta = {"kafka_topic": topic, "kafka_partition": partition, "kafka_offset": offset, "kafka_timestamp": ts}
        record, reason = decode_value(value, decoder)
        if record is not None:
            night = survey.night_of(record, stamp.longitude_deg)
            record.update(meta)
            record.update(stamped)
            groups.setdefault((RAW, night), []).append(record)
        else:
            night = _night_of_timestamp(ts, stamp.longitude_deg)
            row = {**meta, "reason": reason, "value": value, **stamped}
            groups.setdefault((QUARANTINE, night), []).append(row)
    return groups


def _task_writer(stamp: FileStamp) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def write(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        context = TaskContext.get()
        schemas = {RAW: raw_file_schema(stamp.decoding.survey), QUARANTINE: quarantine_file_schema()}
        folders = {RAW: stamp.raw_staging, QUARANTINE: stamp.quarantine_staging}
        files = TaskFiles(folders, schemas, context.partitionId() if context is not None else 0)
        decoder = get_survey(stamp.decoding.survey).decoder(stamp.decoding)
        for batch in batches:
            for (dataset, night), rows in _split(batch, stamp, decoder).items():
                files.write(dataset, night, pa.Table.from_pylist(rows, schema=schemas[dataset]))
        yield files.close()

    return write


def stage_files(kafka_rows: DataFrame, stamp: FileStamp) -> list[tuple[str, str, str, int]]:
    """Decode and write one micro-batch of Kafka rows into the staging folders (an action: runs the tasks).
    Returns the manifest: (dataset, night, path, rows) per file written."""
    source = kafka_rows.select("value", "topic", "partition", "offset", "timestamp")
    manifest = source.mapInArrow(_task_writer(stamp), MANIFEST).collect()
    return [(r.dataset, r.night, r.path, int(r.rows)) for r in manifest]
