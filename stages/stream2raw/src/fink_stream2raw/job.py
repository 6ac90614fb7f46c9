"""stream2raw wiring: Kafka source -> (per micro-batch, in the tasks) decode, stamp, raw and quarantine parquet."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_common.lake import publish_manifest, staging_dir
from fink_common.logging import get_logger
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch
from fink_stream2raw import STAGE, __version__
from fink_stream2raw.config import Stream2RawConfig
from fink_stream2raw.writer import QUARANTINE, RAW, FileStamp, stage_files

__all__ = ["BatchSink", "build_query", "start"]

log = get_logger("fink.stream2raw")


@dataclass
class BatchSink:
    """foreachBatch sink: decodes one micro-batch and writes its raw and quarantine files, idempotently.

    The tasks decode and write the files themselves (`writer.stage_files`, into a staging folder per batch);
    the driver then publishes them under the batch id, replacing the files of an earlier attempt.
    """

    config: Stream2RawConfig
    totals: dict[str, int] = field(default_factory=lambda: {"received": 0, "raw": 0, "quarantined": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        lake = self.config.lake
        stamp = FileStamp(
            batch_id=batch_id,
            raw_staging=str(staging_dir(lake.raw, batch_id)),
            quarantine_staging=str(staging_dir(lake.quarantine, batch_id)),
            decoding=self.config.decoding,
            longitude_deg=self.config.site_longitude_deg,
            version=__version__,
            ingest_timestamp=dt.datetime.now(dt.UTC),
        )
        for folder in (stamp.raw_staging, stamp.quarantine_staging):  # leftovers of an interrupted attempt
            shutil.rmtree(folder, ignore_errors=True)
        manifest = stage_files(batch, stamp)
        raw = publish_manifest(lake.raw, batch_id, manifest, RAW)
        quarantined = publish_manifest(lake.quarantine, batch_id, manifest, QUARANTINE)
        n_raw, n_bad = sum(raw.values()), sum(quarantined.values())
        for key, value in (("received", n_raw + n_bad), ("raw", n_raw), ("quarantined", n_bad)):
            self.totals[key] += value
        log.info(
            "micro-batch",
            batch_id=batch_id,
            received=n_raw + n_bad,
            raw=n_raw,
            quarantined=n_bad,
            nights=sorted(set(raw) | set(quarantined)),
            seconds=round(time.monotonic() - started, 3),
        )


#: The writer tasks get Kafka messages (~65 kB each) in Arrow batches: 500 per batch is ~33 MB per task.
SESSION_SETTINGS = {"spark.sql.execution.arrow.maxRecordsPerBatch": "500"}


def build_query(spark: SparkSession, config: Stream2RawConfig) -> DataFrame:
    """The streaming DataFrame of Kafka messages (no sink yet): the sink decodes and writes them."""
    return spark.readStream.format("kafka").options(**config.source_options()).load()


def start(config: Stream2RawConfig, spark: SparkSession | None = None) -> tuple[StreamingQuery, BatchSink]:
    """Start the streaming query; the caller awaits or stops it."""
    spark = spark or build_spark_session(f"fink-{STAGE}", config.spark, SESSION_SETTINGS)
    sink = BatchSink(config)
    log.info("starting", source=config.source_options(), lake=str(config.lake.root), available_now=config.available_now)
    query = start_foreach_batch(build_query(spark, config), sink, name=STAGE, settings=config)
    return query, sink
