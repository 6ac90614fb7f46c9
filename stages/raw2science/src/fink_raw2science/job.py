"""raw2science wiring: raw file stream -> dedup (ids only) -> (in the tasks) cuts, science modules, science / rejected files."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field, replace

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_common.batchfiles import batch_files, file_column, row_column
from fink_common.lake import publish_manifest, staging_dir, stream_source
from fink_common.logging import get_logger
from fink_common.progress import ProgressListener, dropped_duplicates, executed_batches
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch
from fink_raw2science import STAGE, __version__
from fink_raw2science.config import Raw2ScienceConfig
from fink_raw2science.science.adapter import FailureLog
from fink_raw2science.transform import deduplicate
from fink_raw2science.writer import REJECTED, SCIENCE, SciencePlan, plan_for, stage_files

__all__ = ["BatchSink", "start", "duplicates_dropped"]

log = get_logger("fink.raw2science")


@dataclass
class BatchSink:
    """foreachBatch sink: the science and rejected files of one micro-batch, written idempotently.

    The batch it gets is the deduplicated (alert id, ingest time, raw file, row) projection; the tasks read the raw
    files, cut, run the modules and write the files themselves (`writer.stage_files`, into a staging folder per
    batch), and the driver publishes them under the batch id, replacing the files of an earlier attempt.
    """

    config: Raw2ScienceConfig
    plan: SciencePlan
    failures: FailureLog | None = None
    totals: dict[str, int] = field(default_factory=lambda: {"alerts": 0, "science": 0, "rejected": 0, "module_failures": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        spark = batch.sparkSession
        if self.failures is None:
            self.failures = FailureLog(spark.sparkContext)
        self.failures.take()  # start clean: only this batch's failures below
        lake = self.config.lake
        staging = {SCIENCE: str(staging_dir(lake.science, batch_id)), REJECTED: str(staging_dir(lake.rejected, batch_id))}
        for folder in staging.values():  # leftovers of an interrupted attempt
            shutil.rmtree(folder, ignore_errors=True)
        plan = replace(self.plan, staging=staging, science_timestamp=dt.datetime.now(dt.UTC))
        manifest = stage_files(spark, batch_files(batch), plan, self.failures)
        good = publish_manifest(lake.science, batch_id, manifest, SCIENCE)
        bad = publish_manifest(lake.rejected, batch_id, manifest, REJECTED)
        for module, (alerts, error) in self.failures.take().items():
            self.totals["module_failures"] += 1
            log.warning("science-module-failed", batch_id=batch_id, module=module, alerts=alerts, error=error)
        n_good, n_bad = sum(good.values()), sum(bad.values())
        for key, value in (("alerts", n_good + n_bad), ("science", n_good), ("rejected", n_bad)):
            self.totals[key] += value
        log.info(
            "micro-batch",
            batch_id=batch_id,
            alerts=n_good + n_bad,
            science=n_good,
            rejected=n_bad,
            nights=sorted(set(good) | set(bad)),
            seconds=round(time.monotonic() - started, 3),
        )


def duplicates_dropped(query: StreamingQuery) -> int:
    """Duplicates dropped by the deduplication operator over the query's recent progress reports (each
    micro-batch that ran counted once; Spark keeps the last `spark.sql.streaming.numRecentProgressUpdates`)."""
    return sum(dropped_duplicates(p) for p in executed_batches(query.recentProgress))


def start(config: Raw2ScienceConfig, spark: SparkSession | None = None) -> tuple[StreamingQuery, BatchSink]:
    spark = spark or build_spark_session(f"fink-{STAGE}", config.spark)
    spark.streams.addListener(ProgressListener(STAGE))
    source = stream_source(
        spark, config.lake.raw, max_files_per_trigger=config.max_files_per_trigger, wait_s=config.source_wait_seconds
    )
    plan = plan_for(
        spark, source.schema, survey=config.survey, quality_cut=config.quality_cut, modules=config.modules, version=__version__
    )
    sink = BatchSink(config, plan)
    log.info("starting", survey=config.survey, raw=str(config.lake.raw), modules=[m.name for m in config.modules])
    # only the id, the ingest time (the watermark) and where the row is go through Spark's deduplication
    narrow = source.select(plan.key, "ingest_timestamp", file_column(), row_column())
    query = start_foreach_batch(deduplicate(narrow, config.dedup_delay, plan.key), sink, name=STAGE, settings=config)
    return query, sink
