"""Small alert schemas shaped like the distributed ones (every field `["null", T]`), ZTF and Rubin/LSST, and
alerts of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fink_client.schemas import PublishedSchema

__all__ = ["ALERT_SCHEMA", "BIG_ID", "LSST_SCHEMA", "alert", "lsst_alert", "published"]


def _opt(kind: Any) -> list[Any]:
    return ["null", kind]


def _field(name: str, kind: Any) -> dict[str, Any]:
    return {"name": name, "type": _opt(kind), "default": None}


def _cutout(name: str) -> dict[str, Any]:
    record = {"type": "record", "name": name, "fields": [_field("fileName", "string"), _field("stampData", "bytes")]}
    return _field(name, record)


ALERT_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "alert",
    "namespace": "fink.ztf",
    "fields": [
        _field("objectId", "string"),
        _field("candid", "long"),
        _field(
            "candidate",
            {
                "type": "record",
                "name": "candidate",
                "fields": [
                    _field("jd", "double"),
                    _field("fid", "int"),
                    _field("magpsf", "float"),
                    _field("sigmapsf", "float"),
                    _field("ra", "double"),
                    _field("dec", "double"),
                ],
            },
        ),
        _field("classification", "string"),
        _field("tags", {"type": "array", "items": _opt("string")}),
        _field("scores", {"type": "map", "values": _opt("double")}),
        _field("science_timestamp", {"type": "long", "logicalType": "timestamp-micros"}),
        _cutout("cutoutScience"),
        _cutout("cutoutDifference"),
    ],
}


def published(schema: dict[str, Any] | None = None, fingerprint: str = "0123456789abcdef") -> PublishedSchema:
    return PublishedSchema.from_text(fingerprint, json.dumps(schema or ALERT_SCHEMA))


def alert(candid: int, **overrides: Any) -> dict[str, Any]:
    """An alert of ALERT_SCHEMA (floats exactly representable in float32, so they round-trip as they are)."""
    record: dict[str, Any] = {
        "objectId": f"ZTF23aa{candid % 100000:05d}",
        "candid": candid,
        "candidate": {"jd": 2460234.8420601, "fid": 2, "magpsf": 18.5, "sigmapsf": 0.0625, "ra": 10.5, "dec": -3.25},
        "classification": "SN candidate",
        "tags": ["a", None, "c"],
        "scores": {"snn": 0.75, "rf": None},
        "science_timestamp": datetime(2023, 10, 19, 6, 0, 1, 123456, tzinfo=UTC),
        "cutoutScience": {"fileName": "sci.fits.gz", "stampData": bytes(range(256)) * 3 + b"\x00\xff"},
        "cutoutDifference": {"fileName": None, "stampData": b""},
    }
    record.update(overrides)
    return record


#: An int64 id above 2^53: a float holds it as 2^62 (`float(BIG_ID) != BIG_ID`)
BIG_ID = 2**62 + 1

LSST_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "alert",
    "namespace": "fink.lsst",
    "fields": [
        _field("diaSourceId", "long"),
        _field("diaObjectId", "long"),
        _field("ssObjectId", "long"),
        _field(
            "diaSource",
            {
                "type": "record",
                "name": "diaSource",
                "fields": [
                    _field("diaSourceId", "long"),
                    _field("diaObjectId", "long"),
                    _field("midpointMjdTai", "double"),
                    _field("band", "string"),
                    _field("psfFlux", "float"),
                    _field("psfFluxErr", "float"),
                    _field("ra", "double"),
                    _field("dec", "double"),
                ],
            },
        ),
        _field(
            "prvDiaSources",
            {"type": "array", "items": _opt({"type": "record", "name": "prvDiaSources_item",
                                             "fields": [_field("diaSourceId", "long"), _field("psfFlux", "float")]})},
        ),  # fmt: skip
        _field("is_sso", "boolean"),
        _field("night", "string"),
        _field("cutoutDifference", "bytes"),
    ],
}


def lsst_alert(source_id: int = BIG_ID, **overrides: Any) -> dict[str, Any]:
    """A static LSST alert of LSST_SCHEMA (ids above 2^53; floats exact in float32)."""
    record: dict[str, Any] = {
        "diaSourceId": source_id,
        "diaObjectId": source_id - 2,
        "ssObjectId": None,
        "diaSource": {"diaSourceId": source_id, "diaObjectId": source_id - 2, "midpointMjdTai": 61000.0,
                      "band": "g", "psfFlux": 1000.0, "psfFluxErr": 10.0, "ra": 10.5, "dec": -3.25},  # fmt: skip
        "prvDiaSources": [{"diaSourceId": source_id - 4, "psfFlux": -5.5}, None],
        "is_sso": False,
        "night": "20251120",
        "cutoutDifference": b"SIMPLE  =" + bytes(range(256)),
    }
    record.update(overrides)
    return record
