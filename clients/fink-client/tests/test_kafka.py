"""fink-consume on the REAL local Kafka, fed by the REAL distribution stage (the distribution tests' 300
enriched alerts): the Python API and the CLI read every filter topic, decode every alert to the science row
of its candid, save files that read back to the same candids, commit their offsets; and a user reads a topic
through the SASL listener with the credentials file `fink users add` writes."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from delivery import lake_config, run
from enriched_alerts import read_science, science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_cli.readback import read_topic
from fink_client.__main__ import main
from fink_client.config import load_config
from fink_client.consumer import AlertConsumer
from fink_client.sink import read_alerts
from fink_common.kafka import delete_topics, make_consumer
from fink_common.testing import unique_name
from fink_distribution.config import DistributionConfig

CUTOUTS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
CANDIDATE_FIELDS = ("jd", "magpsf", "sigmapsf", "fid", "ra", "dec")


@dataclass(frozen=True)
class Published:
    config: DistributionConfig
    rows: dict[int, dict[str, Any]]  # candid -> science row
    counts: dict[str, int]  # topic -> committed messages in it


def committed_messages(bootstrap: str, topic: str) -> int:
    """How many committed messages a topic holds (read_committed to the end of every partition)."""
    return sum(1 for _ in read_topic(bootstrap, topic))


@pytest.fixture(scope="module")
def published(
    spark: SparkSession,
    kafka_bootstrap: str,
    science_lake: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Published]:
    config = lake_config(kafka_bootstrap, science_lake / "science", tmp_path_factory.mktemp("client"), "fink_client")
    try:
        run(spark, config)
        rows = {r["candid"]: r for r in read_science(config.lake.root).to_pylist()}
        counts = {topic: committed_messages(kafka_bootstrap, topic) for topic in config.topics.values()}
        assert sum(1 for n in counts.values() if n > 0) >= 3, counts
        yield Published(config, rows, counts)
    finally:
        delete_topics(kafka_bootstrap, [*config.topics.values(), config.schema_topic, config.commit_topic])


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (floats compared exactly otherwise)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def assert_alert_is_the_science_row(alert: dict[str, Any], rows: dict[int, dict[str, Any]]) -> None:
    row = rows[alert["candid"]]
    assert (alert["objectId"], alert["candid"], alert["classification"]) == (
        row["objectId"],
        row["candid"],
        row["classification"],
    )
    for name in CANDIDATE_FIELDS:
        assert same(alert["candidate"][name], row["candidate"][name]), (alert["candid"], name)
    for cutout in CUTOUTS:
        assert alert[cutout]["stampData"] == row[cutout]["stampData"], (alert["candid"], cutout)
        assert isinstance(alert[cutout]["stampData"], bytes) and len(alert[cutout]["stampData"]) > 100


def topic_args(published: Published) -> list[str]:
    return [arg for topic in published.config.topics.values() for arg in ("--topic", topic)]


def test_python_api_reads_every_topic(published: Published, kafka_bootstrap: str) -> None:
    group = unique_name("api")
    argv = ["--bootstrap", kafka_bootstrap, *topic_args(published), "--from-beginning", "--timeout", "5", "--group",
            group, "--batch-size", "40"]  # fmt: skip
    read: dict[str, list[dict[str, Any]]] = defaultdict(list)
    problems = []
    with AlertConsumer(load_config(argv, environ={}), on_problem=problems.append) as consumer:
        for topic, alert in consumer:
            read[topic].append(alert)
        assert consumer.prefix(next(iter(published.config.topics.values()))) == published.config.topic_prefix
    assert problems == []
    assert {t: len(read[t]) for t in published.counts} == published.counts
    for topic, alerts in read.items():
        assert len({a["candid"] for a in alerts}) == len(alerts), f"{topic}: a candid read twice"
        for alert in alerts:
            assert_alert_is_the_science_row(alert, published.rows)
    # the iteration committed: the same group has nothing new
    with AlertConsumer(load_config(argv, environ={})) as consumer:
        assert list(consumer) == []


@pytest.mark.parametrize("fmt", ["avro", "parquet"])
def test_cli_saves_every_alert_and_commits(
    published: Published, kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    group = unique_name(f"cli_{fmt}")
    argv = ["--bootstrap", kafka_bootstrap, *topic_args(published), "--from-beginning", "--timeout", "5",
            "--group", group, "--out", str(tmp_path), "--format", fmt]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    total = sum(published.counts.values())
    lines = out.splitlines()
    assert len(lines) == total, err
    assert f"{total} alert(s) read" in err and "0 not decoded" in err and "Traceback" not in err
    by_filter: dict[str, int] = defaultdict(int)
    for line in lines:
        fields = line.split()
        by_filter[fields[-1]] += 1
        row = published.rows[int(fields[1])]
        assert fields[0] == row["objectId"] and fields[2].startswith("2023-10-1")
    assert dict(by_filter) == {name: n for name, n in zip(published.config.topics, published.counts.values(),
                                                             strict=True) if n}  # fmt: skip
    assert not (tmp_path / "quarantine").exists()
    for topic, count in published.counts.items():
        files = sorted((tmp_path / topic).glob(f"*.{fmt}")) if count else []
        saved = [a for path in files for a in read_alerts(path)]
        assert len(saved) == count, topic
        for alert in saved:
            assert_alert_is_the_science_row(alert, published.rows)
    assert not list(tmp_path.rglob("*.tmp"))
    # offsets were committed: a second run in the same group reads nothing new
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 alert(s) read" in err


def test_max_stops_early_and_commits_only_what_was_read(
    published: Published, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = max(published.counts, key=lambda t: published.counts[t])
    assert published.counts[topic] > 3
    argv = ["--bootstrap", kafka_bootstrap, "--topic", topic, "--from-beginning", "--timeout", "5", "--group",
            unique_name("max"), "--max", "3"]  # fmt: skip
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()
    assert len(first) == 3
    assert main(argv[:-2]) == 0  # the same group, without --max: the rest
    rest = capsys.readouterr().out.splitlines()
    assert len(rest) == published.counts[topic] - 3
    assert not {line.split()[1] for line in first} & {line.split()[1] for line in rest}


def test_list_topics_shows_the_filter_topics_only(
    published: Published, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = published.config
    assert main(["--bootstrap", kafka_bootstrap, "--list-topics", "--schema-topic", config.schema_topic]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["topic", "filter", "offsets", "schema", "topic"]
    assert lines[-1].startswith("(offsets: the alerts plus one Kafka transaction marker")
    listed = {fields[0]: fields for fields in (line.split() for line in lines[1:-1])}
    assert set(listed) == set(config.topics.values())  # no schema, commit or `__` topic
    for name, topic in config.topics.items():
        assert listed[topic][1] == name
        # watermarks: the messages plus one transaction marker per committed batch at most
        assert published.counts[topic] <= int(listed[topic][2]) <= published.counts[topic] + 3 * 2
    assert main(["--bootstrap", kafka_bootstrap, "--list-topics"]) == 0  # every prefix: ours among them
    assert set(config.topics.values()) <= {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:-1]}


def test_unknown_topic_is_a_clear_runtime_error(kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bootstrap", kafka_bootstrap, "--topic", unique_name("fink_nope") + "_ztf"]) == 1
    err = capsys.readouterr().err
    assert "no topic 'fink_nope_" in err and "--list-topics" in err and "Traceback" not in err


def test_ctrl_c_saves_commits_and_exits_0(
    published: Published, kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = max(published.counts, key=lambda t: published.counts[t])
    group = unique_name("sigint")
    argv = [sys.executable, "-m", "fink_client", "--bootstrap", kafka_bootstrap, "--topic", topic,
            "--from-beginning", "--timeout", "0", "--group", group, "--out", str(tmp_path)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        assert proc.stdout is not None
        while len(lines) < published.counts[topic]:
            line = proc.stdout.readline()
            assert line, "fink-consume ended before printing every alert"
            lines.append(line)
        proc.send_signal(signal.SIGINT)  # --timeout 0 waits forever: only the signal stops it
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "" and "SIGINT" in err and "Traceback" not in err
    saved = [a for path in (tmp_path / topic).glob("*.avro") for a in read_alerts(path)]
    assert sorted(a["candid"] for a in saved) == sorted(int(line.split()[1]) for line in lines)
    code = main(["--bootstrap", kafka_bootstrap, "--topic", topic, "--timeout", "5", "--group", group])
    assert code == 0 and capsys.readouterr().out == ""  # everything printed before Ctrl-C was committed
    assert committed_offset(kafka_bootstrap, group, topic) >= published.counts[topic]


def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    consumer = make_consumer(bootstrap, group)
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], timeout=30)
        return tp.offset
    finally:
        consumer.close()


def _wait(check: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    pytest.fail(f"{what}: not the case after {timeout_s:.0f} s")


def test_user_reads_with_its_credentials_file(
    published: Published,
    kafka_bootstrap: str,
    kafka_sasl_bootstrap: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fink_cli.accounts import UserAdmin

    config = published.config
    topic = max(published.counts, key=lambda t: published.counts[t])
    other = next(t for t in config.topics.values() if t != topic)
    name = f"reader_{uuid.uuid4().hex[:8]}"
    directory = tmp_path / "users"
    argv = ["users", "add", name, "--topics", topic, "--bootstrap", kafka_bootstrap, "--sasl-bootstrap",
            kafka_sasl_bootstrap, "--schema-topic", config.schema_topic, "--credentials-dir", str(directory)]  # fmt: skip
    admin = UserAdmin(kafka_bootstrap)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "fink_cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        credentials = directory / f"{name}.properties"
        password = next(line for line in credentials.read_text().splitlines() if line.startswith("sasl.password="))

        def sees_topic() -> bool:
            try:
                with AlertConsumer(load_config(["--credentials", str(credentials), "--topic", topic], environ={})):
                    return True
            except Exception:  # noqa: BLE001 (SCRAM credentials and ACLs reach the broker a bit later)
                return False

        _wait(sees_topic, f"{name} sees {topic} on the SASL listener")
        out_dir = tmp_path / "out"
        run = ["--credentials", str(credentials), "--topic", topic, "--from-beginning", "--timeout", "5",
               "--out", str(out_dir)]  # fmt: skip
        assert main(run) == 0
        out, err = capsys.readouterr()
        assert len(out.splitlines()) == published.counts[topic], err
        saved = [a for path in (out_dir / topic).glob("*.avro") for a in read_alerts(path)]
        assert len(saved) == published.counts[topic]
        for alert in saved:
            assert_alert_is_the_science_row(alert, published.rows)
        assert main(run) == 0  # committed in its default group, <user>-fink-consume
        out, err = capsys.readouterr()
        assert out == "" and "0 alert(s) read" in err
        # a topic the user has no ACL for: a clear refusal, exit 1
        assert main(["--credentials", str(credentials), "--topic", other, "--timeout", "5"]) == 1
        err = capsys.readouterr().err
        assert f"no topic {other!r}" in err and "not allowed" in err
        assert password.partition("=")[2] not in out + err
    finally:
        admin.delete_acls(name)
        admin.delete_credentials(name)
