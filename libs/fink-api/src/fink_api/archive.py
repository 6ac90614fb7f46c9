"""Read-only queries over the archive in HBase: what the REST API and `./fink query` both call.

Every query is a row-key lookup, a prefix scan or a key-range scan, with keys built by the archive's own
functions (`fink_archive.tables`) from validated values: no HBase filter string is ever built, so a
parameter cannot change what kind of scan runs. Values come back typed with each table's schema rows.

| query | table(s) | scan |
|---|---|---|
| `object`, `lightcurve` | `<survey>` and `<survey>.history` | prefix `objectId_` |
| `cone` | `<survey>.pixel128` | prefix `pixel_` for each HEALPix pixel overlapping the cone, then the exact angular distance |
| `latest_of_class` | `<survey>.class` | reversed range `class_jd(stop)` .. `class_jd(start)`, the first `n` rows |
| `solar_system` | `<survey>.ssnamenr` | prefix `name_` |
| `cutout`, `cutouts` | `<survey>.cutouts` | prefix `objectId_jd_`, or `objectId_` |
| `statistics` | `<survey>.statistics` | one row per night |
"""

from __future__ import annotations

import gzip
import math
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from thriftpy2.thrift import TException

from fink_archive.cells import decode_cells
from fink_archive.statistics import NightStatistics
from fink_archive.tables import (
    BANDS,
    KEY_SEP,
    SCHEMA_ROW_PREFIX,
    ArchiveTables,
    cone_pixels,
    jd_key,
    object_prefix,
    pixel_key,
    statistics_rowkey,
)
from fink_common.errors import DataNotFoundError, FinkError, ServiceError, ServiceUnavailableError
from fink_common.hbase import HBaseClient
from fink_common.version import parse_version

__all__ = [
    "CUTOUT_KINDS",
    "MAX_CONE_RADIUS_ARCSEC",
    "MAX_RESULTS",
    "Archive",
    "InvalidQueryError",
    "LightCurvePoint",
    "angular_distance_deg",
    "check_class_name",
    "check_object_id",
    "check_sso_name",
    "gunzip_fits",
    "parse_time",
]

_JD_UNIX_EPOCH = 2440587.5  # as fink_common.night.JD_UNIX_EPOCH, whose module imports pyspark

#: Cutout names as the alert has them (the archive's `b:` qualifiers).
CUTOUT_KINDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
MAX_CONE_RADIUS_ARCSEC = 3600.0
MAX_RESULTS = 1000
_OBJECT_ID = re.compile(r"[A-Za-z0-9]{1,40}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .*+/:()'-]{0,63}")
_NIGHT = re.compile(r"\d{8}")


class InvalidQueryError(FinkError):
    """A query parameter that cannot be used (the API answers 422 with this message)."""


def check_object_id(object_id: str) -> str:
    if not _OBJECT_ID.fullmatch(object_id):
        raise InvalidQueryError(f"objectId {object_id!r} is not valid: 1 to 40 letters and digits, e.g. ZTF23abllsov")
    return object_id


def check_class_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidQueryError(
            f"class {name!r} is not valid: 1 to 64 characters, letters, digits, spaces and . * + / : ( ) ' -"
        )
    return name


def check_sso_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidQueryError(f"solar-system name {name!r} is not valid: 1 to 64 letters, digits or spaces")
    return name


def parse_time(value: str) -> float:
    """A Julian date from `2460236.5`, `2023-10-17` or `2023-10-17T05:30:00[Z|+00:00]` (UTC if no offset)."""
    text = value.strip()
    try:
        jd = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidQueryError(
                f"time {value!r} is neither a Julian date nor an ISO date (2023-10-17 or 2023-10-17T05:30:00)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() / 86400.0 + _JD_UNIX_EPOCH
    if not (math.isfinite(jd) and 2_400_000.0 <= jd < 9_999_999.0):
        raise InvalidQueryError(f"Julian date {value!r} is out of range (2400000 to 9999999)")
    return jd


def angular_distance_deg(ra1: float, dec1: float, ra2: np.ndarray, dec2: np.ndarray) -> np.ndarray:
    """Great-circle distances in degrees (haversine form, exact at small separations)."""
    r1, d1, r2, d2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


@dataclass(frozen=True)
class LightCurvePoint:
    """One point of an object's light curve.

    kind: `alert` (an archived alert's own detection), `detection` (a detection from an alert's history
    that is not itself in the archive) or `upper` (a non-detection: `magpsf` is None, `diffmaglim` is the
    5-sigma limit).
    """

    jd: float
    fid: int | None
    band: str | None
    kind: str
    magpsf: float | None = None
    sigmapsf: float | None = None
    diffmaglim: float | None = None
    isdiffpos: str | None = None
    candid: int | None = None
    pid: int | None = None  # the processed image: with jd, what tells one measurement from another

    @property
    def identity(self) -> tuple[str, int, int]:
        """What tells one measurement from another: pid for upper limits, candid for detections."""
        return jd_key(self.jd), self.pid or 0, self.candid or 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _point(values: Mapping[str, Any], kind: str) -> LightCurvePoint:
    fid = values.get("fid")
    magpsf = _finite(values.get("magpsf"))
    if kind != "alert":
        kind = "detection" if magpsf is not None else "upper"
    return LightCurvePoint(
        jd=float(values["jd"]),
        fid=None if fid is None else int(fid),
        band=None if fid is None else BANDS.get(int(fid), str(fid)),
        kind=kind,
        magpsf=magpsf,
        sigmapsf=_finite(values.get("sigmapsf")),
        diffmaglim=_finite(values.get("diffmaglim")),
        isdiffpos=values.get("isdiffpos"),
        candid=None if values.get("candid") is None else int(values["candid"]),
        pid=None if values.get("pid") is None else int(values["pid"]),
    )


@dataclass
class Archive:
    """The archive of one survey, read through a `HBaseClient` (whose table prefix selects the deployment)."""

    client: HBaseClient
    tables: ArchiveTables
    _types: dict[str, dict[bytes, str]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------------------------------ plumbing

    def check_reachable(self, timeout_s: float = 2.0) -> None:
        """Fail fast (ServiceUnavailableError) when the Thrift server does not accept a connection, instead of
        riding out the HBase client's retries (minutes: made for stages, not for someone waiting on a query)."""
        address = (self.client.config.host, self.client.config.port)
        try:
            socket.create_connection(address, timeout=timeout_s).close()
        except OSError as exc:
            raise ServiceUnavailableError(f"HBase Thrift at {address[0]}:{address[1]} does not answer ({exc})") from exc

    def _call(self, table: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One HBase call; a table the archive has not created yet is 'not found', other server errors say so."""
        try:
            return call(table, *args, **kwargs)
        except TException as exc:
            if "TableNotFound" in repr(exc):
                raise DataNotFoundError(
                    f"the archive has no table {table} yet (the archive stage creates its tables when it starts)"
                ) from exc
            raise ServiceError(f"HBase failed on table {table}: {exc!r}") from exc

    def types(self, table: str) -> dict[bytes, str]:
        """The column types of a table from its schema rows (`schema_<archive version>`); the newest archive
        version wins where two disagree. Cached: schema rows only change when the archive is upgraded."""
        if table not in self._types:
            rows = self._call(table, self.client.scan, row_prefix=SCHEMA_ROW_PREFIX.encode())
            merged: dict[bytes, str] = {}
            for _, cells in sorted(rows, key=lambda row: parse_version(row[0].decode()[len(SCHEMA_ROW_PREFIX) :])):
                merged.update({k: v.decode() for k, v in cells.items()})
            if not merged:
                raise DataNotFoundError(f"the archive table {table} has no schema row: has the archive stage run?")
            self._types[table] = merged
        return self._types[table]

    def _rows(self, table: str, **scan: Any) -> list[dict[str, Any]]:
        types = self.types(table)
        return [decode_cells(cells, types) for _, cells in self._call(table, self.client.scan, **scan)]

    # ---------------------------------------------------------------------------------------- by object

    def alerts(self, object_id: str) -> list[dict[str, Any]]:
        """Every archived alert of an object, in jd order, with the values the broker added."""
        return self._rows(self.tables.main, row_prefix=object_prefix(check_object_id(object_id)))

    def history(self, object_id: str) -> list[dict[str, Any]]:
        """The points of the object's alerts' histories (older detections and upper limits), each once.

        Every alert's row holds its whole history; alerts of one object repeat the points they share, told
        apart by (jd, pid, candid) as `LightCurvePoint.identity` does."""
        points: dict[tuple[str, int, int], dict[str, Any]] = {}
        for row in self._rows(self.tables.history, row_prefix=object_prefix(check_object_id(object_id))):
            for point in row.get("points") or []:
                if point.get("jd") is not None:
                    key = (jd_key(float(point["jd"])), point.get("pid") or 0, point.get("candid") or 0)
                    points.setdefault(key, point)
        return [points[k] for k in sorted(points)]

    def lightcurve(self, object_id: str, alerts: list[dict[str, Any]] | None = None) -> list[LightCurvePoint]:
        """The alerts' detections, plus each history point (jd, pid, candid) that is not an archived alert's."""
        alerts = self.alerts(object_id) if alerts is None else alerts
        points = [_point(a, "alert") for a in alerts if a.get("jd") is not None]
        seen = {p.identity for p in points}
        points += [p for p in (_point(h, "history") for h in self.history(object_id)) if p.identity not in seen]
        return sorted(points, key=lambda p: (p.jd, p.fid or 0, p.pid or 0))

    def object(self, object_id: str) -> dict[str, Any]:
        """An object's alerts and light curve; DataNotFoundError when the archive has no alert of it."""
        alerts = self.alerts(object_id)
        if not alerts:
            raise DataNotFoundError(f"no alert of object {object_id} in the archive")
        points = self.lightcurve(object_id, alerts)
        return {"objectId": object_id, "alerts": alerts, "lightcurve": [p.to_dict() for p in points]}

    # ------------------------------------------------------------------------------------------ by sky

    def cone(self, ra: float, dec: float, radius_arcsec: float, *, limit: int = MAX_RESULTS) -> list[dict[str, Any]]:
        """Alerts within `radius_arcsec` of (ra, dec) in degrees, nearest first, each with `distance_arcsec`."""
        if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0):
            raise InvalidQueryError(f"position ra={ra}, dec={dec} is outside 0 <= ra < 360, -90 <= dec <= 90 (degrees)")
        if not 0.0 < radius_arcsec <= MAX_CONE_RADIUS_ARCSEC:
            raise InvalidQueryError(f"radius {radius_arcsec} arcsec is outside (0, {MAX_CONE_RADIUS_ARCSEC:g}]")
        rows: list[dict[str, Any]] = []
        for pixel in cone_pixels(ra, dec, radius_arcsec / 3600.0):
            rows += self._rows(self.tables.by_pixel, row_prefix=f"{pixel_key(pixel)}{KEY_SEP}".encode())
        if not rows:
            return []
        ras, decs = np.array([r["ra"] for r in rows], dtype=np.float64), np.array([r["dec"] for r in rows], dtype=np.float64)
        distance = angular_distance_deg(ra, dec, ras, decs) * 3600.0
        found = [dict(r, distance_arcsec=float(d)) for r, d in zip(rows, distance, strict=True) if d <= radius_arcsec]
        time = self.tables.layout.statistics_qualifiers[1]  # the index rows' time (ZTF jd, LSST midpointMjdTai)
        return sorted(found, key=lambda r: (r["distance_arcsec"], r[time]))[:limit]

    # -------------------------------------------------------------------------------- by class or name

    def latest_of_class(
        self, name: str, start_jd: float, stop_jd: float, *, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The `limit` latest alerts classified `name` with start_jd <= jd < stop_jd, latest first."""
        check_class_name(name)
        if not start_jd < stop_jd:
            raise InvalidQueryError(f"the start ({start_jd}) must be before the stop ({stop_jd})")
        # A reversed scan starts at row_start (inclusive) and walks down to row_stop (exclusive). Index keys are
        # `class_jd_objectId_candid`: every key of jd = stop sorts above `class_jd(stop)` and is left out, every
        # key of jd = start sorts above `class_jd(start)` and is kept: start <= jd < stop, latest first.
        prefix, offset = f"{name}{KEY_SEP}", self.tables.layout.jd_offset  # LSST keys hold the MJD
        start, stop = f"{prefix}{jd_key(stop_jd - offset)}".encode(), f"{prefix}{jd_key(start_jd - offset)}".encode()
        return self._rows(self.tables.by_class, row_start=start, row_stop=stop, reverse=True, limit=limit)

    def classes(self) -> dict[str, int]:
        """Every class of the archive with its number of alerts (from the per-night statistics)."""
        counts: dict[str, int] = {}
        for stats in self.statistics():
            for label, n in stats["per_class"].items():
                counts[label] = counts.get(label, 0) + n
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def solar_system(self, name: str) -> list[dict[str, Any]]:
        """Alerts associated with a solar-system object (`ssnamenr`, e.g. `15938`), in jd order."""
        return self._rows(self.tables.by_sso, row_prefix=f"{check_sso_name(name.strip())}{KEY_SEP}".encode())

    # ---------------------------------------------------------------------------------------- cutouts

    def cutouts(self, object_id: str, jd: float | None = None, candid: int | None = None) -> dict[str, Any]:
        """The cutouts of one alert (gunzipped FITS bytes per kind, plus objectId, candid, jd): the alert
        at `jd` (to 1e-7 day), or the one with `candid`, or the object's latest; DataNotFoundError if none."""
        prefix = object_prefix(check_object_id(object_id))
        if jd is not None:
            prefix += f"{jd_key(jd)}{KEY_SEP}".encode()
        rows = self._rows(self.tables.cutouts, row_prefix=prefix)
        if candid is not None:
            rows = [r for r in rows if r.get("candid") == candid]
        if not rows:
            at = f" at jd {jd}" if jd is not None else ""
            with_candid = f" with candid {candid}" if candid is not None else ""
            raise DataNotFoundError(f"no cutout of object {object_id}{at}{with_candid} in the archive")
        row = rows[-1]
        out: dict[str, Any] = {k: row.get(k) for k in ("objectId", "candid", "jd")}
        for kind in CUTOUT_KINDS:
            data = row.get(kind)
            out[kind] = gunzip_fits(data) if isinstance(data, bytes | bytearray) else None
        return out

    # ------------------------------------------------------------------------------------- statistics

    def statistics(self, night: str | None = None) -> list[dict[str, Any]]:
        """Per-night statistics (every night, or one: DataNotFoundError if the archive has none for it)."""
        if night is not None:
            if not _NIGHT.fullmatch(night):
                raise InvalidQueryError(f"night {night!r} is not valid: YYYYMMDD, e.g. 20231017")
            key = statistics_rowkey(self.tables.survey, night).encode()
            cells = self._call(self.tables.statistics, self.client.get_row, key)
            if not cells:
                raise DataNotFoundError(f"no alert of night {night} in the archive")
            found: Iterable[Mapping[bytes, bytes]] = [cells]
        else:
            prefix = f"{self.tables.survey}{KEY_SEP}".encode()
            found = [cells for _, cells in self._call(self.tables.statistics, self.client.scan, row_prefix=prefix)]
        return [asdict(NightStatistics.from_cells(self.tables.survey, cells)) for cells in found]


def gunzip_fits(data: bytes | bytearray) -> bytes:
    """Cutouts are stored as the alert has them (gzipped FITS); plain FITS passes through."""
    return gzip.decompress(bytes(data)) if data[:2] == b"\x1f\x8b" else bytes(data)
