"""Rubin/LSST decoding on every real sample: the Confluent framing by schema id, Fink's container files,
sentinels, exact 64-bit ids, the night at Cerro Pachon, and a reason for every bad message."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest

from fink_common.alert_packet import official_schema, official_versions, schema_id_of, version_of_id
from fink_common.avro import decode_schemaless_record, encode_schemaless
from fink_common.datasets import WIRE_SETS, sample_files
from fink_common.errors import DecodeError
from fink_common.night import MJD_UNIX_EPOCH
from fink_common.schema import raw_alert_schema, spark_schema
from fink_common.surveys import DecodeSettings, get_survey
from fink_common.surveys.lsst import TAI_MINUS_UTC_S, frame_confluent, split_confluent

LSST = get_survey("lsst")
PRODUCTION = ("9.0", "10.0", "11.0", "11.1")


def _decoder(schema_name: str = "lsst_11.0") -> Any:
    return LSST.decoder(DecodeSettings(survey="lsst", schema_name=schema_name))


def _wire(name: str) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in sample_files(name)]


def _writer_decode(data: bytes) -> tuple[int, dict[str, Any]]:
    """An independent decode: the header read by hand, fastavro with the official schema of that id."""
    assert data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    schema = fastavro.parse_schema(official_schema(version_of_id(schema_id)))
    stream = io.BytesIO(data[5:])
    record = fastavro.schemaless_reader(stream, schema, None)
    assert stream.tell() == len(data) - 5, "every byte of the message is the record"
    return schema_id, record  # type: ignore[return-value]


def _reason(value: bytes | None, schema_name: str = "lsst_11.0") -> str:
    with pytest.raises(DecodeError) as info:
        _decoder(schema_name)(value)
    return info.value.reason


# --------------------------------------------------------------------------- schemas and ids


def test_ids_and_versions() -> None:
    assert [schema_id_of(v) for v in PRODUCTION] == [900, 1000, 1100, 1101]
    assert [version_of_id(i) for i in (700, 704, 900, 1101, 1310)] == ["7.0", "7.4", "9.0", "11.1", "13.10"]
    assert set(PRODUCTION) <= set(official_versions())


@pytest.mark.parametrize("name", WIRE_SETS)
def test_every_wire_file_decodes_by_its_own_id(name: str) -> None:
    for path, data in _wire(name):
        schema_id, record = _writer_decode(data)
        assert 700 <= schema_id <= 1101, path.name
        ident = record.get("diaSourceId", record.get("alertId"))
        assert isinstance(ident, int) and ident > 0
        if name != "lsst_wire_versions":  # the real alerts are named after their diaSourceId
            assert path.name.split(".")[0] == str(ident)


def test_the_versions_set_has_one_message_per_version() -> None:
    ids = sorted(_writer_decode(data)[0] for _, data in _wire("lsst_wire_versions"))
    assert ids == [700, 701, 702, 703, 704, 800, 900, 1000, 1100, 1101]


def test_production_messages_land_in_the_raw_table_with_their_id_and_version() -> None:
    decode = _decoder()
    seen = set()
    for name in WIRE_SETS:
        for path, data in _wire(name):
            schema_id, expected = _writer_decode(data)
            if version_of_id(schema_id) not in PRODUCTION:
                continue
            row = decode(data)
            seen.add(schema_id)
            assert (row["schema_id"], row["schema_version"]) == (schema_id, version_of_id(schema_id)), path.name
            assert row["diaSourceId"] == expected["diaSourceId"]
            assert row["diaSource"]["psfFlux"] == expected["diaSource"]["psfFlux"]
            assert len(row["prvDiaSources"] or []) == len(expected["prvDiaSources"] or [])
            assert len(row["prvDiaForcedSources"] or []) == len(expected["prvDiaForcedSources"] or [])
            for cutout in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
                assert row[cutout] == expected[cutout]
            assert list(row)[: len(raw_alert_schema("lsst")["fields"])] == [
                f["name"] for f in raw_alert_schema("lsst")["fields"]
            ]
    assert seen == {900, 1000, 1100, 1101}


def test_older_schemas_are_quarantined_naming_the_fields_the_raw_table_lacks() -> None:
    decode = _decoder()
    for path, data in _wire("lsst_wire_versions"):
        schema_id, _ = _writer_decode(data)
        if version_of_id(schema_id) in PRODUCTION:
            continue
        with pytest.raises(DecodeError) as info:
            decode(data)
        assert f"(id {schema_id})" in info.value.reason and "raw table lacks" in info.value.reason, path.name


def test_v11_bytes_need_their_own_schema() -> None:
    """10.0 -> 11.0 only turns some ints non-null, yet the bytes differ: one fixed reader schema cannot read both."""
    v10 = {p.name: d for p, d in _wire("lsst_wire_10.0")}
    v11 = {p.name: d for p, d in _wire("lsst_wire_11.0")}
    assert v10.keys() == v11.keys()
    decode = _decoder()
    ten = fastavro.parse_schema(official_schema("10.0"))
    mismatched = 0
    for key in v10:
        a, b = decode(v10[key]), decode(v11[key])
        a.pop("schema_id"), b.pop("schema_id"), a.pop("schema_version"), b.pop("schema_version")
        assert a == b, key  # same content through each message's own schema
        try:
            wrong = decode_schemaless_record(v11[key][5:], ten, "10.0")
            mismatched += wrong["diaSource"] != b["diaSource"]
        except DecodeError:
            mismatched += 1
    assert mismatched == len(v10)


# --------------------------------------------------------------------------- ids and sentinels


def test_sentinels_and_exact_64_bit_ids() -> None:
    decode = _decoder()
    sso = static = above_2_53 = 0
    for path, data in _wire("lsst_wire_10.0") + _wire("lsst_wire_11.0") + _wire("lsst_wire_9.0"):
        row = decode(data)
        source = row["diaSource"]
        assert row["diaSourceId"] == int(path.name.split(".")[0])
        above_2_53 += row["diaSourceId"] > 2**53 and float(row["diaSourceId"]) != row["diaSourceId"]
        if row["ssSource"] is not None:  # solar-system: Rubin sends diaObjectId 0 and no diaObject
            sso += 1
            assert source["diaObjectId"] == 0 and row["diaObject"] is None
            assert row["diaObjectId"] is None
            assert row["ssObjectId"] == source["ssObjectId"] == row["ssSource"]["ssObjectId"] > 0
            assert row["mpc_orbits"] is not None
        else:
            static += 1
            assert source["ssObjectId"] == 0 and row["ssObjectId"] is None
            assert row["diaObjectId"] == source["diaObjectId"] == row["diaObject"]["diaObjectId"] > 0
    assert (sso, static) == (18, 11)
    assert above_2_53 >= 20  # ids a float64 would round, kept exact


def test_fink_container_files_decode_with_their_version() -> None:
    decode = _decoder()
    for path in sample_files("lsst_9.0"):
        row = decode(path.read_bytes())
        assert (row["schema_id"], row["schema_version"]) == (900, "9.0"), path.name
        assert row["diaSourceId"] == int(path.name.split("_")[0])
        assert "brokerIngestMjd" not in row  # Fink's own column is not Rubin's


def test_schemaless_messages_use_the_configured_schema() -> None:
    _, record = _writer_decode(_wire("lsst_wire_11.0")[0][1])
    row = _decoder("lsst_11.0")(encode_schemaless(record, "lsst_11.0"))
    assert (row["schema_id"], row["schema_version"], row["diaSourceId"]) == (1100, "11.0", record["diaSourceId"])


# --------------------------------------------------------------------------- bad input


def test_bad_messages_have_a_reason() -> None:
    data = _wire("lsst_wire_11.0")[0][1]
    assert "empty message" in _reason(b"") and "no value" in _reason(None)
    assert "truncated Confluent header" in _reason(b"\x00\x00\x04")
    assert "unknown Rubin schema id 4242" in _reason(frame_confluent(4242, data[5:]))
    assert "truncated or corrupt Rubin schema 11.0 (id 1100) record" in _reason(data[: len(data) // 2])
    assert "trailing bytes" in _reason(data + b"\x00\x01")
    wrong = _reason(b"\x07" + data[1:])
    assert "wrong magic byte 0x07" in wrong and "not Confluent-framed" in wrong
    with pytest.raises(DecodeError, match="wrong magic byte: 0x07"):
        split_confluent(b"\x07" + data[1:])


def test_unplaceable_alerts_are_refused() -> None:
    _, record = _writer_decode(_wire("lsst_wire_11.0")[0][1])
    for field, value, match in (
        ("midpointMjdTai", float("nan"), "midpointMjdTai"),
        ("ra", 361.0, "diaSource.ra"),
        ("dec", float("inf"), "diaSource.dec"),
    ):
        bad = json.loads(json.dumps(record, default=lambda b: None))  # a deep copy (cutouts dropped)
        bad["diaSource"][field] = value
        with pytest.raises(DecodeError, match=match):
            LSST.check(bad)


# --------------------------------------------------------------------------- time and night


def _mjd_tai(moment: datetime) -> float:
    return (moment.timestamp() + TAI_MINUS_UTC_S) / 86400.0 + MJD_UNIX_EPOCH


def test_night_starts_at_local_noon_at_cerro_pachon() -> None:
    # Local mean noon at 70.7494 W is 16:42:59.86 UTC.
    for moment, night in (
        (datetime(2026, 3, 6, 16, 42, 58, tzinfo=UTC), "20260305"),
        (datetime(2026, 3, 6, 16, 43, 1, tzinfo=UTC), "20260306"),
        (datetime(2026, 3, 7, 5, 0, 0, tzinfo=UTC), "20260306"),  # after UTC midnight, same night
    ):
        record = {"diaSource": {"midpointMjdTai": _mjd_tai(moment)}}
        assert abs(LSST.event_unix(record) - moment.timestamp()) < 1e-3
        assert LSST.night_of(record) == night, moment


def test_the_real_visits_fall_in_their_chilean_night() -> None:
    decode = _decoder()
    nights = {LSST.night_of(decode(d)) for _, d in _wire("lsst_wire_10.0")}
    # 2026-03-06 02:14 UTC is 21:31 on 03-05 in Chile: the night of 2026-03-05 (a UTC or TAI date would say 03-06)
    assert nights == {"20260305", "20260626", "20260627", "20260628"}


def test_raw_table_has_no_column_names_that_differ_only_by_case() -> None:
    """Spark resolves column names case-insensitively: two such fields could not be selected apart."""

    def walk(struct: Any, prefix: str = "") -> None:
        names = [f.name.lower() for f in struct.fields]
        assert len(names) == len(set(names)), prefix
        for f in struct.fields:
            inner = getattr(f.dataType, "elementType", f.dataType)
            if hasattr(inner, "fields"):
                walk(inner, prefix + f.name + ".")

    walk(spark_schema(raw_alert_schema("lsst")))
