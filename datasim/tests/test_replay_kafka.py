"""Replays against the real local Kafka (started with `./fink services up`): the tests fail, never skip, without it."""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import TopicPartition

from fink_common.avro import decode_alert
from fink_common.datasets import sample_dir, sample_files
from fink_common.kafka import make_admin, make_consumer, topic_message_count
from fink_common.testing import unique_name
from fink_datasim.generate import GenerateResult
from fink_datasim.replay import replay


def _drop_topic(bootstrap: str, topic: str) -> None:
    """Delete a test topic (the admin client must outlive the futures it returns)."""
    admin = make_admin(bootstrap)
    for future in admin.delete_topics([topic], operation_timeout=30).values():
        future.result(timeout=30)


def _consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0) -> list[tuple[bytes | None, bytes]]:
    consumer = make_consumer(bootstrap, group=f"{topic}_check")
    consumer.assign([TopicPartition(topic, 0, 0)])
    out: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=1.0):
                assert msg.error() is None, msg.error()
                out.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def test_replay_of_the_300_real_alerts(kafka_bootstrap: str) -> None:
    topic = unique_name("datasim_test_real")
    try:
        result = replay(sample_dir("ztf_4.02"), topic, rate=0, bootstrap=kafka_bootstrap, progress=False)
        assert (result.sent, result.failed, result.files) == (300, 0, 300)
        assert topic_message_count(kafka_bootstrap, topic) == 300
        messages = _consume(kafka_bootstrap, topic, 300)
        assert len(messages) == 300
        expected = sorted(decode_alert(p.read_bytes(), "ztf_4.02")["candid"] for p in sample_files("ztf_4.02"))
        got = sorted(decode_alert(value, "ztf_4.02")["candid"] for _, value in messages)
        assert got == expected  # 297 distinct candids: the 3 duplicate messages are replayed too
        assert all(key == str(decode_alert(value, "ztf_4.02")["candid"]).encode() for key, value in messages)
        assert {value for _, value in messages} == {p.read_bytes() for p in sample_files("ztf_4.02")}
    finally:
        _drop_topic(kafka_bootstrap, topic)


def test_paced_schemaless_replay_of_generated_alerts(kafka_bootstrap: str, small_night: GenerateResult) -> None:
    topic = unique_name("datasim_test_paced")
    try:
        result = replay(
            Path(small_night.out), topic, rate=100, framing="schemaless", limit=150,
            bootstrap=kafka_bootstrap, progress=False,
        )
        assert (result.sent, result.failed) == (150, 0)
        assert 1.3 < result.elapsed_s < 4.0  # 150 alerts at 100/s: ~1.5 s plus the final flush
        messages = _consume(kafka_bootstrap, topic, 150)
        assert len(messages) == 150 and topic_message_count(kafka_bootstrap, topic) == 150
        first = decode_alert(messages[0][1], "ztf_4.02")
        assert first["schemavsn"] == "4.02" and messages[0][0] == str(first["candid"]).encode()
    finally:
        _drop_topic(kafka_bootstrap, topic)
