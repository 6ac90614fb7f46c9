"""Read-only queries over the Rubin/LSST archive (`fink_archive.lsst`, `fink_archive.layout`).

Object ids are Rubin's int64 ids in decimal (`diaObjectId` of a static object, `ssObjectId` of a solar-system
one) and stay Python ints end to end, so JSON carries them exactly. Keys are salted (`salt_id_...`): a query
computes the salt from the id it looks for.

| query | table(s) | scan |
|---|---|---|
| `object` | `lsst` (alerts), `lsst.objects` (latest diaObject), `lsst.sources`, `lsst.forced` | prefix `salt_id_` (objects: the row `salt_id`) |
| `cone`, `latest_of_class`, `statistics` | as for ZTF (`fink_api.archive.Archive`) | |
| `solar_system` | `lsst.sso` by ssObjectId (digits), else `lsst.ssnamenr` by designation | prefix |
| `cutouts` | `lsst.cutouts` | prefix `salt_id_[mjd_]` |

The light curve joins the detections of every archived alert (each alert's `diaSource` and its
`prvDiaSources`, one row per diaSourceId in `lsst.sources`) with the forced photometry (`lsst.forced`): each
point has its time (`midpointMjdTai`, MJD TAI, and `jd`), band, `psfFlux` ± `psfFluxErr` in nJy, and the AB
magnitude `magpsf` ± `sigmapsf` where the flux is positive (null otherwise: a forced point may be negative).
`kind` is `alert` (an archived alert's own detection), `detection` (from a history) or `forced`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from fink_api.archive import CUTOUT_KINDS, Archive, InvalidQueryError, check_sso_name, gunzip_fits
from fink_archive.cells import decode_cells
from fink_archive.layout import salt
from fink_archive.tables import KEY_SEP, jd_key, object_prefix
from fink_common.errors import DataNotFoundError
from fink_common.photometry import flux_to_mag

__all__ = ["LsstArchive", "check_lsst_id"]

_ID = re.compile(r"\d{1,20}")
_INT64_MAX = 2**63 - 1


def check_lsst_id(object_id: str | int) -> int:
    """A Rubin id (diaObjectId or ssObjectId) as an int; InvalidQueryError unless it is a positive int64."""
    text = str(object_id).strip()
    if not _ID.fullmatch(text) or not 0 < int(text) <= _INT64_MAX:
        raise InvalidQueryError(f"LSST object id {object_id!r} is not valid: a positive 64-bit integer, e.g. 170094456248729605")
    return int(text)


def _points(rows: list[dict[str, Any]], kind: str, id_field: str) -> list[dict[str, Any]]:
    flux = np.array([r.get("psfFlux") if r.get("psfFlux") is not None else np.nan for r in rows], dtype=np.float64)
    err = np.array([r.get("psfFluxErr") if r.get("psfFluxErr") is not None else np.nan for r in rows], dtype=np.float64)
    mag, mag_err = flux_to_mag(flux, err)
    out = []
    for row, m, e in zip(rows, mag, mag_err, strict=True):
        mjd = row.get("midpointMjdTai")
        if mjd is None:
            continue
        out.append({
            "midpointMjdTai": mjd, "jd": mjd + 2400000.5, "band": row.get("band"), "kind": kind,
            "psfFlux": row.get("psfFlux"), "psfFluxErr": row.get("psfFluxErr"),
            "magpsf": float(m) if np.isfinite(m) else None, "sigmapsf": float(e) if np.isfinite(e) else None,
            id_field: row.get(id_field),
        })  # fmt: skip
    return out


@dataclass
class LsstArchive(Archive):
    """The LSST archive: the common queries of `Archive` with Rubin's ids, objects and light curves."""

    def _prefix(self, object_id: str | int) -> bytes:
        return object_prefix(str(check_lsst_id(object_id)), salted=True)

    def alerts(self, object_id: str) -> list[dict[str, Any]]:
        """Every archived alert of an object (diaObjectId or ssObjectId), in time order."""
        return self._rows(self.tables.main, row_prefix=self._prefix(object_id))

    def latest_object(self, object_id: str) -> dict[str, Any] | None:
        """The latest diaObject of a static object (None for a solar-system object)."""
        oid = str(check_lsst_id(object_id))
        cells = self._call(self.tables.objects, self.client.get_row, f"{salt(oid)}{KEY_SEP}{oid}".encode())
        if not cells:
            return None
        return decode_cells(cells, self.types(self.tables.objects))

    def lightcurve(self, object_id: str, alerts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        """Detections (alerts' own and their histories') and forced photometry, in time order."""
        alerts = self.alerts(object_id) if alerts is None else alerts
        own = {a.get("diaSourceId") for a in alerts}
        sources = self._rows(self.tables.sources, row_prefix=self._prefix(object_id))
        points = [p | {"kind": "alert" if p["diaSourceId"] in own else "detection"} for p in _points(sources, "detection", "diaSourceId")]
        points += _points(self._rows(self.tables.forced, row_prefix=self._prefix(object_id)), "forced", "diaForcedSourceId")
        return sorted(points, key=lambda p: (p["midpointMjdTai"], p["kind"]))

    def object(self, object_id: str) -> dict[str, Any]:
        """An object's alerts, latest diaObject and light curve; DataNotFoundError without any alert of it."""
        alerts = self.alerts(object_id)
        if not alerts:
            raise DataNotFoundError(f"no alert of LSST object {object_id} in the archive")
        oid = check_lsst_id(object_id)
        return {"objectId": oid, "diaObject": self.latest_object(object_id), "alerts": alerts,
                "lightcurve": self.lightcurve(object_id, alerts)}  # fmt: skip

    def solar_system(self, name: str) -> list[dict[str, Any]]:
        """Alerts of a solar-system object: by ssObjectId (digits) or by designation (e.g. `2015 AB12`)."""
        text = name.strip()
        if _ID.fullmatch(text):
            return self._rows(self.tables.sso, row_prefix=self._prefix(text))
        return self._rows(self.tables.by_sso, row_prefix=f"{check_sso_name(text)}{KEY_SEP}".encode())

    def cutouts(self, object_id: str, jd: float | None = None, candid: int | None = None) -> dict[str, Any]:
        """The FITS cutouts of one alert: at `jd` (to 1e-7 day), or with diaSourceId `candid`, or the latest."""
        prefix = self._prefix(object_id)
        if jd is not None:
            prefix += f"{jd_key(jd - self.tables.layout.jd_offset)}{KEY_SEP}".encode()
        rows = self._rows(self.tables.cutouts, row_prefix=prefix)
        if candid is not None:
            rows = [r for r in rows if r.get("diaSourceId") == candid]
        if not rows:
            raise DataNotFoundError(f"no cutout of LSST object {object_id} for that alert in the archive")
        row = rows[-1]
        mjd = row.get("midpointMjdTai")
        out: dict[str, Any] = {
            "objectId": check_lsst_id(object_id), "candid": row.get("diaSourceId"), "diaSourceId": row.get("diaSourceId"),
            "midpointMjdTai": mjd, "jd": None if mjd is None else mjd + 2400000.5,
        }  # fmt: skip
        for kind in CUTOUT_KINDS:
            data = row.get(kind)
            out[kind] = gunzip_fits(data) if isinstance(data, bytes | bytearray) else None
        return out
