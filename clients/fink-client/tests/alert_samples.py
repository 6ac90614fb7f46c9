"""A small alert schema shaped like the distributed ones (every field `["null", T]`), and alerts of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fink_client.schemas import PublishedSchema

__all__ = ["ALERT_SCHEMA", "alert", "published"]


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
