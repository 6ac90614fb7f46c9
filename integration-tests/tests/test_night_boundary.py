"""The observing night end to end: alerts on both sides of local noon at Palomar land in the right nights.

A night is labelled by the date of the local (mean solar) noon that begins it: at Palomar's longitude
(-116.865 deg, 7 h 47 min 27.6 s behind Greenwich) the night `20231017` runs from 2023-10-17 19:47:27.6 UTC to
2023-10-18 19:47:27.6 UTC. Real ZTF 4.02 alerts get a `candidate.jd` set around those two noons (one second
before and after, and well inside the night, including an exposure whose UTC date is already the 18th) and are
sent to Kafka as ZTF sends them. The real stages then run on them, each as its own streaming query on the real
Kafka and HBase (availableNow: process what is there, then stop): stream2raw, raw2science and the archive.
Each alert must be in its night's partition in raw and in science, under its night in the HBase main table,
and each night's statistics row must count exactly its alerts. The expected nights are written out by hand,
not computed with `fink_common.night`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from fink_archive.config import load_config as archive_config
from fink_archive.job import start as archive_start
from fink_archive.tables import ArchiveTables, is_schema_row
from fink_cli.lake import read_columns
from fink_cli.readback import scan_cells
from fink_common.avro import decode_alert
from fink_common.config import HBaseConfig
from fink_common.datasets import sample_files
from fink_common.encoding import encode_container
from fink_common.hbase import HBaseClient
from fink_common.kafka import delete_topics, ensure_topics, make_producer
from fink_common.night import JD_UNIX_EPOCH
from fink_common.testing import unique_name
from fink_raw2science.config import load_config as raw2science_config
from fink_raw2science.job import start as raw2science_start
from fink_stream2raw.config import load_config as stream2raw_config
from fink_stream2raw.job import start as stream2raw_start

#: local mean noon at Palomar (116.865 deg West = 7 h 47 min 27.6 s) on 2023-10-17, in UTC
NOON = datetime(2023, 10, 17, 19, 47, 27, 600_000, tzinfo=UTC)
DAY = timedelta(days=1)
S = timedelta(seconds=1)
#: (UTC time of the exposure, the night it belongs to)
CASES: tuple[tuple[datetime, str], ...] = (
    (NOON - timedelta(hours=12), "20231016"),  # 07:47 UTC on the 17th: still the night that began on the 16th
    (NOON - S, "20231016"),  # one second before noon
    (NOON + S, "20231017"),  # one second after noon: the next night
    (NOON + timedelta(hours=6), "20231017"),  # 01:47 UTC on the 18th: UTC date 18, night 17
    (NOON + DAY - S, "20231017"),  # one second before the next noon
    (NOON + DAY + S, "20231018"),  # one second after it
)
PER_CASE = 2  # two alerts at each time


def _jd(moment: datetime) -> float:
    return moment.timestamp() / 86400.0 + JD_UNIX_EPOCH


def _alerts() -> list[tuple[int, str, bytes]]:
    """(candid, expected night, Kafka message) for real alerts with their jd moved to the cases' times."""
    records, seen = [], set()
    for path in sample_files("ztf_4.02"):
        record = decode_alert(path.read_bytes(), "ztf_4.02")
        if record["candid"] not in seen:  # the sample holds a few alerts twice
            seen.add(record["candid"])
            records.append(record)
    out = []
    for i, (moment, night) in enumerate(c for c in CASES for _ in range(PER_CASE)):
        record = records[i]
        record["candidate"]["jd"] = _jd(moment)
        out.append((int(record["candid"]), night, encode_container(record, "ztf_4.02")))
    return out


def _run(query: StreamingQuery) -> None:
    query.awaitTermination(timeout=600)
    assert not query.isActive and query.exception() is None, query.exception()


def _nights(dataset: Path) -> dict[int, str]:
    """candid -> night, from the partition folder (`night=YYYYMMDD/`) each alert's file is in."""
    out: dict[int, str] = {}
    for folder in sorted(dataset.glob("night=*")):
        candids = ds.dataset(str(folder), format="parquet").to_table(columns=["candid"]).column("candid").to_pylist()
        for candid in candids:
            assert candid not in out, f"{candid} stored twice"
            out[int(candid)] = folder.name.removeprefix("night=")
    return out


@pytest.fixture()
def names(kafka_bootstrap: str, hbase_client: HBaseClient) -> Iterator[tuple[str, str]]:
    topic, prefix = unique_name("ztf_night_boundary"), unique_name("nightb")
    yield topic, prefix
    delete_topics(kafka_bootstrap, [topic])
    client = HBaseClient(HBaseConfig(hbase_client.config.host, hbase_client.config.port, prefix))
    for table in client.tables():
        client.delete_table(table)


def test_alerts_around_local_noon_land_in_their_nights(
    spark: SparkSession, kafka_bootstrap: str, hbase_client: HBaseClient, names: tuple[str, str], tmp_path: Path
) -> None:
    topic, prefix = names
    alerts = _alerts()
    expected = {candid: night for candid, night, _ in alerts}
    assert Counter(expected.values()) == {"20231016": 4, "20231017": 6, "20231018": 2}
    ensure_topics(kafka_bootstrap, [topic])
    producer = make_producer(kafka_bootstrap)
    for candid, _, value in alerts:
        producer.produce(topic, value=value, key=str(candid).encode())
    assert producer.flush(60) == 0

    lake = tmp_path / "lake"
    thrift = f"{hbase_client.config.host}:{hbase_client.config.port}"
    env = {"FINK_DATA_DIR": str(lake), "FINK_AVAILABLE_NOW": "true", "FINK_SPARK_DRIVER_MEMORY": "1g"}
    _run(stream2raw_start(stream2raw_config({**env, "FINK_KAFKA_BOOTSTRAP": kafka_bootstrap, "FINK_INPUT_TOPICS": topic}), spark)[0])
    assert _nights(lake / "raw") == expected
    raw = read_columns(lake / "raw", ["candid", "night"])  # the night column as a reader of the dataset sees it
    assert dict(zip(raw.column("candid").to_pylist(), raw.column("night").to_pylist(), strict=True)) == expected

    _run(raw2science_start(raw2science_config(env), spark)[0])
    assert _nights(lake / "science") == expected  # every alert passes the quality cuts, in its night

    archive_env = {**env, "FINK_HBASE_THRIFT": thrift, "FINK_HBASE_TABLE_PREFIX": prefix}
    _run(archive_start(archive_config(archive_env), spark)[0])
    client = HBaseClient(HBaseConfig(hbase_client.config.host, hbase_client.config.port, prefix))
    tables = ArchiveTables("ztf")
    rows = scan_cells(client, tables.main, [b"i:candid", b"d:night"], keep=lambda k: not is_schema_row(k))
    assert {int(c[b"i:candid"][0]): c[b"d:night"][0].decode() for _, c in rows} == expected
    statistics = {
        cells[b"basic:night"][0].decode(): int(cells[b"basic:alerts"][0])
        for _, cells in scan_cells(client, tables.statistics, [b"basic:night", b"basic:alerts"], keep=lambda k: not is_schema_row(k))
    }
    assert statistics == {"20231016": 4, "20231017": 6, "20231018": 2}
