"""Rubin replays against the real local Kafka (`./fink services up`): the tests fail, never skip, without it."""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import TopicPartition

from fink_common.datasets import WIRE_SETS, sample_dir, sample_files
from fink_common.kafka import make_admin, make_consumer, topic_message_count
from fink_common.surveys import DecodeSettings, get_survey
from fink_common.testing import unique_name
from fink_datasim.container import read_container
from fink_datasim.generate import GenerateResult
from fink_datasim.replay import replay

LSST_N, LSST_VISIT = 1500, 500  # the `lsst_night` fixture (conftest)


class FakeClock:
    """Moves only when the replay sleeps: visit pacing is checked without waiting 39 s per visit."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _drop_topic(bootstrap: str, topic: str) -> None:
    admin = make_admin(bootstrap)
    for future in admin.delete_topics([topic], operation_timeout=30).values():
        future.result(timeout=30)


def _consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 90.0) -> list[tuple[bytes | None, bytes]]:
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


def test_generated_alerts_replayed_by_visits_arrive_unchanged(kafka_bootstrap: str, lsst_night: GenerateResult) -> None:
    topic = unique_name("datasim_test_lsst_visits")
    clock = FakeClock()
    try:
        result = replay(
            Path(lsst_night.out), topic, visit_size=LSST_VISIT, visit_interval=39.0, bootstrap=kafka_bootstrap,
            progress=False, clock=clock, sleep=clock.sleep,
        )  # fmt: skip
        assert (result.sent, result.failed, result.visits) == (LSST_N, 0, LSST_N // LSST_VISIT)
        assert clock.sleeps == [39.0, 39.0]  # the fake clock does not move while sending: full slots
        messages = _consume(kafka_bootstrap, topic, LSST_N)
        assert len(messages) == LSST_N and topic_message_count(kafka_bootstrap, topic) == LSST_N
        files = {name: (Path(lsst_night.out) / name).read_bytes() for name in lsst_night.files}
        # in file order, byte for byte, keyed by diaSourceId
        assert [value for _, value in messages] == [files[name] for name in sorted(files)]
        assert [key for key, _ in messages] == [name.split(".")[0].encode() for name in sorted(files)]
        decode = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
        visits = [decode(value)["diaSource"]["visit"] for _, value in messages]
        assert [len(set(visits[k : k + LSST_VISIT])) for k in range(0, LSST_N, LSST_VISIT)] == [1, 1, 1]
    finally:
        _drop_topic(kafka_bootstrap, topic)


def test_real_rubin_samples_replay(kafka_bootstrap: str) -> None:
    topic = unique_name("datasim_test_lsst_real")
    wire = [p for name in WIRE_SETS for p in sample_files(name)]
    stored_9 = sample_files("lsst_9.0")
    part = sample_dir("lsst_10.0") / "part-2-918301.avro"
    try:
        sent = 0
        for name in (*WIRE_SETS, "lsst_9.0", "lsst_10.0"):
            result = replay(sample_dir(name), topic, rate=0, bootstrap=kafka_bootstrap, progress=False)
            assert result.failed == 0
            sent += result.sent
        expected = len(wire) + len(stored_9) + 7
        assert sent == expected == 39 + 100 + 7
        messages = _consume(kafka_bootstrap, topic, expected)
        assert len(messages) == expected and topic_message_count(kafka_bootstrap, topic) == expected
        values = [value for _, value in messages]
        # Confluent-framed files and one-alert container files go out byte for byte, in order
        assert values[: len(wire) + len(stored_9)] == [p.read_bytes() for p in wire + stored_9]
        # the 7-alert container is cut into 7 one-record container messages (header + one block each)
        box = read_container(part.read_bytes(), str(part))
        assert values[-7:] == [box.block_file(block) for block in box.blocks]
        decode = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
        rows = [decode(value) for value in values[-7:] + values[1:29]]  # 10.0 split messages, v10_0 and v11_0 wire
        assert [m[0] for m in messages[-7:]] == [str(r["diaSourceId"]).encode() for r in rows[:7]]
        assert sum(r["ssObjectId"] is not None for r in rows[:7]) == 2
        assert {r["schema_version"] for r in rows[7:]} == {"10.0", "11.0"}
    finally:
        _drop_topic(kafka_bootstrap, topic)
