"""Observing nights: the date of the local noon that begins the night, at the survey site's longitude.

A night runs from local noon to the next local noon (local *mean solar* time, i.e. UTC + longitude/15 h),
so that every exposure of one night of observing carries one night label, whatever the UTC date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

__all__ = [
    "SITE_LONGITUDES",
    "JD_UNIX_EPOCH",
    "MJD_UNIX_EPOCH",
    "night_of_unix",
    "night_of_jd",
    "night_column",
    "jd_to_unix",
]

#: East longitudes (degrees) of the survey sites.
SITE_LONGITUDES: dict[str, float] = {
    "ztf": -116.8650,  # Palomar Observatory
    "lsst": -70.7494,  # Cerro Pachon (Vera C. Rubin Observatory)
}
JD_UNIX_EPOCH = 2440587.5  # JD of 1970-01-01T00:00:00 UTC
MJD_UNIX_EPOCH = 40587.0


def jd_to_unix(jd: float) -> float:
    return (jd - JD_UNIX_EPOCH) * 86400.0


def night_of_unix(unix_s: float, longitude_deg: float) -> str:
    """YYYYMMDD of the local noon that begins the night containing `unix_s`."""
    local = datetime.fromtimestamp(unix_s, tz=UTC) + timedelta(hours=longitude_deg / 15.0)
    return (local - timedelta(hours=12)).strftime("%Y%m%d")


def night_of_jd(jd: float, longitude_deg: float) -> str:
    return night_of_unix(jd_to_unix(jd), longitude_deg)


def night_column(unix_s: Column, longitude_deg: float) -> Column:
    """Spark expression of `night_of_unix` (UTC session time zone not required: computed in epoch seconds)."""
    shifted = unix_s + F.lit(longitude_deg * 240.0 - 43200.0)  # +lon/15 h, -12 h
    days = F.floor(shifted / F.lit(86400.0)).cast("int")
    return F.date_format(F.date_add(F.to_date(F.lit("1970-01-01")), days), "yyyyMMdd")
