"""The archive's tables as a reader sees them: names, families, rowkeys, the sky pixel.

This module does not import pyspark: the writer (`transform`) and a future query API both build their
rowkeys with the functions below, so a key computed by a reader always matches the stored one.

Tables (names are unprefixed; `FINK_HBASE_TABLE_PREFIX` adds `<prefix>_` in front of every one):

| table | rowkey | families: columns |
|---|---|---|
| `<survey>` | `objectId_jd_candid` | `i`: objectId, candid, candidate.* flattened, schemavsn, publisher, *_version; `d`: every column the broker added (science columns, night, Kafka coordinates, timestamps) |
| `<survey>.cutouts` | `objectId_jd_candid` | `i`: objectId, candid, jd; `b`: cutoutScience, cutoutTemplate, cutoutDifference (the gzipped FITS bytes) |
| `<survey>.class` | `classification_jd_objectId_candid` | `i`: `INDEX_COLUMNS` + main_rowkey |
| `<survey>.pixel128` | `pixel_jd_objectId_candid` | `i`: same |
| `<survey>.jd` | `jd_objectId_candid` | `i`: same |
| `<survey>.ssnamenr` | `ssnamenr_jd_objectId_candid` | `i`: same (alerts with roid 3 or a ssnamenr) |
| `<survey>.history` | `objectId_jd_candid` | `i`: objectId, candid, jd, and `points`: the alert's `prv_candidates` (detections and upper limits, which have no magpsf) cut to `HISTORY_POINT_COLUMNS`, one JSON array |
| `<survey>.statistics` | `<survey>_<night>` | `basic`: night, alerts, objects, exposures, n_g, n_r, n_i; `class`: one count per classification |

Every table also holds one schema row `schema_<archive version>` whose cells name the type of each column.

Rowkey parts are joined by `_`. The jd is written with `JD_DECIMALS` decimals, zero-padded to `JD_WIDTH`
characters, so that the lexical order of keys is the time order and a prefix scan by object (or by class,
pixel, name) returns alerts in jd order. Appending the candid keeps apart distinct alerts that share an
object and an exposure time (Fink's `objectId_jd` merges them). The sky pixel is the HEALPix index at
`NSIDE` = 128 in the NESTED scheme (neighbouring pixels have close numbers, so a coarser pixel is a
contiguous key range), zero-padded to 6 digits.

Cells are bytes: UTF-8 text for every value (integers in decimal; floats as Java prints them, e.g.
`18.123`, `NaN`, `1.0E20`, with the shortest digits that read back, `fink_archive.text`; booleans `true`/`false`; timestamps ISO 8601 with offset; structs, arrays and
maps as JSON with nulls kept and NaN/Infinity as strings) except binary columns (cutouts), stored raw.
A null value has no cell. `fink_archive.cells.decode_cells` turns a row back into Python values with the
schema row's types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fink_archive.layout import SALT_BUCKETS, ZTF_LAYOUT, SurveyLayout, salt, survey_layout

__all__ = [
    "BANDS",
    "HISTORY_POINT_COLUMNS",
    "INDEX_COLUMNS",
    "JD_DECIMALS",
    "JD_WIDTH",
    "KEY_SEP",
    "NSIDE",
    "SCHEMA_ROW_PREFIX",
    "UNNAMED_SSO",
    "ArchiveTables",
    "cone_pixels",
    "index_rowkey",
    "is_schema_row",
    "jd_key",
    "main_rowkey",
    "object_prefix",
    "parse_main_rowkey",
    "pixel_key",
    "schema_rowkey",
    "sky_pixels",
    "statistics_rowkey",
    "time_buckets",
    "time_range",
    "time_rowkey",
]

KEY_SEP = "_"
JD_DECIMALS = 7  # 1e-7 day = 8.6 ms, finer than any two exposures
JD_WIDTH = 8 + JD_DECIMALS  # 7 integer digits, the dot, the decimals: valid up to jd 9999999
NSIDE = 128
_PIXEL_DIGITS = len(str(12 * NSIDE * NSIDE - 1))
SCHEMA_ROW_PREFIX = "schema_"
#: The name part of a solar-system index key for an alert with roid 3 but no ssnamenr.
UNNAMED_SSO = "unnamed"
#: ZTF filter id -> band name (statistics columns `basic:n_<band>`).
BANDS: dict[int, str] = dict(ZTF_LAYOUT.band_names)
#: Columns copied into every ZTF index row (qualifier, source column path), when the source has them.
INDEX_COLUMNS: tuple[tuple[str, str], ...] = ZTF_LAYOUT.index_columns
#: Fields of a history point (`prv_candidates` item) kept in the history table, when the survey has them.
#: Enough to draw a light curve with its upper limits and to judge each point (rb, drb, isdiffpos). A point is
#: told from another by (jd, pid, candid): pid for upper limits (no candid), candid for detections (an image
#: may hold two; the sample alerts' histories even share one jd).
HISTORY_POINT_COLUMNS: tuple[str, ...] = (
    "jd",
    "fid",
    "pid",
    "candid",
    "magpsf",
    "sigmapsf",
    "diffmaglim",
    "isdiffpos",
    "ra",
    "dec",
    "rb",
    "drb",
    "magzpsci",
    "programid",
)


@dataclass(frozen=True)
class ArchiveTables:
    """The table names of one survey and the column families of each."""

    survey: str

    @property
    def layout(self) -> SurveyLayout:
        return survey_layout(self.survey)

    @property
    def main(self) -> str:
        return self.survey

    @property
    def cutouts(self) -> str:
        return f"{self.survey}.cutouts"

    @property
    def by_class(self) -> str:
        return f"{self.survey}.class"

    @property
    def by_pixel(self) -> str:
        return f"{self.survey}.pixel{NSIDE}"

    @property
    def by_time(self) -> str:
        return f"{self.survey}.jd"

    @property
    def by_sso(self) -> str:
        return f"{self.survey}.ssnamenr"

    @property
    def history(self) -> str:
        """The alerts' histories (`prv_candidates`: older detections and upper limits), one row per alert.

        One row per alert, not per point: an alert carries ~20 points (30 days), which as rows made the
        archive put six times as many rows (340 -> 123 alerts/s in bench/stage_throughput.py). Alerts of one
        object repeat points; the reader merges them (fink_api.archive)."""
        return f"{self.survey}.history"

    @property
    def statistics(self) -> str:
        return f"{self.survey}.statistics"

    @property
    def sources(self) -> str:
        """LSST: every detection (`diaSource`, `prvDiaSources`), one row each."""
        return f"{self.survey}.sources"

    @property
    def forced(self) -> str:
        """LSST: every forced-photometry point (`prvDiaForcedSources`), one row each."""
        return f"{self.survey}.forced"

    @property
    def objects(self) -> str:
        """LSST: the latest `diaObject` of each static object."""
        return f"{self.survey}.objects"

    @property
    def sso(self) -> str:
        """LSST: the solar-system alerts (`ssSource`) by ssObjectId."""
        return f"{self.survey}.sso"

    @property
    def indexes(self) -> tuple[str, ...]:
        return (self.by_class, self.by_pixel, self.by_time, self.by_sso)

    @property
    def extra(self) -> tuple[str, ...]:
        """The survey's own tables (ZTF: history; LSST: sources, forced, objects, sso)."""
        return tuple(f"{self.survey}.{suffix}" for suffix in self.layout.extra_tables)

    def families(self) -> dict[str, tuple[str, ...]]:
        """Every table of the archive -> its column families (in creation order)."""
        out: dict[str, tuple[str, ...]] = {self.main: ("i", "d"), self.cutouts: ("i", "b")}
        out.update({name: ("i",) for name in (*self.indexes, *self.extra)})
        out[self.statistics] = ("basic", "class")
        return out


# ---------------------------------------------------------------------------------------------- rowkeys


def jd_key(jd: float) -> str:
    """`2460236.1042900463` -> `2460236.1042900`: fixed decimals, zero-padded, so text order = time order."""
    if not math.isfinite(jd) or not 0.0 <= jd < 10 ** (JD_WIDTH - JD_DECIMALS - 1):
        raise ValueError(f"jd {jd!r} cannot be written in a rowkey")
    return f"{jd:0{JD_WIDTH}.{JD_DECIMALS}f}"


def main_rowkey(object_id: str, jd: float, candid: int, *, salted: bool = False) -> str:
    """Key of an alert in the main and cutouts tables: `objectId_jd_candid` (salted: `salt_objectId_jd_candid`)."""
    head = (salt(object_id), object_id) if salted else (object_id,)
    return KEY_SEP.join((*head, jd_key(jd), str(candid)))


def object_prefix(object_id: str, *, salted: bool = False) -> bytes:
    """Prefix of every main/cutouts row of one object (a scan returns them in jd order)."""
    head = f"{salt(object_id)}{KEY_SEP}{object_id}" if salted else object_id
    return f"{head}{KEY_SEP}".encode()


def parse_main_rowkey(key: bytes | str, *, salted: bool = False) -> tuple[str, float, int]:
    """`objectId_jd_candid` (or its salted form) -> (objectId, jd rounded to the key's decimals, candid)."""
    text = key.decode() if isinstance(key, bytes) else key
    if salted:
        text = text.split(KEY_SEP, 1)[1]
    object_id, jd, candid = text.rsplit(KEY_SEP, 2)
    return object_id, float(jd), int(candid)


def index_rowkey(value: str, jd: float, object_id: str, candid: int) -> str:
    """Key of an index row: `value_jd_objectId_candid` (value = classification, pixel key or ssnamenr)."""
    return KEY_SEP.join((value, jd_key(jd), object_id, str(candid)))


def time_rowkey(jd: float, object_id: str, candid: int, *, salted: bool = False) -> str:
    """Key of a time index row: `jd_objectId_candid` (salted: `salt(candid)_jd_objectId_candid`)."""
    head = (salt(candid),) if salted else ()
    return KEY_SEP.join((*head, jd_key(jd), object_id, str(candid)))


def time_range(jd_start: float, jd_stop: float, *, bucket: str | None = None) -> tuple[bytes, bytes]:
    """(row_start, row_stop) of a scan of the time index over jd_start <= jd < jd_stop (to key precision);
    for a salted index, within one salt `bucket` (scan every bucket of `time_buckets`)."""
    head = f"{bucket}{KEY_SEP}" if bucket is not None else ""
    return f"{head}{jd_key(jd_start)}".encode(), f"{head}{jd_key(jd_stop)}".encode()


def time_buckets(salted: bool) -> list[str | None]:
    """The salt buckets a time-range scan reads: every salt, or [None] for an unsalted index."""
    return [salt(n) for n in range(SALT_BUCKETS)] if salted else [None]


def pixel_key(pixel: int) -> str:
    return f"{pixel:0{_PIXEL_DIGITS}d}"


def statistics_rowkey(survey: str, night: str) -> str:
    return f"{survey}{KEY_SEP}{night}"


def schema_rowkey(version: str) -> str:
    return f"{SCHEMA_ROW_PREFIX}{version}"


def is_schema_row(key: bytes | str) -> bool:
    text = key.decode() if isinstance(key, bytes) else key
    return text.startswith(SCHEMA_ROW_PREFIX)


# ------------------------------------------------------------------------------------------- sky pixel


def _healpix() -> Any:
    from astropy_healpix import HEALPix

    return HEALPix(nside=NSIDE, order="nested")


def sky_pixels(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """HEALPix NESTED indices at `NSIDE` of (ra, dec) in degrees; -1 where a coordinate is missing."""
    import astropy.units as u

    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
    out = np.full(ra.shape, -1, dtype=np.int64)
    if valid.any():
        out[valid] = _healpix().lonlat_to_healpix(ra[valid] * u.deg, dec[valid] * u.deg)
    return out


def cone_pixels(ra_deg: float, dec_deg: float, radius_deg: float) -> list[int]:
    """Sorted pixels overlapping a cone: the pixel index prefixes a cone search scans."""
    import astropy.units as u

    found = _healpix().cone_search_lonlat(ra_deg * u.deg, dec_deg * u.deg, radius_deg * u.deg)
    return sorted(int(p) for p in found)
