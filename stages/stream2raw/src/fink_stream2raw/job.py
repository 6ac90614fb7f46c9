"""stream2raw wiring: Kafka source -> decode -> stamp -> raw and quarantine parquet, per micro-batch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_common.lake import write_batch
from fink_common.logging import get_logger
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch
from fink_stream2raw import STAGE, __version__
from fink_stream2raw.config import Stream2RawConfig
from fink_stream2raw.transform import decode_messages, quarantine_rows, raw_rows, stamp

__all__ = ["BatchSink", "build_query", "start"]

log = get_logger("fink.stream2raw")


@dataclass
class BatchSink:
    """foreachBatch sink: writes the raw and quarantine files of one micro-batch, idempotently."""

    config: Stream2RawConfig
    totals: dict[str, int] = field(default_factory=lambda: {"received": 0, "raw": 0, "quarantined": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        batch = batch.persist()
        try:
            raw = write_batch(raw_rows(batch), self.config.lake.raw, batch_id)
            quarantined = write_batch(quarantine_rows(batch), self.config.lake.quarantine, batch_id)
        finally:
            batch.unpersist()
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


def build_query(spark: SparkSession, config: Stream2RawConfig) -> DataFrame:
    """The streaming DataFrame from Kafka to stamped rows (no sink yet)."""
    source = spark.readStream.format("kafka").options(**config.source_options()).load()
    decoded = decode_messages(source, config.schema_name, config.survey)
    return stamp(decoded, longitude_deg=config.site_longitude_deg, version=__version__)


def start(config: Stream2RawConfig, spark: SparkSession | None = None) -> tuple[StreamingQuery, BatchSink]:
    """Start the streaming query; the caller awaits or stops it."""
    spark = spark or build_spark_session(f"fink-{STAGE}", config.spark)
    sink = BatchSink(config)
    log.info("starting", source=config.source_options(), lake=str(config.lake.root), available_now=config.available_now)
    query = start_foreach_batch(build_query(spark, config), sink, name=STAGE, settings=config)
    return query, sink
