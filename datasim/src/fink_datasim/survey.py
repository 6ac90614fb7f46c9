"""ZTF survey geometry and identifiers: night windows, the field grid, readout channels, ids and file names.

Nothing here is random: every function maps its inputs to one ZTF-like value, so the generator stays deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from fink_datasim.errors import DatasimError

__all__ = [
    "BANDS",
    "DEFAULT_NIGHT",
    "FIELD_HALF_WIDTH_DEG",
    "NIGHT_START_H",
    "NIGHT_END_H",
    "SLOT_S",
    "Field",
    "candid_of",
    "field_grid",
    "frac7_of",
    "jd_of_date",
    "night_date",
    "night_id",
    "object_id",
    "pid_of",
    "place_in_field",
    "rfid_of",
    "science_file_name",
]

#: The night generated when none is given (the night of the real 2023 ZTF 4.02 sample).
DEFAULT_NIGHT = "20231018"
#: Observing window of a Palomar night in UTC hours: it falls within one UTC date.
NIGHT_START_H = 3.0
NIGHT_END_H = 12.5
#: One exposure slot: 30 s exposure plus ~10 s overhead.
SLOT_S = 40.0
#: Half the side of a ZTF field footprint (the camera covers about 7 x 7 degrees).
FIELD_HALF_WIDTH_DEG = 3.5
#: ZTF filter id -> letter used in file names.
BANDS: dict[int, str] = {1: "g", 2: "r", 3: "i"}

_JD_UNIX_EPOCH = 2440587.5
_NID_ZERO_JD = 2457754.5  # 2017-01-01: ZTF night ids count days from there (nid 2481 = 2023-10-18)
_FIRST_FIELD_ID = 245
_QUAD_PIX_X = 3072
_QUAD_PIX_Y = 3080
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Field:
    """One ZTF primary-grid field: its id and the centre of its footprint (degrees)."""

    fid: int
    ra: float
    dec: float


def night_date(night: str) -> date:
    """Parse `YYYYMMDD`; a DatasimError in plain words when it is not a date."""
    try:
        return datetime.strptime(night, "%Y%m%d").date()
    except (TypeError, ValueError) as exc:
        raise DatasimError(f"invalid night {night!r}: expected YYYYMMDD, e.g. {DEFAULT_NIGHT}") from exc


def jd_of_date(day: date) -> float:
    """Julian date at 00:00 UTC of a calendar date."""
    unix_days = (day - date(1970, 1, 1)).days
    return _JD_UNIX_EPOCH + unix_days


def night_id(night_start_jd: float) -> int:
    """ZTF `nid`: the number of days since 2017-01-01 of the UTC date holding `night_start_jd`."""
    return int(math.floor(night_start_jd - _NID_ZERO_JD))


def frac7_of(jd: float) -> int:
    """Fraction of the UTC day of `jd`, as the 7 digits ZTF puts in processing ids."""
    frac = (jd - 0.5) - math.floor(jd - 0.5)
    return min(int(frac * 1e7), 9_999_999)


def pid_of(nid: int, frac7: int, ccd: int) -> int:
    """Processing id of one CCD of one exposure: night id, time of the exposure, CCD (13 digits)."""
    return nid * 10**9 + frac7 * 100 + ccd


def candid_of(pid: int, ccd: int, tblid: int) -> int:
    """Candidate id: the processing id followed by the CCD and the row of the extraction table."""
    return pid * 10**6 + ccd * 1000 + tblid


def rfid_of(field: int, fid: int, rcid: int) -> int:
    """Reference-image id of a (field, filter, readout channel)."""
    return field * 10**6 + 120_000 + fid * 100 + rcid


def object_id(year: int, number: int) -> str:
    """`ZTF<yy><7 letters>`: the letters spell `number` in base 26 (a = 0)."""
    letters = []
    for _ in range(7):
        number, digit = divmod(number, 26)
        letters.append(_LETTERS[digit])
    return f"ZTF{year % 100:02d}{''.join(reversed(letters))}"


def science_file_name(jd: float, field: int, fid: int, rcid: int, *, archived: bool) -> str:
    """Difference-image file name as ZTF writes it (archived history entries carry the archive path)."""
    day, stamp = _day_stamp(jd)
    ccd, quad = rcid // 4 + 1, rcid % 4 + 1
    name = f"ztf_{stamp}_{field:06d}_z{BANDS[fid]}_c{ccd:02d}_o_q{quad}_scimrefdiffimg.fits"
    if archived:
        return f"/ztf/archive/sci/{day[:4]}/{day[4:]}/{stamp[8:]}/{name}.fz"
    return name


@lru_cache(maxsize=65536)
def _day_stamp(jd: float) -> tuple[str, str]:
    """(YYYYMMDD, YYYYMMDD + 6 digits of the fraction of day) of an exposure."""
    day = date(1970, 1, 1) + timedelta(days=math.floor(jd - _JD_UNIX_EPOCH))
    text = f"{day:%Y%m%d}"
    return text, f"{text}{frac7_of(jd) // 10:06d}"


def field_grid() -> list[Field]:
    """A ZTF-like primary grid: declination bands of ~7.2 degrees, fields spaced ~7.4 degrees in RA."""
    fields: list[Field] = []
    next_id = _FIRST_FIELD_ID
    dec = -27.0
    while dec < 88.0:
        n_ra = max(1, round(360.0 * math.cos(math.radians(dec)) / 7.4))
        for k in range(n_ra):
            fields.append(Field(next_id, (k + 0.5) * 360.0 / n_ra, dec))
            next_id += 1
        dec += 7.2
    return fields


def place_in_field(field: Field, u: float, v: float) -> tuple[float, float, int, float, float]:
    """Sky position and detector position of the point at fractions (u, v) in [0, 1) of a field.

    Returns (ra, dec, rcid, xpos, ypos): the camera is an 8 x 8 grid of readout quadrants.
    """
    dec = field.dec + (v - 0.5) * 2 * FIELD_HALF_WIDTH_DEG
    dec = max(-89.9, min(89.9, dec))
    cos_dec = max(math.cos(math.radians(dec)), 0.05)
    ra = (field.ra + (u - 0.5) * 2 * FIELD_HALF_WIDTH_DEG / cos_dec) % 360.0
    col, row = min(int(u * 8), 7), min(int(v * 8), 7)
    ccd = (row // 2) * 4 + col // 2 + 1
    quad = (row % 2) * 2 + col % 2 + 1
    rcid = (ccd - 1) * 4 + quad - 1
    xpos = (u * 8 - col) * _QUAD_PIX_X
    ypos = (v * 8 - row) * _QUAD_PIX_Y
    return ra, dec, rcid, xpos, ypos
