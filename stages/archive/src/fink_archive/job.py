"""archive wiring: science parquet stream -> rowkeys and cells -> HBase tables, then night statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fink_archive import STAGE, __version__
from fink_archive.config import ArchiveConfig
from fink_archive.store import ArchiveStore, write_cells
from fink_archive.transform import archive_cells, has_key, latest_tables, schema_cells, with_keys
from fink_common.hbase import HBaseClient
from fink_common.lake import stream_source
from fink_common.logging import get_logger
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch

__all__ = ["BatchSink", "build_query", "prepare_tables", "start"]

log = get_logger("fink.archive")


@dataclass
class BatchSink:
    """foreachBatch sink: upserts one micro-batch into every table, then recomputes its nights' statistics.

    Replaying a batch (or calling the sink twice with the same rows) rewrites the same cells.
    """

    config: ArchiveConfig
    store: ArchiveStore
    totals: dict[str, int] = field(default_factory=lambda: {"alerts": 0, "rows": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        # Not persisted: each table's rows read only the columns they need from the batch's parquet files
        # (the cutouts once), which costs less than caching whole alerts. A cache of a backlog-sized batch
        # (~10,000 alerts with cutouts) spilled to disk and ran the 1 GB driver out of heap reading it back.
        tables = self.config.tables
        keyed = with_keys(batch, __version__, tables.layout)
        summary = keyed.agg(
            F.count("*").alias("alerts"),
            F.count_if(~has_key()).alias("unkeyed"),
            F.collect_set(F.when(has_key(), F.col("night"))).alias("nights"),  # the nights of the keyed alerts
        ).first()
        assert summary is not None  # a global aggregate always has one row
        written = write_cells(archive_cells(keyed, tables), self.config.hbase, latest=latest_tables(tables))
        alerts, nights = int(summary["alerts"]), sorted(n for n in summary["nights"] if n)
        stats = self.store.refresh_statistics(nights)
        written[tables.statistics] = len(stats)
        seconds = time.monotonic() - started
        self.totals["alerts"] += alerts
        self.totals["rows"] += sum(written.values())
        log.info(
            "micro-batch",
            stage=STAGE,
            version=__version__,
            survey=tables.survey,
            batch_id=batch_id,
            alerts_in=alerts,
            alerts_without_key=int(summary["unkeyed"]),
            rows_written=dict(sorted(written.items())),
            nights=nights,
            seconds=round(seconds, 3),
            rows_per_second=round(sum(written.values()) / seconds, 1) if seconds > 0 else None,
        )


def build_query(spark: SparkSession, config: ArchiveConfig) -> DataFrame:
    """The streaming DataFrame of science alerts (no sink yet)."""
    return stream_source(spark, config.lake.science, max_files_per_trigger=config.max_files_per_trigger)


def prepare_tables(store: ArchiveStore, source: DataFrame) -> list[str]:
    """Create the missing tables and (re)write their schema rows; returns the tables created."""
    created = store.create_tables()
    store.write_schema_rows(schema_cells(source.schema, store.tables), __version__)
    return created


def start(config: ArchiveConfig, spark: SparkSession | None = None) -> tuple[StreamingQuery, BatchSink]:
    """Start the streaming query; the caller awaits or stops it."""
    spark = spark or build_spark_session(f"fink-{STAGE}", config.spark)
    store = ArchiveStore(HBaseClient(config.hbase), config.tables)
    source = build_query(spark, config)
    created = prepare_tables(store, source)
    sink = BatchSink(config, store)
    log.info(
        "starting",
        science=str(config.lake.science),
        hbase=f"{config.hbase.host}:{config.hbase.port}",
        table_prefix=config.hbase.table_prefix,
        tables_created=created,
        available_now=config.available_now,
    )
    query = start_foreach_batch(source, sink, name=STAGE, settings=config)
    return query, sink
