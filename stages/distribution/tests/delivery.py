"""Reading what the distribution sent, as a client would: every committed message of a topic, and one run of the
stage to its end (`FINK_AVAILABLE_NOW`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition
from pyspark.sql import SparkSession

from fink_common.kafka import make_consumer
from fink_common.testing import unique_name
from fink_distribution.config import DistributionConfig, load_config
from fink_distribution.job import start

__all__ = ["lake_config", "read_topic", "run", "topic_counts"]


def lake_config(bootstrap: str, science: Path, tmp_path: Path, prefix: str, **extra: str) -> DistributionConfig:
    """A config over a private copy of the science table `science`, one file per batch, run to the end, with
    topics of its own (`<unique prefix>_<filter>_<survey>`)."""
    lake = tmp_path / "lake"
    shutil.copytree(science, lake / "science")
    env = {
        "FINK_KAFKA_BOOTSTRAP": bootstrap,
        "FINK_DATA_DIR": str(lake),
        "FINK_MAX_FILES_PER_TRIGGER": "1",
        "FINK_AVAILABLE_NOW": "true",
        "FINK_TOPIC_PREFIX": unique_name(prefix) + "_",
        **extra,
    }
    return load_config(env)


def read_topic(bootstrap: str, topic: str) -> list[Message]:
    """Every committed message of a topic (isolation.level=read_committed), oldest first."""
    consumer = make_consumer(bootstrap, unique_name("reader"), {"enable.partition.eof": True})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining, out = set(partitions), []
        while remaining:
            msg = consumer.poll(30)
            assert msg is not None, f"no end of partition reached on {topic}"
            if msg.error() is not None:
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                remaining.discard(msg.partition())
                continue
            out.append(msg)
        return out
    finally:
        consumer.close()


def topic_counts(config: DistributionConfig) -> dict[str, int]:
    topics = [*config.topics.values(), config.schema_topic]
    return {t: len(read_topic(config.kafka.bootstrap, t)) for t in topics}


def run(spark: SparkSession, config: DistributionConfig) -> dict:
    query, sink = start(config, spark)
    try:
        query.awaitTermination(timeout=600)
        assert query.exception() is None
    finally:
        sink.close()
    return sink.totals
