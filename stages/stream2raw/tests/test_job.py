"""stream2raw end to end on the real Kafka: real alerts plus broken messages, exactly-once into parquet."""

from __future__ import annotations

import re
from pathlib import Path

import fastavro
from pyspark.sql import SparkSession

from fink_common.datasets import sample_dir, sample_files
from fink_common.kafka import make_producer
from fink_common.testing import unique_name
from fink_datasim.replay import replay
from fink_stream2raw.config import load_config
from fink_stream2raw.job import start

BAD = [b"", b"not avro at all", b"Obj\x01truncated", b"\x02\x04"]


def _expected_candids() -> list[int]:
    out = []
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as fh:
            out.extend(r["candid"] for r in fastavro.reader(fh))
    return sorted(out)


def _run(spark: SparkSession, env: dict[str, str]) -> dict[str, int]:
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    return sink.totals


def test_stream2raw_on_real_kafka(spark: SparkSession, kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = unique_name("ztf_it_stream2raw")
    sent = replay(sample_dir("ztf_4.02"), topic, rate=0, bootstrap=kafka_bootstrap, progress=False)
    assert sent.sent == 300
    producer = make_producer(kafka_bootstrap)
    for value in BAD:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0

    env = {
        "FINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "FINK_INPUT_TOPICS": topic,
        "FINK_DATA_DIR": str(tmp_path / "lake"),
        "FINK_MAX_OFFSETS_PER_TRIGGER": "120",
        "FINK_AVAILABLE_NOW": "true",
    }
    totals = _run(spark, env)
    assert totals == {"received": 304, "raw": 300, "quarantined": 4}

    raw = spark.read.parquet(str(tmp_path / "lake" / "raw"))
    rows = raw.select("candid", "night", "kafka_offset", "stream2raw_version").collect()
    assert sorted(r.candid for r in rows) == _expected_candids()  # all 300 messages, duplicates included
    assert {r.night for r in rows} == {"20231017"}
    assert sorted(r.kafka_offset for r in rows) == list(range(300))
    files = sorted(p.name for p in (tmp_path / "lake" / "raw" / "night=20231017").glob("*.parquet"))
    # 304 offsets / 120 per trigger = 3 batches; each task of a batch (minPartitions 2) writes its own file
    assert {name[: len("batch-000000000")] for name in files} == {f"batch-{b:09d}" for b in range(3)}
    assert all(re.fullmatch(r"batch-\d{9}-\d{3}\.parquet", name) for name in files), files

    quarantine = spark.read.parquet(str(tmp_path / "lake" / "quarantine")).orderBy("kafka_offset").collect()
    assert [bytes(q.value) for q in quarantine] == BAD
    assert all(q.reason for q in quarantine)

    # A restart on the same checkpoint reads nothing new and writes nothing twice.
    assert _run(spark, env) == {"received": 0, "raw": 0, "quarantined": 0}
    assert spark.read.parquet(str(tmp_path / "lake" / "raw")).count() == 300


def test_replayed_batch_replaces_its_own_file(spark: SparkSession, tmp_path: Path) -> None:
    """Spark replays the last batch after a crash: writing batch 7 twice leaves one copy."""
    from fink_common.lake import write_batch

    df = spark.createDataFrame([(1, "20231017"), (2, "20231017"), (3, "20231018")], "candid long, night string")
    assert write_batch(df, tmp_path, 7) == {"20231017": 2, "20231018": 1}
    assert write_batch(df, tmp_path, 7) == {"20231017": 2, "20231018": 1}
    back = spark.read.parquet(str(tmp_path)).orderBy("candid").collect()
    assert [(r.candid, r.night) for r in back] == [(1, "20231017"), (2, "20231017"), (3, "20231018")]
    assert not (tmp_path / "_staging" / "batch-000000007").exists()
