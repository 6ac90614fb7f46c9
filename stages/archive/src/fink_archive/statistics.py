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

from fink_archive.layout import ZTF_LAYOUT, SurveyLayout, survey_layout
from fink_archive.tables import statistics_rowkey

__all__ = [
    "STATISTICS_SOURCE_COLUMNS",
    "STATISTICS_TYPES",
    "NightStatistics",
    "night_statistics",
    "night_window",
    "statistics_source_columns",
    "statistics_types",
]

_JD_UNIX_EPOCH = 2440587.5


def statistics_source_columns(layout: SurveyLayout) -> tuple[bytes, ...]:
    """Columns of the time index read to compute the statistics."""
    names = ("night", *layout.statistics_qualifiers, "classification")
    return tuple(f"i:{name}".encode() for name in names)


def statistics_types(layout: SurveyLayout) -> dict[str, str]:
    """The schema row of the statistics table (`class:*` stands for every per-class column)."""
    return {
        "basic:night": "string",
        "basic:alerts": "int",
        "basic:objects": "int",
        "basic:exposures": "int",
        **{f"basic:n_{band}": "int" for band in layout.band_names.values()},
        "class:*": "int",
    }


STATISTICS_SOURCE_COLUMNS: tuple[bytes, ...] = statistics_source_columns(ZTF_LAYOUT)
STATISTICS_TYPES: dict[str, str] = statistics_types(ZTF_LAYOUT)


def night_window(night: str, jd_offset: float = 0.0) -> tuple[float, float]:
    """(start, stop) holding every exposure labelled `night`, whatever the site longitude, as jd (or as
    jd - jd_offset: MJD for `jd_offset` 2400000.5)."""
    day = datetime.strptime(night, "%Y%m%d").replace(tzinfo=UTC)
    start = day.timestamp() / 86400.0 + _JD_UNIX_EPOCH - jd_offset
    stop = (day + timedelta(days=2)).timestamp() / 86400.0 + _JD_UNIX_EPOCH - jd_offset
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
        bands = {band: 0 for band in survey_layout(self.survey).band_names.values()} | self.per_band
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


def night_statistics(survey: str, night: str, rows: Iterable[Mapping[str, Any]]) -> NightStatistics:
    """Statistics of `night` from index rows (dicts with night, the layout's object, time and band
    qualifiers, e.g. objectId, jd, fid for ZTF, and classification).

    Rows of other nights are ignored; an alert without classification counts in no class.
    """
    layout = survey_layout(survey)
    object_q, time_q, band_q = layout.statistics_qualifiers
    alerts = 0
    objects: set[str] = set()
    exposures: set[str] = set()
    bands: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for row in rows:
        if row.get("night") != night:
            continue
        alerts += 1
        objects.add(str(row.get(object_q)))
        exposures.add(str(row.get(time_q)))
        band = layout.band_name(row.get(band_q))
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
