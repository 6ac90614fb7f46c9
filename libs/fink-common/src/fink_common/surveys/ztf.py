"""ZTF: one Avro container file per Kafka message (or schemaless Avro from simulators), schemas 3.3 and 4.02,
alerts identified by `candid` and timed by `candidate.jd` (JD, UTC), observed from Palomar."""

from __future__ import annotations

import math
from typing import Any

from fink_common.avro import decode_alert
from fink_common.errors import DecodeError
from fink_common.night import JD_UNIX_EPOCH, SITE_LONGITUDES
from fink_common.schema import conform_record
from fink_common.surveys.base import AlertDecoder, DecodeSettings, Survey

__all__ = ["ZTF", "check_ztf_alert"]


def check_ztf_alert(record: dict[str, Any]) -> None:
    """Reject decoded alerts that cannot be placed or identified (DecodeError with the reason).

    The fields that place an alert in time and on the sky (candidate.jd, ra, dec) must be finite and in range:
    the night partition, the HEALPix index and the cross-matches are computed from them. NaN or infinity in any
    other float field (a magnitude, a score) is an IEEE value Avro carries faithfully: it is kept as-is in the
    raw table, and the quality cuts of raw2science decide about it.
    """
    candidate = record.get("candidate") or {}
    jd = candidate.get("jd")
    if record.get("candid") is None:
        raise DecodeError("candid is null")
    if not record.get("objectId"):
        raise DecodeError("objectId is empty")
    if jd is None or not math.isfinite(jd) or jd < 2_400_000.0:
        raise DecodeError(f"candidate.jd is not a valid Julian date: {jd!r}")
    check_position(candidate, "candidate")


def check_position(source: dict[str, Any], where: str) -> None:
    """ra in [0, 360] and dec in [-90, 90] degrees, finite (DecodeError otherwise)."""
    for name, low, high in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0)):
        value = source.get(name)
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise DecodeError(f"{where}.{name} is not a valid coordinate in [{low:g}, {high:g}] degrees: {value!r}")


class ZTF(Survey):
    name = "ztf"
    site_name = "Palomar Observatory"
    site_longitude_deg = SITE_LONGITUDES["ztf"]
    default_schema = "ztf_4.02"
    alert_id_field = "candid"
    object_id_fields = ("objectId",)
    ra_field = "candidate.ra"
    dec_field = "candidate.dec"
    time_field = "candidate.jd"
    time_scale = 86400.0
    time_offset = -JD_UNIX_EPOCH * 86400.0

    def decoder(self, settings: DecodeSettings) -> AlertDecoder:
        schema_name = settings.schema_name

        def decode(value: bytes | None) -> dict[str, Any]:
            record = decode_alert(value, schema_name)
            check_ztf_alert(record)
            return conform_record(record, "ztf")

        return decode

    def check(self, record: dict[str, Any]) -> None:
        check_ztf_alert(record)
