"""The one-line summary of an alert: objectId, candid, time, mag, class, filter (`-` for a null).

    ZTF18abktckv  2467323432615015004  2023-10-17T08:12:34  18.52±0.07 r  SN candidate  new_transients

time is the candidate's `jd` in ISO UTC (to the second); mag is `candidate.magpsf ± sigmapsf` and the band of
`candidate.fid` (1 g, 2 r, 3 i); class is the `classification` the science stage adds; filter comes from the
topic name (`<prefix><filter>_<survey>`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fink_client.topics import filter_name

__all__ = ["BANDS", "NULL", "format_mag", "jd_to_iso", "summary_fields", "summary_line"]

NULL = "-"
BANDS = {1: "g", 2: "r", 3: "i"}
_UNIX_EPOCH_JD = 2440587.5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def jd_to_iso(jd: Any) -> str:
    """Julian date -> `YYYY-MM-DDTHH:MM:SS` (UTC, nearest second); `-` when null or not a date."""
    value = _number(jd)
    if value is None:
        return NULL
    try:
        moment = _EPOCH + timedelta(seconds=round((value - _UNIX_EPOCH_JD) * 86400.0))
    except OverflowError:
        return NULL
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def format_mag(magpsf: Any, sigmapsf: Any, fid: Any) -> str:
    """`18.52±0.07 r`; `18.52 r` without an error; `-` without a magnitude; the band left out when unknown."""
    mag = _number(magpsf)
    if mag is None:
        return NULL
    text = f"{mag:.2f}"
    sigma = _number(sigmapsf)
    if sigma is not None:
        text += f"±{sigma:.2f}"
    band = BANDS.get(fid) if isinstance(fid, int) and not isinstance(fid, bool) else None
    return f"{text} {band}" if band else text


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL
    text = str(value).strip()
    return text if text else NULL


def summary_fields(alert: Mapping[str, Any], topic: str, prefix: str | None = None) -> tuple[str, ...]:
    """(objectId, candid, time, mag, class, filter) as printed."""
    candidate = alert.get("candidate")
    candidate = candidate if isinstance(candidate, Mapping) else {}
    return (
        _text(alert.get("objectId")),
        _text(alert.get("candid")),
        jd_to_iso(candidate.get("jd")),
        format_mag(candidate.get("magpsf"), candidate.get("sigmapsf"), candidate.get("fid")),
        _text(alert.get("classification")),
        filter_name(topic, prefix),
    )


def summary_line(alert: Mapping[str, Any], topic: str, prefix: str | None = None) -> str:
    """The printed line of one alert (fixed-width columns, two spaces apart)."""
    object_id, candid, when, mag, klass, name = summary_fields(alert, topic, prefix)
    return f"{object_id:<12}  {candid:>19}  {when:<19}  {mag:<14}  {klass:<20}  {name}".rstrip()
