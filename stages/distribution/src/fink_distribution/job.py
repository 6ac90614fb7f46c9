"""distribution wiring: science parquet stream -> filter flags -> one Kafka transaction per micro-batch.

The sink id (key of the commit records) is `<transactional.id>/<query id>`, the query id being the one
Spark keeps in the checkpoint (`<checkpoint>/metadata`): a restart on the same checkpoint resumes the
same sequence of batch ids and skips those already committed; a new checkpoint is a new query whose
batch ids start again at 0, so it is not mistaken for a replay.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_common.errors import FinkError
from fink_common.kafka import ensure_topics
from fink_common.lake import stream_source
from fink_common.logging import get_logger
from fink_common.retry import io_retry
from fink_common.spark import build_spark_session
from fink_common.streaming import start_foreach_batch
from fink_distribution import STAGE, __version__
from fink_distribution.config import DistributionConfig
from fink_distribution.publisher import Outgoing, TransactionalPublisher
from fink_distribution.transform import FLAGS_COLUMN, encode_messages, flag_alerts, unique_alerts
from fink_distribution.wire import WireSchema, wire_schema, write_schema_file

__all__ = [
    "COMPACTED_TOPIC_CONFIG",
    "BatchPass",
    "DistributionSink",
    "build_query",
    "create_topics",
    "read_query_id",
    "start",
]

log = get_logger("fink.distribution")

#: The schema and commit topics keep the latest value per key; hourly segments let compaction run.
COMPACTED_TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.ms": str(3_600_000)}


def read_query_id(config: DistributionConfig) -> str:
    """The id of the streaming query that owns the checkpoint (written by Spark when the query starts)."""
    path = config.checkpoint / "metadata"
    try:
        return str(json.loads(path.read_text(encoding="utf-8").splitlines()[0])["id"])
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise FinkError(f"no streaming query id in {path} ({exc}); has the query been started?") from exc


#: The message rows reach the driver one partition at a time (plus one prefetched): spreading them over this
#: many partitions bounds the driver's memory whatever the batch size. After the deduplication shuffle a
#: batch has only `spark.sql.shuffle.partitions` (2) partitions, and a backlog of 25,000 alerts in two task
#: results overflowed a 1 GB driver (java.lang.OutOfMemoryError in the chaos run).
TRANSFER_PARTITIONS = 8


@dataclass
class BatchPass:
    """One pass over the message rows of a batch (`transform.encode_messages`), streamed to the driver:
    yields the selected alerts and counts every alert and filter failure on the way. Called again, it
    starts over (a retried transaction reads the batch again)."""

    rows: DataFrame
    alerts: int = 0
    failed: Counter[str] = field(default_factory=Counter)

    def __call__(self) -> Iterator[Outgoing]:
        self.alerts, self.failed = 0, Counter()
        for row in self.rows.repartition(TRANSFER_PARTITIONS).toLocalIterator(prefetchPartitions=True):
            self.alerts += 1
            self.failed.update(row.failed)
            if row.value is not None:
                yield bytes(row.partition_key or b""), bytes(row.value), row.filters


@dataclass
class DistributionSink:
    """foreachBatch sink: one Kafka transaction per micro-batch, skipping batches already committed."""

    config: DistributionConfig
    schema: WireSchema
    query_id: str | None = None  # read from the checkpoint on the first batch when not given
    totals: dict[str, Any] = field(default_factory=dict)
    _publisher: TransactionalPublisher | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.totals = {
            "batches": 0,
            "skipped": 0,
            "alerts_in": 0,
            "sent": {f.name: 0 for f in self.config.filters},
            "seconds": 0.0,
        }

    @property
    def sink_id(self) -> str:
        if self.query_id is None:
            self.query_id = read_query_id(self.config)
        return f"{self.config.transactional_id}/{self.query_id}"

    @property
    def publisher(self) -> TransactionalPublisher:
        if self._publisher is None:
            self._publisher = TransactionalPublisher(
                self.config.kafka.bootstrap,
                self.config.transactional_id,
                commit_topic=self.config.commit_topic,
                schema_topic=self.config.schema_topic,
            )
        return self._publisher

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        sink_id, publisher = self.sink_id, self.publisher
        last = publisher.last_committed(sink_id)
        if last is not None and batch_id <= last:
            # Still run the batch once (a count): it (re)commits the deduplication state of this batch.
            self._log(batch_id, started, alerts_in=batch.count(), skipped=True, last_committed=last)
            self.totals["skipped"] += 1
            return
        filters = self.config.filters
        if FLAGS_COLUMN not in batch.columns:  # a plain science batch (a replay by hand): flag it here
            batch = flag_alerts(batch, filters)
        write_schema_file(self.config.schema_dir, self.schema)
        tally = BatchPass(encode_messages(batch, filters, self.schema, self.config.survey_plugin))
        sent = publisher.publish(
            batch_id,
            sink_id,
            tally,
            topics=self.config.topics,
            schema=self.schema,
            details={"stage_version": __version__},
        )
        alerts_in = tally.alerts
        self.totals["batches"] += 1
        self.totals["alerts_in"] += alerts_in
        for name, n in sent.items():
            self.totals["sent"][name] += n
        self._log(batch_id, started, alerts_in=alerts_in, skipped=False, selected=sent, failed=dict(tally.failed))

    def _log(self, batch_id: int, started: float, *, alerts_in: int, skipped: bool, **extra: Any) -> None:
        seconds = time.monotonic() - started
        self.totals["seconds"] += seconds
        log.info(
            "micro-batch",
            stage=STAGE,
            version=__version__,
            batch_id=batch_id,
            alerts_in=alerts_in,
            skipped_already_committed=skipped,
            seconds=round(seconds, 3),
            alerts_per_s=round(alerts_in / seconds, 1) if seconds > 0 and not skipped else None,
            fingerprint=self.schema.fingerprint,
            **extra,
        )

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None


@io_retry(attempts=6, max_delay_s=120.0)
def create_topics(config: DistributionConfig) -> list[str]:
    """Create the filter topics and the compacted schema and commit topics when missing."""
    created = ensure_topics(config.kafka.bootstrap, config.topics.values(), partitions=config.topic_partitions)
    created += ensure_topics(
        config.kafka.bootstrap, [config.schema_topic, config.commit_topic], config=COMPACTED_TOPIC_CONFIG
    )
    return created


def build_query(spark: SparkSession, config: DistributionConfig) -> tuple[DataFrame, WireSchema]:
    """The streaming DataFrame of flagged science alerts (no sink yet) and the schema of its messages."""
    source = stream_source(
        spark,
        config.lake.science,
        max_files_per_trigger=config.max_files_per_trigger,
        wait_s=config.source_wait_seconds,
    )
    schema = wire_schema(source.schema, config.survey)  # before the flags: they are never sent
    alerts = unique_alerts(source, config.survey_plugin.alert_id_field) if config.deduplicate else source
    return flag_alerts(alerts, config.filters), schema


def start(config: DistributionConfig, spark: SparkSession | None = None) -> tuple[StreamingQuery, DistributionSink]:
    """Create the topics and start the streaming query; the caller awaits or stops it."""
    spark = spark or build_spark_session(f"fink-{STAGE}", config.spark)
    flagged, schema = build_query(spark, config)
    created = create_topics(config)
    sink = DistributionSink(config, schema)
    log.info(
        "starting",
        science=str(config.lake.science),
        topics=config.topics,
        created=created,
        fingerprint=schema.fingerprint,
        transactional_id=config.transactional_id,
        available_now=config.available_now,
    )
    query = start_foreach_batch(flagged, sink, name=STAGE, settings=config)
    return query, sink
