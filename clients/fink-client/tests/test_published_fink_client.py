"""The PUBLISHED fink-client (PyPI 12.3.0, its `AlertConsumer`, run as a pex of its own resolve) reads every
filter topic of the REAL distribution stage, ZTF and Rubin/LSST (`survey="lsst"`), on the REAL local Kafka,
through the SASL/SCRAM-SHA-512 listener, given nothing but the server address and a user's name and
password: no schema file. Every message carries its writer schema's JSON as its key (Fink's convention)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from delivery import lake_config, run
from enriched_alerts import science_lake  # noqa: F401  (session fixture)
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_cli.accounts import UserAdmin, UserRequest, user_acls
from fink_cli.readback import read_topic
from fink_common.kafka import FINGERPRINT_HEADER, delete_topics
from fink_distribution.config import DistributionConfig
from fink_distribution.wire import decode_value

#: Where Pants puts the pex of integration-tests/published-client:reader in the test's sandbox.
READER = Path("integration-tests.published-client/reader.pex")
IDS = {"ztf": ("candid", ("objectId",)), "lsst": ("diaSourceId", ("diaObjectId", "ssObjectId"))}


@dataclass(frozen=True)
class Topics:
    config: DistributionConfig
    survey: str
    schema_text: str
    sent: dict[str, Counter[tuple[Any, Any]]]  # topic -> (alert id, object id) of each committed message


def _publish(spark: SparkSession, bootstrap: str, science: Path, tmp: Path, survey: str) -> Topics:
    config = lake_config(bootstrap, science, tmp, f"fink_pub_{survey}", FINK_SURVEY=survey, FINK_TOPIC_PARTITIONS="2")
    run(spark, config)
    schemas = {m.key.decode(): m.value.decode() for m in read_topic(bootstrap, config.schema_topic)}
    assert len(schemas) == 1
    alert_id, object_fields = IDS[survey]
    sent: dict[str, Counter[tuple[Any, Any]]] = {}
    for topic in config.topics.values():
        got: Counter[tuple[Any, Any]] = Counter()
        for message in read_topic(bootstrap, topic):
            assert message.key == next(iter(schemas.values())).encode()  # the writer schema, every message
            alert = decode_value(message.value, schemas[message.headers[FINGERPRINT_HEADER].decode()])
            got[(alert[alert_id], next((alert[f] for f in object_fields if alert[f] is not None), None))] += 1
        sent[topic] = got
    assert sum(1 for c in sent.values() if c) >= 3, {t: sum(c.values()) for t, c in sent.items()}
    return Topics(config, survey, next(iter(schemas.values())), sent)


@pytest.fixture(scope="module")
def topics(
    spark: SparkSession,
    kafka_bootstrap: str,
    science_lake: Path,  # noqa: F811
    lsst_science_lake: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Topics]]:
    made: dict[str, Topics] = {}
    try:
        made["ztf"] = _publish(spark, kafka_bootstrap, science_lake / "science", tmp_path_factory.mktemp("pub_ztf"), "ztf")
        made["lsst"] = _publish(spark, kafka_bootstrap, lsst_science_lake / "science", tmp_path_factory.mktemp("pub_lsst"), "lsst")
        yield made
    finally:
        for t in made.values():
            delete_topics(kafka_bootstrap, [*t.config.topics.values(), t.config.schema_topic, t.config.commit_topic])


@pytest.fixture(scope="module")
def user(kafka_bootstrap: str, topics: dict[str, Topics]) -> Iterator[tuple[str, str]]:
    """A user allowed to read every filter topic of both surveys, as `fink users add` makes one."""
    name, password = f"astro_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(18)
    admin = UserAdmin(kafka_bootstrap)
    try:
        admin.set_password(name, password)
        for t in topics.values():
            request = UserRequest(name, tuple(t.config.topics.values()), t.config.schema_topic)
            admin.set_acls(name, [*admin.acls(name), *user_acls(request)])
        yield name, password
    finally:
        admin.delete_acls(name)
        admin.delete_credentials(name)


def read_with_published_client(
    sasl: str, name: str, password: str, survey: str, topic_names: list[str], expect: int, idle: float
) -> tuple[int, list[dict[str, Any]], str]:
    assert READER.is_file(), f"{READER} missing: the test target must depend on integration-tests/published-client:reader"
    argv = [sys.executable, str(READER), "--bootstrap", sasl, "--username", name, "--password", password,
            "--group", f"{name}-{survey}-{uuid.uuid4().hex[:6]}", "--survey", survey, "--expect", str(expect),
            "--idle", str(idle), *topic_names]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEX")}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


@pytest.mark.parametrize("survey", ["ztf", "lsst"])
def test_the_published_fink_client_reads_every_topic_with_only_credentials(
    topics: dict[str, Topics], user: tuple[str, str], kafka_sasl_bootstrap: str, survey: str
) -> None:
    t = topics[survey]
    expect = sum(sum(c.values()) for c in t.sent.values())
    rc, lines, err = read_with_published_client(kafka_sasl_bootstrap, *user, survey, sorted(t.sent), expect, idle=90)
    assert rc == 0, err[-3000:]
    got: dict[str, Counter[tuple[Any, Any]]] = {topic: Counter() for topic in t.sent}
    for line in lines:
        got[line["topic"]][(line["id"], line["object"])] += 1
        assert line["key_chars"] == len(t.schema_text)
    assert got == t.sent  # every committed alert of every topic, once, with its exact ids
    if survey == "lsst":
        assert any(ident > 2**53 for c in got.values() for ident, _ in c)
        assert any(obj is not None and obj > 2**53 for c in got.values() for _, obj in c)


def test_a_wrong_password_reads_nothing(topics: dict[str, Topics], user: tuple[str, str], kafka_sasl_bootstrap: str) -> None:
    name, _ = user
    topic = max(topics["ztf"].sent, key=lambda n: sum(topics["ztf"].sent[n].values()))
    rc, lines, err = read_with_published_client(kafka_sasl_bootstrap, name, "not-the-password-0", "ztf", [topic], 1, idle=15)
    assert (rc, lines) == (1, []), err[-2000:]
    assert "read 0 of 1 alert(s)" in err
