"""distribution end to end on the real Kafka: the 300 real enriched alerts, read back with read_committed
and decoded with the published schema only; restarts and replayed batches send nothing twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from confluent_kafka.admin import ConfigResource
from delivery import lake_config, read_topic, run, topic_counts
from enriched_alerts import SCIENCE_FILES, read_science, science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from fink_common.kafka import ensure_topics, make_admin, make_producer
from fink_common.testing import unique_name
from fink_distribution.config import DistributionConfig
from fink_distribution.job import DistributionSink, create_topics, read_query_id
from fink_distribution.publisher import TransactionalPublisher, partition_for
from fink_distribution.registry import evaluate_filters, input_frame, required_columns
from fink_distribution.wire import FINGERPRINT_HEADER, decode_value, wire_schema


@pytest.fixture
def config(kafka_bootstrap: str, science_lake: Path, tmp_path: Path) -> DistributionConfig:  # noqa: F811
    return lake_config(kafka_bootstrap, science_lake / "science", tmp_path, "fink_it", FINK_TOPIC_PARTITIONS="3")


def expected_candids(config: DistributionConfig, table: pa.Table) -> dict[str, set[int]]:
    """Filter name -> candids its mask selects, computed on the science parquet with the same functions."""
    flags = evaluate_filters(input_frame(table, required_columns(config.filters)), config.filters)
    candids = table.column("candid").to_pylist()
    return {name: {c for c, keep in zip(candids, flags[name], strict=True) if keep} for name in flags.columns}


def check_topics(config: DistributionConfig, table: pa.Table) -> dict[str, int]:
    bootstrap = config.kafka.bootstrap
    published = read_topic(bootstrap, config.schema_topic)
    assert len(published) == 1  # one schema, published once over the three batches
    schemas = {m.key().decode(): m.value().decode() for m in published}
    ((fingerprint, text),) = schemas.items()
    assert (config.schema_dir / f"{fingerprint}.avsc").read_text() == text
    rows = {r["candid"]: r for r in table.to_pylist()}
    expected = expected_candids(config, table)
    sent: dict[str, int] = {}
    for name, topic in config.topics.items():
        messages = read_topic(bootstrap, topic)
        candids = Counter()
        for message in messages:
            header = dict(message.headers() or [])[FINGERPRINT_HEADER].decode()
            record = decode_value(message.value(), schemas[header])  # the published schema, nothing else
            row = rows[record["candid"]]
            candids[record["candid"]] += 1
            assert message.key() == text.encode()  # Fink's convention: the writer schema's JSON, every message
            assert message.partition() == partition_for(row["objectId"].encode(), 3)  # one object, one partition
            assert (record["objectId"], record["candidate"]["jd"], record["classification"], record["night"]) == (
                row["objectId"],
                row["candidate"]["jd"],
                row["classification"],
                row["night"],
            )
            for cutout in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
                assert record[cutout]["stampData"] == row[cutout]["stampData"]
        assert set(candids) == expected[name], name
        assert all(n == 1 for n in candids.values()), f"{name}: a candid sent twice"
        sent[name] = len(messages)
    return sent


def test_distribution_exactly_once_on_real_kafka(spark: SparkSession, config: DistributionConfig) -> None:
    totals = run(spark, config)
    assert totals["batches"] == SCIENCE_FILES and totals["skipped"] == 0
    assert totals["alerts_in"] == 297  # 300 messages, 3 of them exact repeats of another alert
    table = read_science(config.lake.root)
    sent = check_topics(config, table)
    assert sent == totals["sent"]
    assert sum(1 for n in sent.values() if n > 0) >= 3, sent
    before = topic_counts(config)

    # A restart on the same checkpoint has nothing new to send.
    assert run(spark, config)["batches"] == 0
    assert topic_counts(config) == before

    # A crash after our Kafka commit but before Spark's: Spark replays the last batch, we skip it.
    last = SCIENCE_FILES - 1
    for name in (str(last), f".{last}.crc"):
        (config.checkpoint / "commits" / name).unlink()
    replayed = run(spark, config)
    assert (replayed["skipped"], replayed["batches"]) == (1, 0)
    assert topic_counts(config) == before

    # The sink called by hand twice with the same batch id and DataFrame: already committed, skipped.
    science = spark.read.parquet(str(config.lake.science))
    sink = DistributionSink(config, wire_schema(science.schema, config.survey))
    try:
        assert sink.sink_id == f"{config.transactional_id}/{read_query_id(config)}"  # the checkpoint's query
        assert sink.publisher.last_committed(sink.sink_id) == last
        sink(science, last)
        sink(science, last)
        assert sink.totals["skipped"] == 2 and sink.totals["batches"] == 0
        assert topic_counts(config) == before

        # A new batch id is sent once, then skipped: the commit, not the batch id's age, decides.
        first_file = next(config.lake.science.glob("night=*/batch-000000000-*.parquet"))
        one_file = spark.read.option("basePath", str(config.lake.science)).parquet(str(first_file))
        sink(one_file, last + 1)
        sink(one_file, last + 1)
        assert (sink.totals["batches"], sink.totals["skipped"]) == (1, 3)
        assert sink.publisher.last_committed(sink.sink_id) == last + 1
        after = topic_counts(config)
        assert {t: after[t] - before[t] for t in before} == {
            **{config.topics[n]: sink.totals["sent"][n] for n in sink.totals["sent"]},
            config.schema_topic: 0,
        }
    finally:
        sink.close()


def test_an_aborted_transaction_is_invisible(config: DistributionConfig) -> None:
    create_topics(config)
    admin = make_admin(config.kafka.bootstrap)
    for topic in (config.schema_topic, config.commit_topic):
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        entries = admin.describe_configs([resource])[resource].result(timeout=30)
        assert entries["cleanup.policy"].value == "compact", topic
    schema = wire_schema(T.StructType([T.StructField("candid", T.LongType())]), config.survey)
    topic = config.topics["sso_candidates"]
    publisher = TransactionalPublisher(
        config.kafka.bootstrap,
        config.transactional_id,
        commit_topic=config.commit_topic,
        schema_topic=config.schema_topic,
    )

    def failing() -> Iterator[tuple[bytes, bytes, list[str]]]:
        yield b"ZTF0", b"\x02", ["sso_candidates"]
        yield b"ZTF1", b"\x04", ["sso_candidates"]
        raise RuntimeError("the batch broke half-way")

    try:
        with pytest.raises(RuntimeError, match="half-way"):
            publisher.publish(0, "sink-a", failing, topics=config.topics, schema=schema)
        assert read_topic(config.kafka.bootstrap, topic) == []
        assert read_topic(config.kafka.bootstrap, config.schema_topic) == []
        assert publisher.last_committed("sink-a") is None

        good = [(b"ZTF2", b"\x06", ["sso_candidates"])]
        sent = publisher.publish(0, "sink-a", lambda: good, topics=config.topics, schema=schema)
        assert sent["sso_candidates"] == 1
        assert [m.value() for m in read_topic(config.kafka.bootstrap, topic)] == [b"\x06"]
        assert publisher.last_committed("sink-a") == 0 and publisher.last_committed("sink-b") is None
    finally:
        publisher.close()


def test_partition_for_is_the_partition_an_object_id_key_had(kafka_bootstrap: str) -> None:
    """Every message's key is now the schema, so the publisher picks the partition itself; on a real
    five-partition topic, librdkafka's default partitioner given the object id as key chose the same one."""
    topic = unique_name("fink_partitions")
    ensure_topics(kafka_bootstrap, [topic], partitions=5)
    ids = [f"ZTF23a{n:06d}".encode() for n in range(200)] + [str(170028115896025115 + n).encode() for n in range(200)]
    producer = make_producer(kafka_bootstrap)
    for key in ids:
        producer.produce(topic, value=b"\x00", key=key)
    assert producer.flush(30) == 0
    got = {m.key(): m.partition() for m in read_topic(kafka_bootstrap, topic)}
    assert got == {key: partition_for(key, 5) for key in ids}
    assert set(got.values()) == set(range(5))
