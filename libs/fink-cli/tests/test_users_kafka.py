"""`fink users` against the REAL local Kafka (`./fink services up`): what a user may and may not do on the
SASL/SCRAM-SHA-512 listener, and that its password never reaches an output or a log.

Each test module run makes its own users (`alice_<id>`, `bob_<id>`), topics and schema topic, and removes
them at the end. The super user (the PLAINTEXT listener of `kafka_bootstrap`) writes the messages.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from fink_cli.__main__ import main
from fink_cli.accounts import UserAdmin, credentials_path
from fink_common.config import EnvReader, KafkaConfig
from fink_common.credentials import KafkaCredentials
from fink_common.kafka import client_config, config_client, delete_topics, ensure_topics, make_consumer, make_producer

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class World:
    bootstrap: str  # internal PLAINTEXT listener (super user)
    sasl: str  # the users' SASL listener
    schema_topic: str
    alice: KafkaCredentials
    bob: KafkaCredentials
    alice_topic: str
    bob_topic: str
    credentials_dir: Path
    add_output: str  # what `users add` printed for alice


def _run_main(argv: list[str], capfd: pytest.CaptureFixture[str] | None = None) -> tuple[int, str]:
    code = main(argv)
    out = ""
    if capfd is not None:
        captured = capfd.readouterr()
        out = captured.out + captured.err
    return code, out


def _until(check: Callable[[], str | None], what: str, timeout_s: float = TIMEOUT_S) -> None:
    """Polls `check` (None = done, else why not yet) until it passes; fails with the last reason."""
    deadline, why = time.monotonic() + timeout_s, "never checked"
    while time.monotonic() < deadline:
        why = check()
        if why is None:
            return
        time.sleep(0.5)
    pytest.fail(f"{what}: still not the case after {timeout_s:.0f} s: {why}")


def _topic_error(creds: KafkaCredentials, sasl: str, topic: str) -> str | None:
    """The error a Metadata request for `topic` gets as `creds` (None: described fine)."""
    consumer = Consumer(client_config(sasl, {"group.id": "unused"}, credentials=creds))
    try:
        meta = consumer.list_topics(topic, timeout=10)
        error = meta.topics[topic].error
        return None if error is None else error.name()
    except Exception as exc:  # noqa: BLE001 (any client failure is the answer here)
        return f"{type(exc).__name__}: {exc}"
    finally:
        consumer.close()


def _read(creds: KafkaCredentials, sasl: str, topic: str, group: str, count: int) -> tuple[list[bytes], list[str]]:
    """Subscribes as `creds` in `group` and reads `count` messages, committing; returns (values, errors)."""
    errors: list[str] = []
    consumer = make_consumer(sasl, group, {"error_cb": lambda e: errors.append(e.name())}, credentials=creds)
    values: list[bytes] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                errors.append(msg.error().name())
                if msg.error().code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                    break
                continue
            values.append(msg.value() or b"")
        if values:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return values, errors


@pytest.fixture(scope="module")
def world(
    kafka_bootstrap: str, kafka_sasl_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    run = uuid.uuid4().hex[:8]
    names = (f"alice_{run}", f"bob_{run}")
    topics = (f"users_test_{run}_alice", f"users_test_{run}_bob")
    schema_topic = f"users_test_{run}_schemas"
    ensure_topics(kafka_bootstrap, [*topics, schema_topic])
    producer = make_producer(kafka_bootstrap)
    for topic in topics:
        producer.produce(topic, value=f"alert for {topic}".encode())
    producer.produce(schema_topic, key=b"fingerprint", value=b'{"type": "record"}')
    assert producer.flush(TIMEOUT_S) == 0
    directory = tmp_path_factory.mktemp("users")
    common = ["--bootstrap", kafka_bootstrap, "--sasl-bootstrap", kafka_sasl_bootstrap,
              "--schema-topic", schema_topic, "--credentials-dir", str(directory)]  # fmt: skip
    admin = UserAdmin(kafka_bootstrap)
    try:
        outputs = []
        for name, topic in zip(names, topics, strict=True):
            argv = ["users", "add", name, "--topics", topic, *common]
            proc = subprocess.run(
                [sys.executable, "-m", "fink_cli", *argv],
                capture_output=True,
                text=True,
                timeout=120,
                env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            outputs.append(proc.stdout + proc.stderr)
        alice, bob = (KafkaCredentials.from_file(credentials_path(directory, n)) for n in names)
        for creds, topic in ((alice, topics[0]), (bob, topics[1])):  # SCRAM and ACLs reach the broker
            _until(lambda c=creds, t=topic: _topic_error(c, kafka_sasl_bootstrap, t), f"{creds.username} sees {topic}")
        yield World(kafka_bootstrap, kafka_sasl_bootstrap, schema_topic, alice, bob, *topics, directory, outputs[0])
    finally:
        for name in (*names, f"noacl_{run}"):
            admin.delete_acls(name)
            admin.delete_credentials(name)
        delete_topics(kafka_bootstrap, [*topics, schema_topic])


def test_add_prints_the_file_not_the_password(world: World) -> None:
    path = credentials_path(world.credentials_dir, world.alice.username)
    assert f"credentials file: {path}" in world.add_output
    assert world.alice.password not in world.add_output
    assert world.alice.bootstrap == world.sasl and world.alice.sasl_mechanism == "SCRAM-SHA-512"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_user_reads_its_topic_and_the_schema_topic_with_its_group(world: World) -> None:
    group = f"{world.alice.username}-reader"
    values, errors = _read(world.alice, world.sasl, world.alice_topic, group, 1)
    assert values == [f"alert for {world.alice_topic}".encode()], errors
    schemas, errors = _read(world.alice, world.sasl, world.schema_topic, world.alice.username, 1)
    assert schemas == [b'{"type": "record"}'], errors
    # the group's committed offset is there (and the user may read it back)
    consumer = make_consumer(world.sasl, group, credentials=world.alice)
    try:
        committed = consumer.committed([TopicPartition(world.alice_topic, 0)], timeout=TIMEOUT_S)
    finally:
        consumer.close()
    assert committed[0].error is None and committed[0].offset == 1


def test_user_cannot_read_another_users_topic(world: World) -> None:
    assert _topic_error(world.alice, world.sasl, world.bob_topic) == "TOPIC_AUTHORIZATION_FAILED"
    values, errors = _read(world.alice, world.sasl, world.bob_topic, f"{world.alice.username}-x", 1)
    assert values == [] and "TOPIC_AUTHORIZATION_FAILED" in errors


def test_user_cannot_use_another_users_group(world: World) -> None:
    values, errors = _read(world.alice, world.sasl, world.alice_topic, f"{world.bob.username}-stolen", 1)
    assert values == [] and "GROUP_AUTHORIZATION_FAILED" in errors


def test_user_cannot_produce_to_its_own_topic(world: World) -> None:
    reports: list[KafkaError | None] = []
    conf = {"enable.idempotence": False, "acks": "all", "message.timeout.ms": 15000}
    producer = Producer(client_config(world.sasl, conf, credentials=world.alice))
    producer.produce(world.alice_topic, b"forged", on_delivery=lambda err, _msg: reports.append(err))
    producer.flush(TIMEOUT_S)
    assert len(reports) == 1 and reports[0] is not None
    assert reports[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # nothing was written: the super user still sees exactly the one message
    reader = make_consumer(world.bootstrap, f"check-{uuid.uuid4().hex[:6]}")
    try:
        low, high = reader.get_watermark_offsets(TopicPartition(world.alice_topic, 0), timeout=10)
    finally:
        reader.close()
    assert high - low == 1


def test_user_without_acl_is_refused(world: World) -> None:
    name = f"noacl_{world.alice.username.split('_', 1)[1]}"
    creds = KafkaCredentials(name, "a-password-with-no-acl", bootstrap=world.sasl)
    UserAdmin(world.bootstrap).set_password(name, creds.password)
    _until(
        lambda: None if _topic_error(creds, world.sasl, world.alice_topic) == "TOPIC_AUTHORIZATION_FAILED" else "not yet",
        f"{name} authenticates and its Metadata request for the topic gets TOPIC_AUTHORIZATION_FAILED",
    )
    # subscribing, even in a group of its own name, is refused too: it has no group ACL either
    values, errors = _read(creds, world.sasl, world.alice_topic, name, 1)
    assert values == [] and set(errors) & {"GROUP_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED"}, errors


def test_wrong_password_is_refused(world: World) -> None:
    errors: list[KafkaError] = []
    wrong = KafkaCredentials(world.alice.username, world.alice.password + "x", bootstrap=world.sasl)
    consumer = make_consumer(world.sasl, world.alice.username, {"error_cb": errors.append}, credentials=wrong)
    try:
        consumer.subscribe([world.alice_topic])
        deadline = time.monotonic() + TIMEOUT_S
        while not any(e.code() == KafkaError._AUTHENTICATION for e in errors) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            assert msg is None or msg.error() is not None, "read a message with a wrong password"
    finally:
        consumer.close()
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, [e.name() for e in errors]
    assert "invalid credentials" in auth[0].str()
    assert world.alice.password not in auth[0].str()


def test_secrets_never_reach_outputs_or_logs(
    world: World, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    password = world.alice.password
    # `users add` again (keeps the password from the file), in this process: stdout, stderr and logging
    common = ["--bootstrap", world.bootstrap, "--sasl-bootstrap", world.sasl, "--schema-topic", world.schema_topic,
              "--credentials-dir", str(world.credentials_dir)]  # fmt: skip
    code, output = _run_main(["users", "add", world.alice.username, "--topics", world.alice_topic, *common], capfd)
    assert code == 0 and "kept" in output
    code, listing = _run_main(["users", "list", *common], capfd)
    assert code == 0 and world.alice.username in listing
    # a client configured from the environment, logging its config and librdkafka's own debug lines
    monkeypatch.setenv("FINK_KAFKA_BOOTSTRAP", world.sasl)
    monkeypatch.setenv("FINK_KAFKA_CREDENTIALS", str(credentials_path(world.credentials_dir, world.alice.username)))
    env = EnvReader()
    config = KafkaConfig.from_env(env)
    env.finish()
    assert config.credentials == world.alice
    log = logging.getLogger("fink.test.client")
    log.info("kafka config %r / %s", config, config)
    conf = config_client(config, {"group.id": f"{world.alice.username}-logs", "debug": "security,broker,conf"})
    log.info("client settings %s", conf)
    consumer = Consumer({**conf, "logger": logging.getLogger("fink.test.librdkafka")})
    try:
        meta = consumer.list_topics(world.alice_topic, timeout=TIMEOUT_S)
        assert meta.topics[world.alice_topic].error is None
        consumer.poll(1.0)  # serves the queued log lines
    finally:
        consumer.close()
    rdkafka = [r.getMessage() for r in caplog.records if r.name == "fink.test.librdkafka"]
    assert any("SCRAM-SHA-512" in line for line in rdkafka), "librdkafka logged nothing about SASL"
    assert any("sasl.password" in line for line in rdkafka), "librdkafka did not dump its config"
    everything = "\n".join([output, listing, capfd.readouterr().err, *(r.getMessage() for r in caplog.records)])
    assert "***" in everything
    assert password not in everything
