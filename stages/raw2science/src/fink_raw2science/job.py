"""raw2science wiring: raw parquet stream -> dedup -> quality cuts -> science modules -> science / rejected."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_common.lake import stream_source, write_batch
from fink_common.logging import get_logger
from fink_common.progress import ProgressListener, dropped_duplicates, executed_batches
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch
from fink_raw2science import STAGE, __version__
from fink_raw2science.config import Raw2ScienceConfig
from fink_raw2science.science.adapter import FailureLog
from fink_raw2science.surveys import survey_science
from fink_raw2science.transform import deduplicate, enrich, passing, rejected

__all__ = ["BatchSink", "start", "duplicates_dropped"]

log = get_logger("fink.raw2science")


@dataclass
class BatchSink:
    """foreachBatch sink: the science and rejected files of one micro-batch, written idempotently."""

    config: Raw2ScienceConfig
    failures: FailureLog | None = None
    totals: dict[str, int] = field(default_factory=lambda: {"alerts": 0, "science": 0, "rejected": 0, "module_failures": 0})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        if self.failures is None:
            self.failures = FailureLog(batch.sparkSession.sparkContext)
        self.failures.take()  # start clean: only this batch's failures below
        survey = survey_science(self.config.survey)
        flagged = survey.flag(batch, self.config.quality_cut).persist()
        try:
            bad = write_batch(rejected(flagged, version=__version__), self.config.lake.rejected, batch_id)
            science = enrich(
                passing(flagged),
                self.config.modules,
                version=__version__,
                failures=self.failures,
                sections=(survey.history, survey.current),
                forced=survey.forced,
            )
            good = write_batch(science, self.config.lake.science, batch_id)
        finally:
            flagged.unpersist()
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
    sink = BatchSink(config)
    log.info("starting", survey=config.survey, raw=str(config.lake.raw), modules=[m.name for m in config.modules])
    key = survey_science(config.survey).alert_id
    query = start_foreach_batch(deduplicate(source, config.dedup_delay, key), sink, name=STAGE, settings=config)
    return query, sink
