"""stream2raw transforms on small DataFrames built from real alert bytes and broken messages."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import fastavro
import pytest
from pyspark.sql import DataFrame, SparkSession

from fink_common.avro import encode_schemaless
from fink_common.datasets import sample_files
from fink_common.errors import DecodeError
from fink_common.night import night_of_jd
from fink_common.surveys.ztf import check_ztf_alert as check_alert
from fink_stream2raw.transform import decode_messages, quarantine_rows, raw_rows, stamp

TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)


def _kafka_rows(spark: SparkSession, values: list[bytes | None]) -> DataFrame:
    rows = [(v, "ztf_test", 0, i, TS) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, "value binary, topic string, partition int, offset long, timestamp timestamp")


@pytest.fixture(scope="module")
def real_values() -> dict[str, list[bytes]]:
    z4 = [p.read_bytes() for p in sample_files("ztf_4.02")[:6]]
    z3 = [p.read_bytes() for p in sample_files("ztf_3.3")[:4]]
    return {"ztf_4.02": z4, "ztf_3.3": z3}


def _records(values: list[bytes]) -> list[dict]:
    import io

    return [next(fastavro.reader(io.BytesIO(v))) for v in values]


def test_decode_split_and_stamp(spark: SparkSession, real_values: dict[str, list[bytes]]) -> None:
    z4, z3 = real_values["ztf_4.02"], real_values["ztf_3.3"]
    schemaless = encode_schemaless(_records(z4[:1])[0], "ztf_4.02")
    bad = [b"", b"\x00\x01garbage", z4[0][:500], None]
    values = z4 + z3 + [schemaless] + bad
    stamped = stamp(decode_messages(_kafka_rows(spark, values), "ztf_4.02"), longitude_deg=-116.865, version="9.9.9")
    stamped.cache()
    raw = raw_rows(stamped).orderBy("kafka_offset").collect()
    quarantined = quarantine_rows(stamped).orderBy("kafka_offset").collect()

    expected = _records(z4) + _records(z3) + _records(z4[:1])
    assert [(r.objectId, r.candid, r.candidate.jd) for r in raw] == [
        (e["objectId"], e["candid"], e["candidate"]["jd"]) for e in expected
    ]
    assert [r.kafka_offset for r in raw] == list(range(len(expected)))
    assert {r.stream2raw_version for r in raw} == {"9.9.9"}
    assert all(r.ingest_timestamp is not None and r.kafka_topic == "ztf_test" for r in raw)
    # Both schema versions land in the same table; the 3.3 alerts are from the 2020-01-01 exposure.
    assert {r.schemavsn for r in raw} == {expected[0]["schemavsn"], expected[-2]["schemavsn"]}
    # jd 2460235.6-2460236.2 is Oct 18 02:24 to 16:48 UTC: all of it the Palomar night that began Oct 17.
    assert [r.night for r in raw] == [night_of_jd(e["candidate"]["jd"], -116.865) for e in expected]
    assert {r.night for r in raw[: len(z4)]} == {"20231017"}
    assert {r.night for r in raw[len(z4) : len(z4) + len(z3)]} == {"20191231"}  # 01:52 UTC Jan 1st = evening of Dec 31st
    assert bytes(raw[0].cutoutScience.stampData) == expected[0]["cutoutScience"]["stampData"]

    assert [q.kafka_offset for q in quarantined] == list(range(len(expected), len(values)))
    reasons = [q.reason for q in quarantined]
    assert "empty" in reasons[0] and "empty" in reasons[3]
    assert all(reasons), reasons
    assert [None if q.value is None else bytes(q.value) for q in quarantined] == [b"", b"\x00\x01garbage", z4[0][:500], None]
    assert {q.night for q in quarantined} == {"20231018"}  # from the Kafka timestamp (06:00 UTC)
    assert len(raw) + len(quarantined) == len(values)  # nothing lost


def test_alert_with_invalid_jd_is_quarantined(spark: SparkSession, real_values: dict[str, list[bytes]]) -> None:
    record = _records(real_values["ztf_4.02"][:1])[0]
    record["candidate"]["jd"] = float("nan")
    value = encode_schemaless(record, "ztf_4.02")
    stamped = stamp(decode_messages(_kafka_rows(spark, [value]), "ztf_4.02"), longitude_deg=-116.865, version="1")
    assert raw_rows(stamped).count() == 0
    (q,) = quarantine_rows(stamped).collect()
    assert "jd" in q.reason and bytes(q.value) == value


@pytest.mark.parametrize(
    ("field", "value"),
    [("ra", float("inf")), ("ra", float("nan")), ("ra", -1.0), ("dec", float("-inf")), ("dec", float("nan")), ("dec", 95.0)],
)
def test_alert_with_invalid_position_is_rejected(real_values: dict[str, list[bytes]], field: str, value: float) -> None:
    record = _records(real_values["ztf_4.02"][:1])[0]
    check_alert(record)  # the real alert passes
    record["candidate"][field] = value
    with pytest.raises(DecodeError) as info:
        check_alert(record)
    assert f"candidate.{field} is not a valid coordinate" in info.value.reason and repr(value) in info.value.reason


def test_nan_in_a_measurement_is_kept(spark: SparkSession, real_values: dict[str, list[bytes]]) -> None:
    """NaN/inf outside jd/ra/dec is a value Avro carries: the alert goes to raw as-is, not to quarantine."""
    record = _records(real_values["ztf_4.02"][:1])[0]
    record["candidate"]["magpsf"] = float("nan")
    record["candidate"]["sigmapsf"] = float("inf")
    bad_ra = _records(real_values["ztf_4.02"][1:2])[0]
    bad_ra["candidate"]["ra"] = float("inf")
    values = [encode_schemaless(record, "ztf_4.02"), encode_schemaless(bad_ra, "ztf_4.02")]
    stamped = stamp(decode_messages(_kafka_rows(spark, values), "ztf_4.02"), longitude_deg=-116.865, version="1")
    (raw,) = raw_rows(stamped).collect()
    assert raw.candid == record["candid"]
    assert math.isnan(raw.candidate.magpsf) and math.isinf(raw.candidate.sigmapsf)
    (q,) = quarantine_rows(stamped).collect()
    assert q.kafka_offset == 1 and q.reason == "candidate.ra is not a valid coordinate in [0, 360] degrees: inf"
