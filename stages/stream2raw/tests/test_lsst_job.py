"""stream2raw for Rubin on the real Kafka: every real Confluent-framed sample of every schema id, Fink's container
files, and broken messages; the LSST raw table by night at Cerro Pachon, with each message's schema id."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from fink_common.alert_packet import version_of_id
from fink_common.datasets import WIRE_SETS, sample_files
from fink_common.kafka import ensure_topics, make_producer
from fink_common.surveys import DecodeSettings, get_survey
from fink_common.testing import unique_name
from fink_stream2raw.config import load_config
from fink_stream2raw.job import start

LSST = get_survey("lsst")


def _messages() -> list[tuple[str, bytes]]:
    out = [(f"{name}/{p.name}", p.read_bytes()) for name in WIRE_SETS for p in sample_files(name)]
    out += [(f"lsst_9.0/{p.name}", p.read_bytes()) for p in sample_files("lsst_9.0")[:10]]
    return out


def test_lsst_stream2raw_on_real_kafka(spark: SparkSession, kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = unique_name("lsst-alerts-v11")
    good = _messages()
    wire_one = sample_files("lsst_wire_11.0")[0].read_bytes()
    bad = {
        "wrong magic byte": b"\x05" + wire_one[1:],
        "truncated Confluent header": b"\x00\x00\x00",
        "unknown Rubin schema id 4242": b"\x00" + (4242).to_bytes(4, "big") + wire_one[5:],
        "truncated or corrupt": wire_one[: len(wire_one) // 3],
        "empty message": b"",
    }
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer = make_producer(kafka_bootstrap)
    for _, value in good:
        producer.produce(topic, value=value)
    for value in bad.values():
        producer.produce(topic, value=value)
    assert producer.flush(60) == 0

    decoder = LSST.decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    expected: dict[int, tuple[int | None, str]] = {}  # offset -> (schema id, night) of each accepted message
    refused_old: set[int] = set()
    for offset, (name, value) in enumerate(good):
        if name.startswith("lsst_wire_versions") and int.from_bytes(value[1:5], "big") < 900:
            refused_old.add(offset)  # 7.x and 8.0: fields the raw table lacks
            continue
        row = decoder(value)
        expected[offset] = (row["schema_id"], LSST.night_of(row))

    env = {
        "FINK_SURVEY": "lsst",
        "FINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "FINK_INPUT_TOPICS": topic,
        "FINK_DATA_DIR": str(tmp_path / "lake"),
        "FINK_MAX_OFFSETS_PER_TRIGGER": "20",
        "FINK_AVAILABLE_NOW": "true",
    }
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    total = len(good) + len(bad)
    assert sink.totals == {"received": total, "raw": len(expected), "quarantined": total - len(expected)}

    raw = pq.read_table(tmp_path / "lake" / "raw").to_pylist()
    assert sorted(r["kafka_offset"] for r in raw) == sorted(expected)
    for row in raw:
        schema_id, night = expected[row["kafka_offset"]]
        assert (row["schema_id"], str(row["night"])) == (schema_id, night)
        assert row["schema_version"] == version_of_id(schema_id) and row["stream2raw_version"]
    # 64-bit ids stay exact in parquet; Rubin's 0 sentinels are kept, with the clear null beside them
    by_source = {r["diaSourceId"]: r for r in raw}
    assert any(i > 2**53 and float(i) != i for i in by_source)
    sso = [r for r in raw if r["ssSource"] is not None]
    assert sso and all(r["diaSource"]["diaObjectId"] == 0 and r["diaObjectId"] is None for r in sso)
    assert all(r["ssObjectId"] == r["ssSource"]["ssObjectId"] for r in sso)
    static = [r for r in raw if r["ssSource"] is None and r["schema_id"] >= 900]
    assert all(r["ssObjectId"] is None and r["diaObjectId"] == r["diaSource"]["diaObjectId"] for r in static)
    assert {str(r["night"]) for r in raw} >= {"20260305", "20260626"}
    assert all(math.isfinite(r["diaSource"]["midpointMjdTai"]) for r in raw)

    quarantine = pq.read_table(tmp_path / "lake" / "quarantine").to_pylist()
    by_offset = {q["kafka_offset"]: q for q in quarantine}
    assert set(by_offset) == set(range(total)) - set(expected)
    for offset in refused_old:
        assert "raw table lacks" in by_offset[offset]["reason"]
    for i, (needle, value) in enumerate(bad.items()):
        q = by_offset[len(good) + i]
        assert needle in q["reason"] and q["value"] == value, (needle, q["reason"])

    # A restart on the same checkpoint reads nothing new and writes nothing twice.
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert sink.totals == {"received": 0, "raw": 0, "quarantined": 0}
    assert pq.read_table(tmp_path / "lake" / "raw").num_rows == len(expected)
