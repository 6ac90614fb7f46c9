"""archive wiring: science parquet stream -> where each alert is -> tasks that key, build and put every table's
rows (`fink_archive.writer`) -> HBase tables, then the night statistics.

Spark streams only each alert's file and row index (`fink_common.batchfiles`); the tasks read the rows with
pyarrow. The DataFrame steps (`transform.archive_cells`, `store.write_cells`) build the same rows in the JVM; they
stay as the reference the fast path is tested against (`tests/test_rows.py`) and as the source of the plans.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_archive import STAGE, __version__
from fink_archive.config import ArchiveConfig
from fink_archive.store import ArchiveStore
from fink_archive.transform import schema_cells
from fink_archive.writer import ArchivePlan, archive_files, plan_for
from fink_common.batchfiles import batch_files, file_column, row_column
from fink_common.hbase import HBaseClient
from fink_common.lake import stream_source
from fink_common.logging import get_logger
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch

__all__ = ["BatchSink", "archive_plan", "build_query", "narrow", "prepare_tables", "start"]

log = get_logger("fink.archive")


@dataclass
class BatchSink:
    """foreachBatch sink: upserts one micro-batch into every table, then recomputes its nights' statistics.

    Replaying a batch (or calling the sink twice with the same rows) rewrites the same cells.
    """

    config: ArchiveConfig
    store: ArchiveStore
    plan: ArchivePlan
    totals: dict[str, int] = field(default_factory=lambda: {"alerts": 0, "rows": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """`batch`: where each alert of the micro-batch is (`narrow`)."""
        started = time.monotonic()
        tables = self.config.tables
        counts = archive_files(batch.sparkSession, batch_files(batch), self.plan)
        written = dict(counts.rows)
        alerts, nights = counts.alerts, sorted(counts.nights)
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
            alerts_without_key=counts.unkeyed,
            rows_written=dict(sorted(written.items())),
            nights=nights,
            seconds=round(seconds, 3),
            rows_per_second=round(sum(written.values()) / seconds, 1) if seconds > 0 else None,
        )


def build_query(spark: SparkSession, config: ArchiveConfig) -> DataFrame:
    """The streaming DataFrame of science alerts (no sink yet)."""
    return stream_source(spark, config.lake.science, max_files_per_trigger=config.max_files_per_trigger)


def narrow(source: DataFrame) -> DataFrame:
    """Where each alert is: its file and its row in the file (all the stream carries)."""
    return source.select(file_column(), row_column())


def archive_plan(config: ArchiveConfig, source: DataFrame) -> ArchivePlan:
    """The plan of the tasks, from the Spark schema of the science alerts."""
    return plan_for(source.schema, config.tables, __version__, config.hbase)


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
    sink = BatchSink(config, store, archive_plan(config, source))
    log.info(
        "starting",
        science=str(config.lake.science),
        hbase=f"{config.hbase.host}:{config.hbase.port}",
        table_prefix=config.hbase.table_prefix,
        tables_created=created,
        available_now=config.available_now,
    )
    query = start_foreach_batch(narrow(source), sink, name=STAGE, settings=config)
    return query, sink
