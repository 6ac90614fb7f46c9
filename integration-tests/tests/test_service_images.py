"""Smoke tests of the service images, fink/kafka and fink/hbase, through testcontainers (containers.py):
real clients on the host (confluent-kafka, happybase) against the containers' published ports."""

from __future__ import annotations

import time
import uuid

import happybase
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

N_MESSAGES = 50


def test_kafka_topic_produce_consume(kafka_container: str) -> None:
    bootstrap = kafka_container
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # the broker advertises the published port: what a client on the host must be told
    brokers = admin.list_topics(timeout=30).brokers
    assert [f"{b.host}:{b.port}" for b in brokers.values()] == [bootstrap]

    topic = f"smoke_{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=60)
    assert len(admin.list_topics(topic, timeout=30).topics[topic].partitions) == 3

    sent = {f"key-{i}".encode(): f"alert {i} {'x' * i}".encode() for i in range(N_MESSAGES)}
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value, on_delivery=lambda err, _msg: err and errors.append(err))
    assert producer.flush(60) == 0
    assert errors == []

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: dict[bytes, bytes] = {}
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while len(received) < N_MESSAGES and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            received[msg.key()] = msg.value()
    finally:
        consumer.close()
    assert received == sent


def test_hbase_table_put_get_scan(hbase_container: tuple[str, int]) -> None:
    host, port = hbase_container
    connection = happybase.Connection(host, port, timeout=60_000)
    name = f"smoke_{uuid.uuid4().hex[:10]}"
    try:
        connection.create_table(name, {"d": {"max_versions": 1}, "i": {}})
        assert name.encode() in connection.tables()
        table = connection.table(name)
        rows = {
            b"ZTF21aaaaaaa_2459000.5": {b"d:ra": b"12.5", b"d:dec": b"-3.25", b"i:class": b"SN candidate"},
            b"ZTF21aaaaaaa_2459001.5": {b"d:ra": b"12.6", b"d:dec": b"-3.26"},
            b"ZTF21bbbbbbb_2459000.7": {b"d:ra": b"200.0", b"d:dec": b"45.0", b"i:class": b"Solar System"},
        }
        with table.batch() as batch:
            for key, data in rows.items():
                batch.put(key, data)
        assert table.row(b"ZTF21aaaaaaa_2459000.5") == rows[b"ZTF21aaaaaaa_2459000.5"]
        assert table.row(b"ZTF21bbbbbbb_2459000.7", columns=[b"i:class"]) == {b"i:class": b"Solar System"}
        assert dict(table.scan(row_prefix=b"ZTF21aaaaaaa_")) == {
            k: v for k, v in rows.items() if k.startswith(b"ZTF21aaaaaaa_")
        }
        assert dict(table.scan()) == rows
        table.delete(b"ZTF21aaaaaaa_2459001.5")
        assert table.row(b"ZTF21aaaaaaa_2459001.5") == {}
        assert len(list(table.scan())) == 2
    finally:
        if name.encode() in connection.tables():
            connection.delete_table(name, disable=True)
        connection.close()
