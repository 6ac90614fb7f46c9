"""Saving alerts: Avro and parquet round trips (cutouts are bytes, LSST int64 ids exact), atomic files, quarantine."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alert_samples import BIG_ID, LSST_SCHEMA, alert, lsst_alert, published

from fink_client.message import Received
from fink_client.sink import AlertSink, arrow_type, read_alerts, write_avro, write_parquet
from fink_common.errors import SchemaError


def _alerts() -> list[dict]:
    return [
        alert(1),
        alert(2, classification=None, tags=None, scores={}, cutoutScience=None),
        alert(3, candidate={"jd": None, "fid": None, "magpsf": None, "sigmapsf": None, "ra": None, "dec": None}),
        alert(4, science_timestamp=None, objectId=None, tags=[]),
    ]


@pytest.mark.parametrize("writer", [write_avro, write_parquet])
def test_round_trip_equals_the_input(tmp_path: Path, writer) -> None:
    schema = published()
    alerts = _alerts()
    path = writer(tmp_path / f"batch.{writer.__name__[6:]}", schema, alerts)
    back = read_alerts(path)
    assert back == alerts
    assert isinstance(back[0]["cutoutScience"]["stampData"], bytes)
    assert back[0]["cutoutScience"]["stampData"] == bytes(range(256)) * 3 + b"\x00\xff"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_avro_file_carries_the_published_schema(tmp_path: Path) -> None:
    schema = published()
    path = write_avro(tmp_path / "a.avro", schema, _alerts())
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        assert reader.writer_schema["name"] == "fink.ztf.alert"
        assert [f["name"] for f in reader.writer_schema["fields"]] == [f["name"] for f in schema.schema["fields"]]


def test_parquet_columns_follow_the_schema(tmp_path: Path) -> None:
    schema = published()
    path = write_parquet(tmp_path / "a.parquet", schema, _alerts())
    table = pq.read_table(path)
    assert table.schema.field("candid").type == pa.int64()
    assert table.schema.field("cutoutScience").type.field("stampData").type == pa.binary()
    assert table.schema.field("candidate").type.field("magpsf").type == pa.float32()
    assert table.schema.field("scores").type == pa.map_(pa.string(), pa.float64())
    assert table.schema.field("science_timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.metadata[b"fink.schema.fingerprint"] == schema.fingerprint.encode()
    assert table.schema.metadata[b"fink.schema"] == schema.text.encode()


def test_a_union_of_two_types_has_no_parquet_type() -> None:
    with pytest.raises(SchemaError, match="save as avro"):
        arrow_type(["null", "int", "string"])


def _received(offset: int, **kw) -> Received:
    base = dict(topic="fink_x_ztf", partition=0, offset=offset, key=b"ZTF", value=b"\x02\x04", headers=())
    return Received(**{**base, **kw})


@pytest.mark.parametrize("fmt", ["avro", "parquet"])
def test_sink_groups_by_topic_partition_schema_and_names_files_by_offsets(tmp_path: Path, fmt: str) -> None:
    one, two = published(), published(fingerprint="fedcba9876543210")
    batch = [
        _received(10, alert=alert(10), schema=one, fingerprint=one.fingerprint),
        _received(11, alert=alert(11), schema=two, fingerprint=two.fingerprint),
        _received(12, alert=alert(12), schema=one, fingerprint=one.fingerprint),
        _received(3, partition=1, alert=alert(3), schema=one, fingerprint=one.fingerprint),
        _received(13, error="broken"),  # not decoded: not saved here (quarantined by the caller)
    ]
    sink = AlertSink(tmp_path, fmt)
    files = sink.write(batch)
    names = sorted(str(p.relative_to(tmp_path)) for p in files)
    assert names == sorted(f"fink_x_ztf/{n}.{fmt}" for n in ("p0-10-12", "p0-11-11", "p1-3-3"))
    assert [a["candid"] for a in read_alerts(tmp_path / "fink_x_ztf" / f"p0-10-12.{fmt}")] == [10, 12]
    assert sink.saved == 4
    sink.write(batch[:1] + batch[2:3])  # the same batch again (a replay) rewrites the same file
    assert len(list((tmp_path / "fink_x_ztf").iterdir())) == 3


def test_quarantine_keeps_raw_bytes_and_the_reason(tmp_path: Path) -> None:
    sink = AlertSink(tmp_path)
    item = _received(42, value=b"\xde\xad\xbe\xef", error="schema 0123456789abcdef is not published",
                     headers=(("fink-schema-fingerprint", b"0123456789abcdef"),))  # fmt: skip
    path = sink.quarantine(item)
    assert path == tmp_path / "quarantine" / "fink_x_ztf-p0-o42.bin"
    assert path.read_bytes() == b"\xde\xad\xbe\xef"
    reason = (tmp_path / "quarantine" / "fink_x_ztf-p0-o42.reason.txt").read_text()
    assert "reason: schema 0123456789abcdef is not published" in reason
    assert "topic: fink_x_ztf" in reason and "partition: 0" in reason and "offset: 42" in reason
    assert sink.quarantined == 1


def _lsst_alerts() -> list[dict]:
    solar = lsst_alert(BIG_ID + 10, diaObjectId=None, ssObjectId=2**63 - 1, is_sso=True)  # int64's largest
    solar["diaSource"] = {**solar["diaSource"], "diaObjectId": 0}  # Rubin's 0 on a solar-system source
    return [lsst_alert(), solar, lsst_alert(2**53 + 1, prvDiaSources=None, diaSource=None, cutoutDifference=None)]


@pytest.mark.parametrize("writer", [write_avro, write_parquet])
def test_lsst_ids_above_2_53_stay_exact(tmp_path: Path, writer) -> None:
    assert float(BIG_ID) != BIG_ID and float(2**53 + 1) != 2**53 + 1  # a float would change each of them
    schema = published(LSST_SCHEMA)
    alerts = _lsst_alerts()
    back = read_alerts(writer(tmp_path / f"lsst.{writer.__name__[6:]}", schema, alerts))
    assert back == alerts
    ids = [(a["diaSourceId"], a["diaObjectId"], a["ssObjectId"]) for a in back]
    assert ids == [(BIG_ID, BIG_ID - 2, None), (BIG_ID + 10, None, 2**63 - 1), (2**53 + 1, 2**53 - 1, None)]
    assert all(type(i) is int for row in ids for i in row if i is not None)
    assert back[0]["prvDiaSources"][0]["diaSourceId"] == BIG_ID - 4 and back[1]["diaSource"]["diaObjectId"] == 0


def test_lsst_parquet_columns_are_int64(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "lsst.parquet", published(LSST_SCHEMA), _lsst_alerts())
    table = pq.read_table(path)
    for name in ("diaSourceId", "diaObjectId", "ssObjectId"):
        assert table.schema.field(name).type == pa.int64(), name
    assert table.schema.field("diaSource").type.field("diaSourceId").type == pa.int64()
    assert table.schema.field("prvDiaSources").type.value_type.field("diaSourceId").type == pa.int64()
    assert table.column("diaSourceId").to_pylist() == [BIG_ID, BIG_ID + 10, 2**53 + 1]
