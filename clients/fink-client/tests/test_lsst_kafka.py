"""fink-consume on the REAL local Kafka for Rubin/LSST, fed by the REAL distribution stage (FINK_SURVEY=lsst) with
the distribution tests' LSST science rows (the real Rubin samples of ../shared/datasim through stream2raw and
raw2science, ids above 2^53, solar-system and static, plus datasim alerts). Given nothing but the
`fink_<filter>_lsst` topic names, fink-consume prints one line per message (object, diaSourceId, UTC time, AB
magnitude, class, filter: checked against values worked out here from the science row, not with the client's
code) and saves Avro or parquet files whose int64 ids are the science rows' own, exactly."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from delivery import lake_config, run
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_cli.readback import read_topic
from fink_client.__main__ import main
from fink_client.config import load_config
from fink_client.consumer import AlertConsumer
from fink_client.message import Received
from fink_client.sink import read_alerts
from fink_common.kafka import FINGERPRINT_HEADER, delete_topics
from fink_common.testing import unique_name
from fink_distribution.config import DistributionConfig
from fink_distribution.wire import decode_value

_MJD_ZERO = datetime(1858, 11, 17, tzinfo=UTC)  # MJD 0
ID_FIELDS = ("diaSourceId", "diaObjectId", "ssObjectId")


@dataclass(frozen=True)
class Published:
    config: DistributionConfig
    rows: dict[int, dict[str, Any]]  # diaSourceId -> science row
    sent: dict[str, list[int]]  # topic -> diaSourceId of each committed message, decoded here with the stage's decoder


@pytest.fixture(scope="module")
def published(
    spark: SparkSession,
    kafka_bootstrap: str,
    lsst_science_lake: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Published]:
    config = lake_config(kafka_bootstrap, lsst_science_lake / "science", tmp_path_factory.mktemp("client_lsst"), "fink_client_lsst", FINK_SURVEY="lsst")
    try:
        run(spark, config)
        rows = {r["diaSourceId"]: r for r in pq.read_table(config.lake.science).to_pylist()}
        schemas = {m.key.decode(): m.value.decode() for m in read_topic(kafka_bootstrap, config.schema_topic)}
        sent: dict[str, list[int]] = {}
        for topic in config.topics.values():
            messages = list(read_topic(kafka_bootstrap, topic))
            sent[topic] = [decode_value(m.value, schemas[m.headers[FINGERPRINT_HEADER].decode()])["diaSourceId"]
                           for m in messages]  # fmt: skip
        assert all(topic.endswith("_lsst") for topic in sent)
        assert sum(1 for ids in sent.values() if ids) >= 3, {t: len(ids) for t, ids in sent.items()}
        yield Published(config, rows, sent)
    finally:
        delete_topics(kafka_bootstrap, [*config.topics.values(), config.schema_topic, config.commit_topic])


def owner(row: dict[str, Any]) -> int:
    """The object of an alert: its diaObjectId, else (a solar-system alert) its ssObjectId."""
    return row["diaObjectId"] if row["diaObjectId"] is not None else row["ssObjectId"]


def expected_tokens(row: dict[str, Any], filter_name: str) -> list[str]:
    """The words of an alert's summary line, worked out from its science row: UTC = TAI - 37 s from MJD 0
    (1858-11-17), AB magnitude = -2.5 log10(flux / nJy) + 31.4 and its error 2.5 / ln 10 * fluxErr / flux."""
    source = row["diaSource"]
    moment = _MJD_ZERO + timedelta(days=source["midpointMjdTai"], seconds=-37)
    when = (moment + timedelta(microseconds=500_000)).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
    flux, error = source["psfFlux"], source["psfFluxErr"]
    if flux is None or not flux > 0:
        mag = ["-"]
    else:
        text = f"{-2.5 * math.log10(flux) + 31.4:.2f}"
        if error is not None and math.isfinite(error):
            text += f"±{2.5 / math.log(10) * error / flux:.2f}"
        mag = [text, source["band"]]
    klass = (row.get("classification") or "").split() or ["-"]
    return [str(owner(row)), str(row["diaSourceId"]), when, *mag, *klass, filter_name]


def assert_ids_exact(alert: dict[str, Any], rows: dict[int, dict[str, Any]]) -> None:
    """The saved (or decoded) alert has the science row's int64 ids, as ints, and its detection."""
    row = rows[alert["diaSourceId"]]
    for name in ID_FIELDS:
        assert alert[name] == row[name] and (alert[name] is None or type(alert[name]) is int), name
    for name in ("diaSourceId", "diaObjectId", "psfFlux", "midpointMjdTai", "band"):
        assert alert["diaSource"][name] == row["diaSource"][name], name  # Rubin's 0 diaObjectId kept as 0
    assert alert["cutoutDifference"] == row["cutoutDifference"] and isinstance(alert["cutoutDifference"], bytes)


def topic_args(published: Published) -> list[str]:
    return [arg for topic in published.config.topics.values() for arg in ("--topic", topic)]


@pytest.mark.parametrize("fmt", ["avro", "parquet"])
def test_cli_prints_and_saves_lsst_alerts_with_exact_ids(
    published: Published, kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    argv = ["--bootstrap", kafka_bootstrap, *topic_args(published), "--from-beginning", "--timeout", "5",
            "--group", unique_name(f"lsst_{fmt}"), "--out", str(tmp_path), "--format", fmt]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    total = sum(len(ids) for ids in published.sent.values())
    lines = out.splitlines()
    assert len(lines) == total, err
    assert f"{total} alert(s) read" in err and "0 not decoded" in err and "Traceback" not in err
    names = {topic: name for name, topic in published.config.topics.items()}
    printed: Counter[tuple[str, int]] = Counter()
    for line in lines:
        words = line.split()
        row = published.rows[int(words[1])]
        assert words == expected_tokens(row, words[-1]), line
        printed[(words[-1], row["diaSourceId"])] += 1
    assert printed == Counter((names[t], i) for t, ids in published.sent.items() for i in ids)
    shown = [published.rows[i] for _, i in printed]
    assert any(r["diaSourceId"] > 2**53 and r["diaObjectId"] is None and r["ssObjectId"] for r in shown)  # real sso
    assert any(r["diaSourceId"] > 2**53 and r["diaObjectId"] is not None for r in shown)  # static
    assert sum(1 for line in lines if line.split()[3] != "-") > total // 2  # most have a magnitude
    assert not (tmp_path / "quarantine").exists()
    for topic, ids in published.sent.items():
        files = sorted((tmp_path / topic).glob(f"*.{fmt}"))
        saved = [a for path in files for a in read_alerts(path)]
        assert sorted(a["diaSourceId"] for a in saved) == sorted(ids), topic
        for alert in saved:
            assert_ids_exact(alert, published.rows)
        if fmt == "parquet" and files:
            schema = pq.read_schema(files[0])
            assert [schema.field(n).type for n in ID_FIELDS] == [pa.int64()] * 3
    assert main(argv) == 0  # committed: the same group has nothing new
    out, err = capsys.readouterr()
    assert out == "" and "0 alert(s) read" in err


def test_python_api_reads_lsst_topics_whose_key_is_the_schema(published: Published, kafka_bootstrap: str) -> None:
    topic = max(published.sent, key=lambda t: len(published.sent[t]))
    argv = ["--bootstrap", kafka_bootstrap, "--topic", topic, "--from-beginning", "--timeout", "5",
            "--group", unique_name("lsst_api")]  # fmt: skip
    problems: list[Received] = []
    received: list[Received] = []
    with AlertConsumer(load_config(argv, environ={}), on_problem=problems.append) as consumer:
        assert consumer.prefix(topic) == published.config.topic_prefix
        for batch in consumer.batches():
            received.extend(batch)
            consumer.commit(batch)
    assert problems == [] and all(item.ok for item in received)
    assert [item.alert["diaSourceId"] for item in received if item.alert] == published.sent[topic]
    for item in received:
        assert item.alert is not None and item.schema is not None
        assert item.schema.schema["namespace"] == "fink.lsst"
        assert item.key == item.schema.text.encode()  # Fink's convention; the object picks the partition (test_lsst.py)
        assert_ids_exact(item.alert, published.rows)
