"""Decoding both framings of the real alerts, round trips, and a clear reason for every bad message."""

from __future__ import annotations

import copy
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest

from fink_common.avro import (
    CONTAINER_MAGIC,
    DecodeFailure,
    decode_alert,
    decode_alerts,
    encode_container,
    encode_schemaless,
)
from fink_common.datasets import sample_files
from fink_common.errors import DecodeError, SchemaError
from fink_common.schema import load_avro_schema


@pytest.fixture(scope="module")
def ztf402_payloads() -> list[bytes]:
    return [path.read_bytes() for path in sample_files("ztf_4.02")]


@pytest.fixture(scope="module")
def ztf402_records(ztf402_payloads: list[bytes]) -> list[dict[str, Any]]:
    return [decode_alert(payload, "ztf_4.02") for payload in ztf402_payloads]


@pytest.fixture(scope="module")
def alert(ztf402_records: list[dict[str, Any]]) -> dict[str, Any]:
    """One real 4.02 alert with a history, as a fresh copy per use site."""
    return next(r for r in ztf402_records if r["prv_candidates"])


def _reason(payload: bytes | None, schema_name: str = "ztf_4.02") -> str:
    with pytest.raises(DecodeError) as info:
        decode_alert(payload, schema_name)
    return info.value.reason


# --------------------------------------------------------------------------- real files


@pytest.mark.parametrize("name", ["ztf_3.3", "ztf_4.02", "lsst_9.0"])
def test_every_real_file_decodes(name: str) -> None:
    files = sample_files(name)
    records, failures = decode_alerts([p.read_bytes() for p in files], name)
    assert failures == []
    assert len(records) == len(files) == {"ztf_3.3": 50, "ztf_4.02": 300, "lsst_9.0": 100}[name]
    expected_fields = {f["name"] for f in load_avro_schema(name)["fields"]}
    for record, path in zip(records, files, strict=True):
        assert set(record) == expected_fields, path.name
        with path.open("rb") as handle:  # same values as fastavro's own reader, minus dropped extras
            reference = next(fastavro.reader(handle))
        for key in expected_fields & set(reference):
            assert record[key] == reference[key], (path.name, key)


def test_real_402_sample_facts(ztf402_records: list[dict[str, Any]]) -> None:
    assert len({r["candid"] for r in ztf402_records}) == 297  # 3 exact duplicates
    assert len({r["objectId"] for r in ztf402_records}) == 273
    assert all(r["fp_hists"] is None for r in ztf402_records)  # absent from the samples, filled by default


def test_ztf33_container_reads_as_402(tmp_path: Path) -> None:
    payload = sample_files("ztf_3.3")[0].read_bytes()
    as33 = decode_alert(payload, "ztf_3.3")
    as402 = decode_alert(payload, "ztf_4.02")
    assert "fp_hists" not in as33 and as402["fp_hists"] is None
    assert as402["candidate"] == as33["candidate"]


def test_schemaless_round_trip_of_every_real_402_alert(ztf402_records: list[dict[str, Any]]) -> None:
    for record in ztf402_records:
        back = decode_alert(encode_schemaless(record, "ztf_4.02"), "ztf_4.02")
        assert back["objectId"] == record["objectId"]
        assert back["candid"] == record["candid"]
        assert back["candidate"]["jd"] == record["candidate"]["jd"]
        assert len(back["prv_candidates"] or []) == len(record["prv_candidates"] or [])
        for cutout in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
            assert back[cutout]["stampData"] == record[cutout]["stampData"]
            assert back[cutout]["stampData"][:2] == b"\x1f\x8b"  # gzipped FITS
        assert back == record


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_container_round_trip(alert: dict[str, Any], codec: str) -> None:
    payload = encode_container(alert, "ztf_4.02", codec=codec)
    assert payload[:4] == CONTAINER_MAGIC
    assert decode_alert(payload, "ztf_4.02") == alert
    assert list(fastavro.reader(BytesIO(payload))) == [alert]  # readable by any Avro library


def test_container_with_a_schema_dict_and_lsst(tmp_path: Path) -> None:
    record = decode_alert(sample_files("lsst_9.0")[0].read_bytes(), "lsst_9.0")
    payload = encode_container(record, load_avro_schema("lsst_9.0"))
    assert decode_alert(payload, "lsst_9.0") == record
    assert decode_alert(encode_schemaless(record, "lsst_9.0"), "lsst_9.0") == record


# --------------------------------------------------------------------------- bad framings


def test_empty_message() -> None:
    assert _reason(b"") == "empty message (0 bytes)"
    assert _reason(None) == "empty message (no value)"


def test_truncated_container(ztf402_payloads: list[bytes]) -> None:
    payload = ztf402_payloads[0]
    assert _reason(payload[:200]).startswith("truncated container: the header is cut off")
    assert _reason(payload[:-40]).startswith("truncated container: block 1 announces")


def test_wrong_magic(ztf402_payloads: list[bytes]) -> None:
    reason = _reason(b"Obj\x02" + ztf402_payloads[0][4:])
    assert reason.startswith("wrong magic") and "b'\\x02'" in reason


def test_not_avro() -> None:
    reason = _reason(b'{"objectId": "ZTF23abcdefg", "candid": 1}')
    assert reason.startswith("not Avro") and "JSON" in reason
    assert _reason(b"\xff" * 64).startswith("not Avro")


def test_trailing_bytes_after_schemaless(alert: dict[str, Any]) -> None:
    reason = _reason(encode_schemaless(alert, "ztf_4.02") + b"\x00\x02")
    assert reason.startswith("2 trailing bytes after a schemaless ztf_4.02 record")


def test_more_than_one_record_in_a_container(alert: dict[str, Any]) -> None:
    buffer = BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(load_avro_schema("ztf_4.02")), [alert, alert])
    assert _reason(buffer.getvalue()) == "container holds 2 records, exactly one expected"
    # Two blocks of one record each are refused as well.
    buffer = BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(load_avro_schema("ztf_4.02")), [alert, alert], sync_interval=1)
    assert _reason(buffer.getvalue()) == "container holds 2 records, exactly one expected"


def test_container_without_record() -> None:
    buffer = BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(load_avro_schema("ztf_4.02")), [])
    assert _reason(buffer.getvalue()).startswith("container holds no record")


def test_corrupt_sync_marker(alert: dict[str, Any]) -> None:
    payload = bytearray(encode_container(alert, "ztf_4.02"))
    payload[-1] ^= 0xFF
    assert _reason(bytes(payload)) == "corrupt container: sync marker mismatch after block 1"


def test_unsupported_codec(alert: dict[str, Any]) -> None:
    payload = encode_container(alert, "ztf_4.02").replace(b"avro.codec\x08null", b"avro.codec\x08zstd", 1)
    assert "codec 'zstd' is not supported" in _reason(payload)


def test_record_missing_a_required_field(alert: dict[str, Any]) -> None:
    schema = load_avro_schema("ztf_4.02")
    candidate = schema["fields"][4]["type"]
    candidate["fields"] = [f for f in candidate["fields"] if f["name"] != "jd"]
    record = copy.deepcopy(alert)
    del record["candidate"]["jd"]
    reason = _reason(encode_container(record, schema))
    assert reason == "record does not match schema ztf_4.02: missing required field candidate.jd"


def test_required_field_null_under_a_nullable_writer(alert: dict[str, Any]) -> None:
    schema = load_avro_schema("ztf_4.02")
    schema["fields"][2]["type"] = ["null", "string"]  # objectId, nullable as Spark writes it
    record = dict(alert, objectId=None)
    reason = _reason(encode_container(record, schema))
    assert reason == "record does not match schema ztf_4.02: required field objectId is null"


def test_field_of_the_wrong_type(alert: dict[str, Any]) -> None:
    schema = load_avro_schema("ztf_4.02")
    schema["fields"][3]["type"] = "string"  # candid
    reason = _reason(encode_container(dict(alert, candid="123"), schema))
    assert reason == "record does not match schema ztf_4.02: field candid is string, expected long"


def test_schemaless_bytes_of_another_schema_fail() -> None:
    lsst = decode_alert(sample_files("lsst_9.0")[0].read_bytes(), "lsst_9.0")
    with pytest.raises(DecodeError):
        decode_alert(encode_schemaless(lsst, "lsst_9.0"), "ztf_4.02")


# --------------------------------------------------------------------------- batch and encoders


def test_batch_collects_failures_and_keeps_going(ztf402_payloads: list[bytes]) -> None:
    batch: list[bytes | None] = [ztf402_payloads[0], b"", ztf402_payloads[1][:300], None, ztf402_payloads[2]]
    records, failures = decode_alerts(batch, "ztf_4.02")
    assert [r["candid"] for r in records] == [decode_alert(ztf402_payloads[i], "ztf_4.02")["candid"] for i in (0, 2)]
    assert [f.index for f in failures] == [1, 2, 3]
    assert isinstance(failures[0], DecodeFailure) and failures[0].reason == "empty message (0 bytes)"
    assert failures[1].reason.startswith("truncated container") and failures[1].payload == batch[2]
    assert failures[2].payload is None
    with pytest.raises(SchemaError):
        decode_alerts(batch, "ztf_0.1")


def test_encoders_refuse_a_bad_record(alert: dict[str, Any]) -> None:
    record = dict(alert)
    del record["objectId"]
    with pytest.raises(SchemaError, match="objectId"):
        encode_schemaless(record, "ztf_4.02")
    with pytest.raises(SchemaError, match="candid"):
        encode_container(dict(alert, candid="not a number"), "ztf_4.02")
    with pytest.raises(SchemaError, match="codec"):
        encode_container(alert, "ztf_4.02", codec="snappy")
