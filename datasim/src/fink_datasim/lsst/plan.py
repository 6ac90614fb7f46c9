"""The LSST night plan: visits of `visit_size` alerts ~39 s apart, and every alert's detector, kind and id.

Everything that must be globally consistent is fixed here, from one seed, in one process: visit ids and times,
unique 64-bit diaSourceIds, which alerts are solar-system ones, and how long each history is. The per-alert
content (fluxes, positions, history points, cutouts) is drawn later from a seed derived from (seed, alert index).

Ids follow the layout of Rubin's packed ids: the exposure (day number and sequence in the night), the detector,
then an index. Alerts of the run use indices below 2**25; a history point of an object uses 2**25 + the object's
ordinal (an object has at most one source per exposure), a forced source 2**26 + the ordinal: every id is
unique by construction, and all are above 2**53 (about 1.3e18 for 2026).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from fink_datasim.errors import DatasimError
from fink_datasim.survey import night_date

__all__ = [
    "BANDS",
    "DEFAULT_NIGHT",
    "DETECTORS",
    "MAX_ALERTS",
    "SSO_FRACTION",
    "TAI_MINUS_UTC_DAYS",
    "VISIT_GAP_S",
    "LsstPlan",
    "Visit",
    "build_lsst_plan",
    "day_obs",
    "exposure_of",
    "mjd_of_date",
    "source_id",
]

#: The night generated when none is given (the night of the real 2026-03-05 sample), as Rubin's dayObs.
DEFAULT_NIGHT = "20260305"
#: Science detectors of LSSTCam: 21 rafts of 3 x 3 sensors, numbered 0-188.
DETECTORS = 189
BANDS = ("u", "g", "r", "i", "z", "y")
#: Share of solar-system alerts (`diaSource.diaObjectId == 0`, `ssSource` filled).
SSO_FRACTION = 0.12
#: Mean time between two visits' mid-points: 30 s exposure, readout and slew.
VISIT_GAP_S = 39.0
#: Rubin's times are TAI: 37 s ahead of UTC since 2017.
TAI_MINUS_UTC_DAYS = 37.0 / 86400.0
#: Upper bound of a run: alert indices must stay below 2**25 within one (visit, detector), objects below 2**25.
MAX_ALERTS = 20_000_000

#: The night at Cerro Pachon, in UTC hours after midnight of the day after dayObs (23:45 to 10:00 UTC).
_NIGHT_START_H = -0.25
_NIGHT_END_H = 10.0
_MJD_1858 = date(1858, 11, 17)
_DAY_2000 = date(2000, 1, 1)
_INDEX_BITS = 27
_SEQ_PER_DAY = 4096
_BAND_WEIGHTS = (0.05, 0.13, 0.24, 0.24, 0.20, 0.14)
_BLOCK_VISITS = (10, 40)  # a survey block: consecutive visits in one band pair, one region of the sky
_SITE_LON_DEG = -70.7494
_HISTORY_ZERO = 0.12  # static alerts of a new object: no history
_HISTORY_MEDIAN = 22.0  # of the other static alerts (lognormal, clipped to 1000)
_HISTORY_SIGMA = 1.3
_MAX_HISTORY = 1000
_MAX_FORCED = 800


class Visit(NamedTuple):
    """One exposure of LSSTCam: what every alert of the visit shares."""

    visit: int  # dayObs * 100000 + sequence number, as Rubin writes it
    seq: int
    midpoint_mjd_tai: float
    band: str
    ra: float  # boresight (degrees)
    dec: float
    rot_deg: float
    observation_reason: str
    target_name: str
    first: int  # index of the visit's first alert
    count: int  # type: ignore[assignment]  # a field named like tuple.count, as the manifest has it


@dataclass(frozen=True)
class LsstPlan:
    """A night of `len(alerts)` alerts; per-alert arrays are indexed by the alert's position in the run."""

    seed: int
    night: str
    visit_size: int
    visits: tuple[Visit, ...]
    visit_of: np.ndarray  # int32: index into `visits`
    detector: np.ndarray  # int16
    sso: np.ndarray  # bool
    n_prv: np.ndarray  # int32: prvDiaSources (0 for a new object; null array for an SSO)
    n_forced: np.ndarray  # int32: prvDiaForcedSources
    source_ids: np.ndarray  # int64: diaSourceId, unique

    @property
    def size(self) -> int:
        return int(self.source_ids.size)


def mjd_of_date(day: date) -> float:
    """MJD at 00:00 UTC of a calendar date."""
    return float((day - _MJD_1858).days)


def day_obs(mjd_utc: float) -> int:
    """Rubin's dayObs (YYYYMMDD) of a time: the date in the UTC-12h time zone."""
    day = _MJD_1858 + timedelta(days=math.floor(mjd_utc - 0.5))
    return day.year * 10000 + day.month * 100 + day.day


def exposure_of(day_obs_value: int, seq: int) -> int:
    """A unique exposure number: days since 2000-01-01 of dayObs, then the sequence number in that night."""
    text = str(day_obs_value)
    day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return (day - _DAY_2000).days * _SEQ_PER_DAY + seq


def source_id(exposure: int, detector: int, index: int) -> int:
    """A packed 64-bit source id: exposure, detector, index (see the module docstring for the index ranges)."""
    return ((exposure * 256 + detector) << _INDEX_BITS) + index


def _gmst_deg(mjd_utc: float) -> float:
    return (280.46061837 + 360.98564736629 * (mjd_utc - 51544.5)) % 360.0


def _visits(rng: np.random.Generator, night: str, n: int, visit_size: int) -> list[Visit]:
    start = mjd_of_date(night_date(night)) + 1.0 + _NIGHT_START_H / 24.0
    n_visits = -(-n // visit_size)
    gaps = VISIT_GAP_S + rng.uniform(-1.5, 1.5, n_visits)
    gaps[0] = 0.0
    offsets_s = np.cumsum(gaps) + 15.0 + float(rng.uniform(0.0, 300.0))  # mid-point of a 30 s exposure
    if offsets_s[-1] > (_NIGHT_END_H - _NIGHT_START_H) * 3600.0:
        most = int((_NIGHT_END_H - _NIGHT_START_H) * 3600.0 // VISIT_GAP_S)
        raise DatasimError(
            f"{n_visits} visits of {visit_size} alerts do not fit in one night (at most ~{most}): "
            "raise --visit-size or generate fewer alerts"
        )
    visits: list[Visit] = []
    first_seq = int(rng.integers(5, 60))  # calibration exposures come first
    block_left = 0
    for k in range(n_visits):
        mjd_utc = start + float(offsets_s[k]) / 86400.0
        if block_left == 0:
            block_left = int(rng.integers(*_BLOCK_VISITS))
            bands = rng.choice(len(BANDS), size=2, replace=False, p=_BAND_WEIGHTS)
            lst = _gmst_deg(mjd_utc) + _SITE_LON_DEG
            block_ra = (lst + float(rng.uniform(-35.0, 35.0))) % 360.0
            block_dec = float(rng.uniform(-72.0, 5.0))
            ddf = rng.random() < 0.08
            pair = "".join(BANDS[b] for b in sorted(bands))
            reason = f"ddf_{rng.choice(('cosmos', 'edfs_a', 'edfs_b', 'xmm_lss', 'ecdfs', 'elaiss1'))}" if ddf else (
                f"pairs_{pair}_{rng.choice(('15.0', '33.0'))}"
            )
            dusty = abs(block_dec + 30.0) < 15.0 and rng.random() < 0.4
            target = ("dusty_plane" if dusty else "lowdust") if not ddf else f"{reason}, lowdust"
        band = BANDS[int(bands[k % 2])]
        block_left -= 1
        count = min(visit_size, n - k * visit_size)
        visits.append(
            Visit(
                visit=day_obs(mjd_utc) * 100000 + first_seq + k,
                seq=first_seq + k,
                midpoint_mjd_tai=mjd_utc + TAI_MINUS_UTC_DAYS,
                band=band,
                ra=(block_ra + float(rng.uniform(-3.0, 3.0))) % 360.0,
                dec=float(np.clip(block_dec + rng.uniform(-3.0, 3.0), -89.0, 89.0)),
                rot_deg=float(rng.uniform(0.0, 360.0)),
                observation_reason=str(reason),
                target_name=str(target),
                first=k * visit_size,
                count=count,
            )
        )
    return visits


def _history_lengths(rng: np.random.Generator, n: int, sso: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """prvDiaSources and prvDiaForcedSources lengths: most short, a heavy tail up to 1000 (and 800)."""
    drawn = np.floor(rng.lognormal(math.log(_HISTORY_MEDIAN), _HISTORY_SIGMA, n))
    prv = np.clip(drawn, 1, _MAX_HISTORY).astype(np.int32)
    prv[rng.random(n) < _HISTORY_ZERO] = 0
    forced = np.rint(prv * rng.lognormal(math.log(1.3), 0.4, n)).astype(np.int32)
    precovery = (prv == 0) & (rng.random(n) < 0.3)  # forced photometry of the 30 days before a new object
    forced[precovery] = rng.integers(1, 30, int(precovery.sum()))
    forced = np.clip(forced, 0, _MAX_FORCED)
    prv[sso] = 0
    forced[sso] = 0
    return prv, forced


def build_lsst_plan(
    n: int, seed: int, night: str = DEFAULT_NIGHT, visit_size: int = 10_000, sso_fraction: float = SSO_FRACTION
) -> LsstPlan:
    """Plan `n` alerts of night `night` (dayObs YYYYMMDD) in visits of `visit_size`; same arguments, same plan."""
    if n < 1 or n > MAX_ALERTS:
        raise DatasimError(f"number of alerts must be between 1 and {MAX_ALERTS}, got {n}")
    if visit_size < 1:
        raise DatasimError(f"visit size must be >= 1, got {visit_size}")
    if not 0.0 <= sso_fraction <= 1.0:
        raise DatasimError(f"the solar-system fraction must be within [0, 1], got {sso_fraction}")
    rng = np.random.default_rng([seed, 0x1557, 1])
    visits = _visits(rng, night, n, visit_size)
    visit_of = np.repeat(np.arange(len(visits), dtype=np.int32), [v.count for v in visits])
    detector = rng.integers(0, DETECTORS, n).astype(np.int16)
    # Exactly round(n * fraction) solar-system alerts, at random places in the run.
    sso = np.zeros(n, dtype=bool)
    sso[rng.permutation(n)[: round(n * sso_fraction)]] = True
    n_prv, n_forced = _history_lengths(rng, n, sso)

    source_ids = np.empty(n, dtype=np.int64)
    for v in visits:
        exposure = exposure_of(v.visit // 100000, v.seq)
        dets = detector[v.first : v.first + v.count].astype(np.int64)
        order = np.argsort(dets, kind="stable")  # index within (visit, detector): 0, 1, 2, ...
        ranks = np.empty(v.count, dtype=np.int64)
        sorted_dets = dets[order]
        starts = np.searchsorted(sorted_dets, sorted_dets, side="left")
        ranks[order] = np.arange(v.count) - starts
        source_ids[v.first : v.first + v.count] = ((exposure * 256 + dets) << _INDEX_BITS) + ranks
    return LsstPlan(
        seed=seed,
        night=night,
        visit_size=visit_size,
        visits=tuple(visits),
        visit_of=visit_of,
        detector=detector,
        sso=sso,
        n_prv=n_prv,
        n_forced=n_forced,
        source_ids=source_ids,
    )
