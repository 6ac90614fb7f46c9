"""The one-line summary of an alert: object, alert id, time, mag, class, filter (`-` for a null).

    ZTF18abktckv  2467323432615015004  2023-10-17T08:12:34  18.52±0.07 r  SN candidate  new_transients
    21163624394469969     170094456480989258  2026-03-06T02:17:20  20.93±0.03 i  -             solar_system

What differs between the surveys is described once, in `SURVEYS` (one `SurveyView` each), and chosen per alert
by `survey_of` (from the alert's fields, else from the topic's `_ztf`/`_lsst` suffix):

| column | ZTF | Rubin/LSST |
|---|---|---|
| object | `objectId` | `diaObjectId`, else `ssObjectId` (a solar-system alert), exact decimal |
| alert id | `candid` | `diaSourceId`, exact decimal (int64 ids above 2^53 never go through a float) |
| time (ISO UTC, to the second) | `candidate.jd` (JD, UTC) | `diaSource.midpointMjdTai` (MJD, TAI: UTC = TAI - 37 s) |
| mag | `candidate.magpsf ± sigmapsf`, band of `fid` (1 g, 2 r, 3 i) | AB of `diaSource.psfFlux ± psfFluxErr` (nJy: -2.5 log10(flux) + 31.4), `diaSource.band` |

class is the `classification` the science stage adds (`-` when the alert has none); filter comes from the topic
name (`<prefix><filter>_<survey>`). A magnitude is `-` when unknown (an LSST flux that is not positive has none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fink_client.topics import filter_name, survey_suffix
from fink_common.photometry import TAI_MINUS_UTC_S, flux_to_mag

__all__ = [
    "BANDS",
    "LSST_VIEW",
    "NULL",
    "SURVEYS",
    "ZTF_VIEW",
    "SurveyView",
    "flux_mag",
    "format_mag",
    "jd_to_iso",
    "mjd_tai_to_iso",
    "summary_fields",
    "summary_line",
    "survey_of",
]

NULL = "-"
#: ZTF's filter ids (`candidate.fid`)
BANDS = {1: "g", 2: "r", 3: "i"}
_UNIX_EPOCH_JD = 2440587.5  # JD of 1970-01-01T00:00:00 UTC (fink_common.night's module imports pyspark)
_UNIX_EPOCH_MJD = 40587.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _iso(unix_s: float) -> str:
    try:
        moment = _EPOCH + timedelta(seconds=round(unix_s))
    except OverflowError:
        return NULL
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def jd_to_iso(jd: Any) -> str:
    """Julian date (UTC) -> `YYYY-MM-DDTHH:MM:SS` (UTC, nearest second); `-` when null or not a date."""
    value = _number(jd)
    return NULL if value is None else _iso((value - _UNIX_EPOCH_JD) * 86400.0)


def mjd_tai_to_iso(mjd_tai: Any) -> str:
    """Modified Julian date in TAI (Rubin's `midpointMjdTai`) -> `YYYY-MM-DDTHH:MM:SS` in UTC (TAI - 37 s)."""
    value = _number(mjd_tai)
    return NULL if value is None else _iso((value - _UNIX_EPOCH_MJD) * 86400.0 - TAI_MINUS_UTC_S)


def _mag_text(mag: Any, sigma: Any, band: str | None) -> str:
    value = _number(mag)
    if value is None:
        return NULL
    text = f"{value:.2f}"
    error = _number(sigma)
    if error is not None:
        text += f"±{error:.2f}"
    return f"{text} {band}" if band else text


def format_mag(magpsf: Any, sigmapsf: Any, fid: Any) -> str:
    """`18.52±0.07 r`; `18.52 r` without an error; `-` without a magnitude; the band left out when unknown."""
    band = BANDS.get(fid) if isinstance(fid, int) and not isinstance(fid, bool) else None
    return _mag_text(magpsf, sigmapsf, band)


def flux_mag(psf_flux: Any, psf_flux_err: Any, band: Any) -> str:
    """The AB magnitude of a flux in nJy, as `format_mag` writes it: `20.00±0.05 g` (`-` for a flux <= 0)."""
    flux = _number(psf_flux)
    if flux is None:
        return NULL
    error = _number(psf_flux_err)
    mag, sigma = flux_to_mag([flux], [math.nan if error is None else error])
    name = band.strip() if isinstance(band, str) and band.strip() else None
    return _mag_text(float(mag[0]), float(sigma[0]), name)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL
    text = str(value).strip()
    return text if text else NULL


def _section(alert: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = alert.get(name)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class SurveyView:
    """How the summary reads the alerts of one survey (see the module docstring's table)."""

    name: str  # the topics' suffix: `<prefix><filter>_<name>`
    alert_id_field: str
    object_id_fields: tuple[str, ...]  # the first non-null one is the object
    source_field: str  # the struct of the detection: time, flux or magnitude, band
    time: Callable[[Mapping[str, Any]], str]  # source -> ISO UTC
    mag: Callable[[Mapping[str, Any]], str]  # source -> `18.52±0.07 r`
    object_width: int  # the object column's width in a line

    def object_id(self, alert: Mapping[str, Any]) -> str:
        found = (alert.get(name) for name in self.object_id_fields)
        return _text(next((value for value in found if value is not None), None))

    def fields(self, alert: Mapping[str, Any]) -> tuple[str, str, str, str]:
        """(object, alert id, time, mag) as printed."""
        source = _section(alert, self.source_field)
        return self.object_id(alert), _text(alert.get(self.alert_id_field)), self.time(source), self.mag(source)


ZTF_VIEW = SurveyView(
    name="ztf",
    alert_id_field="candid",
    object_id_fields=("objectId",),
    source_field="candidate",
    time=lambda c: jd_to_iso(c.get("jd")),
    mag=lambda c: format_mag(c.get("magpsf"), c.get("sigmapsf"), c.get("fid")),
    object_width=12,  # ZTF23aaaaaaa
)
LSST_VIEW = SurveyView(
    name="lsst",
    alert_id_field="diaSourceId",
    object_id_fields=("diaObjectId", "ssObjectId"),
    source_field="diaSource",
    time=lambda s: mjd_tai_to_iso(s.get("midpointMjdTai")),
    mag=lambda s: flux_mag(s.get("psfFlux"), s.get("psfFluxErr"), s.get("band")),
    object_width=19,  # an int64 in decimal
)
#: The surveys the client knows, by topic suffix; the first is the default.
SURVEYS: dict[str, SurveyView] = {view.name: view for view in (ZTF_VIEW, LSST_VIEW)}


def survey_of(alert: Mapping[str, Any], topic: str = "") -> SurveyView:
    """The view of an alert: the survey whose alert id field the alert has (a decoded alert holds every field of
    its schema, null or not), else the one of the topic's suffix (`_ztf`, `_lsst`), else ZTF."""
    for view in SURVEYS.values():
        if view.alert_id_field in alert:
            return view
    return SURVEYS.get(survey_suffix(topic), ZTF_VIEW)


def summary_fields(alert: Mapping[str, Any], topic: str, prefix: str | None = None) -> tuple[str, ...]:
    """(object, alert id, time, mag, class, filter) as printed."""
    return (*survey_of(alert, topic).fields(alert), _text(alert.get("classification")), filter_name(topic, prefix))


def summary_line(alert: Mapping[str, Any], topic: str, prefix: str | None = None) -> str:
    """The printed line of one alert (fixed-width columns, two spaces apart)."""
    width = survey_of(alert, topic).object_width
    object_id, alert_id, when, mag, klass, name = summary_fields(alert, topic, prefix)
    return f"{object_id:<{width}}  {alert_id:>19}  {when:<19}  {mag:<14}  {klass:<20}  {name}".rstrip()
