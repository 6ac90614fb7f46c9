"""Fuzz stream2raw on the real Kafka: 1,000 malformed messages among real alerts, through the real stage.

Every message is accounted for by its Kafka offset: each bad one is in the quarantine with its bytes and a
reason that says what was wrong, each good one is in raw, the query ends cleanly, and the duplicated candids
are stored once downstream (raw2science's streaming deduplication, run on the raw output).

Decided behaviour for non-finite floats: NaN/inf in candidate.jd, ra or dec (the fields that place an alert
in time and on the sky) is quarantined with the field named; NaN/inf in a measurement (magpsf, sigmapsf, ...)
is an IEEE value Avro carries, so the alert is good and kept as-is in raw.
"""

from __future__ import annotations

import copy
import io
import math
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
from pyspark.sql import SparkSession

from fink_common.datasets import sample_files
from fink_common.kafka import ensure_topics, make_producer, topic_message_count
from fink_common.testing import unique_name
from fink_raw2science.config import load_config as load_raw2science_config
from fink_raw2science.job import duplicates_dropped
from fink_raw2science.job import start as start_raw2science
from fink_stream2raw.config import load_config
from fink_stream2raw.job import start

SEED = 20231017
MB10 = 10 * 1024 * 1024

#: Bad messages per kind (1,000 in all) and what their quarantine reason must say.
BAD_KINDS: dict[str, tuple[int, str]] = {
    "truncated": (300, r"^truncated container: "),
    "random_bytes": (300, r"^not Avro: no container magic .* and not a schemaless ztf_4\.02 record \(\w+"),
    "lsst_alert": (100, r"^record does not match schema ztf_4\.02: missing required field \w+"),
    "no_candid": (40, r"^record does not match schema ztf_4\.02: missing required field candid$"),
    "no_objectId": (40, r"^record does not match schema ztf_4\.02: missing required field objectId$"),
    "null_candid": (40, r"^record does not match schema ztf_4\.02: required field candid is null$"),
    "nonfinite_position": (80, r"^candidate\.(jd is not a valid Julian date|(ra|dec) is not a valid coordinate)"),
    "huge_10mb": (3, r"^(not Avro: |corrupt container: |truncated container: the header is cut off)"),
    "empty": (90, r"^empty message \(0 bytes\)$"),
    "null_value": (7, r"^empty message \(no value\)$"),
}
N_DUPLICATES = 20  # real alerts sent a second time (same bytes, same candid)
N_NAN_MEASUREMENT = 10  # good alerts with NaN/inf in a measurement field, with fresh candids


def _container(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(copy.deepcopy(schema)), [record])
    return out.getvalue()


def _without(schema: dict[str, Any], field: str) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out["fields"] = [f for f in out["fields"] if f["name"] != field]
    return out


def _nullable(schema: dict[str, Any], field: str) -> dict[str, Any]:
    """The schema with `field` nullable (ZTF's own 4.02 writer schema already declares candid as [long, null])."""
    out = copy.deepcopy(schema)
    for f in out["fields"]:
        if f["name"] == field and not isinstance(f["type"], list):
            f["type"] = [f["type"], "null"]
    return out


def _messages() -> tuple[list[tuple[str, bytes | None]], dict[str, Any]]:
    """(kind, value) in sending order, and what the good ones should become."""
    rng = random.Random(SEED)
    good_values = [p.read_bytes() for p in sample_files("ztf_4.02")]
    readers = [fastavro.reader(io.BytesIO(v)) for v in good_values]
    writer_schema = readers[0].writer_schema
    records = [next(r) for r in readers]
    lsst_values = [p.read_bytes() for p in sample_files("lsst_9.0")]

    def pick() -> dict[str, Any]:
        return copy.deepcopy(rng.choice(records))

    messages: list[tuple[str, bytes | None]] = [("good", v) for v in good_values]
    messages += [("duplicate", v) for v in rng.sample(good_values, N_DUPLICATES)]
    nan_candids = []
    for i in range(N_NAN_MEASUREMENT):
        record = pick()
        record["candid"] = record["candidate"]["candid"] = 4_000_000_000_000_000_000 + i
        record["candidate"][rng.choice(["magpsf", "sigmapsf", "rb", "chipsf"])] = rng.choice([math.nan, math.inf])
        nan_candids.append(record["candid"])
        messages.append(("nan_measurement", _container(writer_schema, record)))

    bad: list[tuple[str, bytes | None]] = []
    for value in rng.choices(good_values, k=BAD_KINDS["truncated"][0]):
        bad.append(("truncated", value[: rng.randrange(16, len(value))]))
    bad += [("random_bytes", rng.randbytes(rng.randrange(1, 4000))) for _ in range(BAD_KINDS["random_bytes"][0])]
    bad += [("lsst_alert", v) for v in lsst_values[: BAD_KINDS["lsst_alert"][0]]]
    for kind, schema in (
        ("no_candid", _without(writer_schema, "candid")),
        ("no_objectId", _without(writer_schema, "objectId")),
        ("null_candid", _nullable(writer_schema, "candid")),
    ):
        for _ in range(BAD_KINDS[kind][0]):
            record = pick()
            if kind == "null_candid":
                record["candid"] = None
            bad.append((kind, _container(schema, record)))
    for _ in range(BAD_KINDS["nonfinite_position"][0]):
        record = pick()
        record["candidate"][rng.choice(["jd", "ra", "dec"])] = rng.choice([math.nan, math.inf, -math.inf])
        bad.append(("nonfinite_position", _container(writer_schema, record)))
    bad += [
        ("huge_10mb", rng.randbytes(MB10)),  # random bytes
        ("huge_10mb", good_values[0] + bytes(MB10)),  # a good container followed by 10 MB of zeros
        ("huge_10mb", b"Obj\x01" + rng.randbytes(MB10)),  # container magic, then garbage
    ]
    bad += [("empty", b"")] * BAD_KINDS["empty"][0] + [("null_value", None)] * BAD_KINDS["null_value"][0]
    assert Counter(k for k, _ in bad) == {kind: n for kind, (n, _) in BAD_KINDS.items()}
    assert len(bad) == 1000

    messages += bad
    rng.shuffle(messages)
    duplicated = [next(fastavro.reader(io.BytesIO(v)))["candid"] for k, v in messages if k == "duplicate"]
    expected = {
        "raw_candids": sorted([r["candid"] for r in records] + duplicated + nan_candids),
        "distinct_candids": sorted({r["candid"] for r in records} | set(nan_candids)),
        "nan_candids": nan_candids,
    }
    return messages, expected


def test_fuzz_stream2raw(spark: SparkSession, kafka_bootstrap: str, tmp_path: Path) -> None:
    messages, expected = _messages()
    n_bad = sum(n for n, _ in BAD_KINDS.values())
    n_good = 300 + N_DUPLICATES + N_NAN_MEASUREMENT
    assert len(messages) == n_good + n_bad == 1330

    topic = unique_name("ztf_fuzz_stream2raw")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)  # one partition: offset i is the i-th message sent
    producer = make_producer(kafka_bootstrap)
    for _, value in messages:
        producer.produce(topic, value=value)
        producer.poll(0)
    assert producer.flush(60) == 0
    assert topic_message_count(kafka_bootstrap, topic) == len(messages)

    lake = tmp_path / "lake"
    env = {
        "FINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "FINK_INPUT_TOPICS": topic,
        "FINK_DATA_DIR": str(lake),
        "FINK_MAX_OFFSETS_PER_TRIGGER": "500",
        "FINK_AVAILABLE_NOW": "true",
    }
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None  # no message made the query fail
    assert not query.isActive  # it ran to the end of the topic and stopped by itself
    assert sink.totals == {"received": 1330, "raw": n_good, "quarantined": n_bad}

    # Every bad message: in the quarantine at its offset, with its exact bytes and a reason naming the problem.
    quarantine = spark.read.parquet(str(lake / "quarantine")).orderBy("kafka_offset").collect()
    bad_offsets = [i for i, (kind, _) in enumerate(messages) if kind in BAD_KINDS]
    assert [q.kafka_offset for q in quarantine] == bad_offsets
    by_kind: Counter[str] = Counter()
    for q in quarantine:
        kind, value = messages[q.kafka_offset]
        assert (None if q.value is None else bytes(q.value)) == value, (kind, q.kafka_offset)
        assert q.reason and re.search(BAD_KINDS[kind][1], q.reason), (kind, q.reason)
        by_kind[kind] += 1
    assert by_kind == {kind: n for kind, (n, _) in BAD_KINDS.items()}

    # Every good message: in raw at its offset, duplicates included, NaN measurements kept as-is.
    raw = spark.read.parquet(str(lake / "raw"))
    measurements = ("candidate.magpsf", "candidate.sigmapsf", "candidate.rb", "candidate.chipsf")
    rows = raw.select("candid", "kafka_offset", *measurements).collect()
    assert sorted(r.kafka_offset for r in rows) == [i for i, (k, _) in enumerate(messages) if k not in BAD_KINDS]
    assert sorted(r.candid for r in rows) == expected["raw_candids"]
    nan_rows = [r for r in rows if r.candid in set(expected["nan_candids"])]
    assert len(nan_rows) == N_NAN_MEASUREMENT
    assert all(any(not math.isfinite(v) for v in (r.magpsf, r.sigmapsf, r.rb, r.chipsf)) for r in nan_rows)

    # Downstream: raw2science's streaming deduplication stores each candid once.
    r2s_env = {"FINK_DATA_DIR": str(lake), "FINK_MAX_FILES_PER_TRIGGER": "1", "FINK_AVAILABLE_NOW": "true"}
    r2s_query, r2s_sink = start_raw2science(load_raw2science_config(r2s_env), spark)
    r2s_query.awaitTermination(timeout=600)
    assert r2s_query.exception() is None
    distinct = expected["distinct_candids"]
    # 3 duplicated candids among the 300 real alerts, plus the 20 sent twice here
    assert duplicates_dropped(r2s_query) == n_good - len(distinct) == 23
    totals = r2s_sink.totals
    assert totals["alerts"] == len(distinct) == 307
    assert totals["science"] + totals["rejected"] == 307 and totals["module_failures"] == 0  # NaN measurements too
    science = [r.candid for r in spark.read.parquet(str(lake / "science")).select("candid").collect()]
    rejected_dir = lake / "rejected"  # written only when some alert fails the quality cuts
    rejected = (
        [r.candid for r in spark.read.parquet(str(rejected_dir)).select("candid").collect()] if rejected_dir.exists() else []
    )
    assert len(science) == totals["science"] and len(rejected) == totals["rejected"]
    assert sorted(science + rejected) == distinct  # each candid exactly once downstream
