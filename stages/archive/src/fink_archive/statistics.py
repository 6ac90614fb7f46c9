"""Per-night statistics of the archive, recomputed from the stored rows (never incremented).

A micro-batch may be replayed, and the same alert may arrive again in a later batch: adding per-batch
counts would count it twice. So after each batch the statistics row of every night the batch touched is
recomputed from the archive itself and overwritten. The rows are read from the time index
(`<survey>.jd`), which holds exactly one row per main-table row (same alerts, same upserts) but is
ordered by jd, so a night is a key range instead of a scan of the whole main table.

A night label (`YYYYMMDD`, the local date at the start of the night, see `fink_common.night`) covers
24 hours starting at local noon, i.e. between 00:00 UTC on that date (site at +180 deg) and 00:00 UTC
two days later (site at -180 deg), whatever the site longitude. That two-day window is scanned and the
rows are filtered on their stored `night`, so the result is right even if stream2raw ran with another
longitude.

This module does not import pyspark (a query API reads `NightStatistics` with `from_cells`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fink_archive.tables import BANDS, statistics_rowkey

__all__ = [
    "STATISTICS_SOURCE_COLUMNS",
    "STATISTICS_TYPES",
    "NightStatistics",
    "night_statistics",
    "night_window",
]

#: Columns of the time index read to compute the statistics.
STATISTICS_SOURCE_COLUMNS: tuple[bytes, ...] = (b"i:night", b"i:objectId", b"i:jd", b"i:fid", b"i:classification")
#: The schema row of the statistics table (`class:*` stands for every per-class column).
STATISTICS_TYPES: dict[str, str] = {
    "basic:night": "string",
    "basic:alerts": "int",
    "basic:objects": "int",
    "basic:exposures": "int",
    **{f"basic:n_{band}": "int" for band in BANDS.values()},
    "class:*": "int",
}
_JD_UNIX_EPOCH = 2440587.5


def night_window(night: str) -> tuple[float, float]:
    """(jd_start, jd_stop) holding every exposure labelled `night`, whatever the site longitude."""
    day = datetime.strptime(night, "%Y%m%d").replace(tzinfo=UTC)
    start = day.timestamp() / 86400.0 + _JD_UNIX_EPOCH
    stop = (day + timedelta(days=2)).timestamp() / 86400.0 + _JD_UNIX_EPOCH
    return start, stop


@dataclass(frozen=True)
class NightStatistics:
    """Counts of the archived alerts of one night."""

    survey: str
    night: str
    alerts: int
    objects: int
    exposures: int  # distinct jd
    per_band: dict[str, int] = field(default_factory=dict)  # band name -> alerts
    per_class: dict[str, int] = field(default_factory=dict)  # classification -> alerts

    @property
    def rowkey(self) -> bytes:
        return statistics_rowkey(self.survey, self.night).encode()

    def cells(self) -> dict[bytes, bytes]:
        """The whole statistics row (every band present, with 0 when it has no alert)."""
        out = {
            b"basic:night": self.night.encode(),
            b"basic:alerts": str(self.alerts).encode(),
            b"basic:objects": str(self.objects).encode(),
            b"basic:exposures": str(self.exposures).encode(),
        }
        bands = {band: 0 for band in BANDS.values()} | self.per_band
        out.update({f"basic:n_{band}".encode(): str(n).encode() for band, n in sorted(bands.items())})
        out.update({f"class:{label}".encode(): str(n).encode() for label, n in sorted(self.per_class.items())})
        return out

    @classmethod
    def from_cells(cls, survey: str, cells: Mapping[bytes, bytes]) -> NightStatistics:
        values = {k.decode(): v.decode() for k, v in cells.items()}
        return cls(
            survey=survey,
            night=values["basic:night"],
            alerts=int(values["basic:alerts"]),
            objects=int(values["basic:objects"]),
            exposures=int(values["basic:exposures"]),
            per_band={k[len("basic:n_") :]: int(v) for k, v in values.items() if k.startswith("basic:n_")},
            per_class={k[len("class:") :]: int(v) for k, v in values.items() if k.startswith("class:")},
        )


def _band(fid: Any) -> str | None:
    if fid is None:
        return None
    value = int(fid)
    return BANDS.get(value, str(value))


def night_statistics(survey: str, night: str, rows: Iterable[Mapping[str, Any]]) -> NightStatistics:
    """Statistics of `night` from index rows (dicts with night, objectId, jd, fid, classification).

    Rows of other nights are ignored; an alert without classification counts in no class.
    """
    alerts = 0
    objects: set[str] = set()
    exposures: set[str] = set()
    bands: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for row in rows:
        if row.get("night") != night:
            continue
        alerts += 1
        objects.add(str(row.get("objectId")))
        exposures.add(str(row.get("jd")))
        band = _band(row.get("fid"))
        if band is not None:
            bands[band] += 1
        label = row.get("classification")
        if label is not None:
            classes[str(label)] += 1
    return NightStatistics(
        survey=survey,
        night=night,
        alerts=alerts,
        objects=len(objects),
        exposures=len(exposures),
        per_band=dict(bands),
        per_class=dict(classes),
    )
