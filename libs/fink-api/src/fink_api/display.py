"""Plain-text tables of query results for the terminal (`./fink query`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fink_archive.tables import BANDS
from fink_common.photometry import TAI_MINUS_UTC_S, flux_to_mag

__all__ = ["iso_time", "render_alerts", "render_object", "render_statistics"]

_JD_UNIX_EPOCH = 2440587.5  # as fink_common.night.JD_UNIX_EPOCH, whose module imports pyspark



def iso_time(jd: Any) -> str:
    """`2460235.60426` -> `2023-10-17T02:30:08` (UTC); `-` when unknown."""
    if jd is None or not math.isfinite(float(jd)):
        return "-"
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=float(jd) - _JD_UNIX_EPOCH)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _num(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, fmt)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _fields(a: Mapping[str, Any]) -> tuple[str, str, Any, str, Any]:
    """(object, alert id, jd, band, magnitude) of a ZTF or an LSST alert row (LSST: ids, MJD TAI, flux)."""
    if "diaSourceId" in a:
        mjd = a.get("midpointMjdTai")
        mag = flux_to_mag([a.get("psfFlux") if a.get("psfFlux") is not None else math.nan])[0][0]
        obj = a.get("diaObjectId") if a.get("diaObjectId") is not None else a.get("ssObjectId")
        jd = None if mjd is None else mjd + 2400000.5 - TAI_MINUS_UTC_S / 86400.0  # Rubin's times are TAI
        return str(obj), str(a["diaSourceId"]), jd, a.get("band") or "-", float(mag)
    band = BANDS.get(a.get("fid") or 0, "-")
    return str(a.get("objectId")), str(a.get("candid")), a.get("jd"), band, a.get("magpsf")


def render_object(found: Mapping[str, Any]) -> str:
    alerts, points = found["alerts"], found["lightcurve"]
    last = alerts[-1]
    _, alert_id, jd, _, _ = _fields(last)
    kinds = {k: sum(1 for p in points if p["kind"] == k) for k in ("alert", "detection", "forced", "upper")}
    forced = f", {kinds['forced']} forced photometry" if kinds["forced"] else ""
    head = [
        f"{found['objectId']}: {len(alerts)} alert(s) in the archive, ra {_num(last.get('ra'), '.6f')} "
        f"dec {_num(last.get('dec'), '.6f')}",
        f"latest alert: {alert_id} at {iso_time(jd)}, class "
        f"{last.get('classification') or '-'}, cross-match {last.get('xmatch_name') or '-'}",
        f"light curve: {len(points)} points ({kinds['alert']} alerts, {kinds['detection']} earlier detections, "
        f"{kinds['upper']} upper limits{forced})",
        "",
    ]
    rows = [
        [
            _num(p["jd"], ".5f"), iso_time(p["jd"]), p.get("band") or "-", p["kind"],
            _num(p.get("magpsf"), ".3f"), _num(p.get("sigmapsf"), ".3f"), _num(p.get("diffmaglim"), ".2f"),
        ]
        for p in points
    ]  # fmt: skip
    return "\n".join(head) + _table(["jd", "time (UTC)", "band", "kind", "mag", "err", "limit"], rows)


def render_alerts(alerts: Sequence[Mapping[str, Any]], title: str, *, distance: bool = False) -> str:
    header = ["object", "alert", "time (UTC)", "band", "mag", "class", "ra", "dec"]
    if distance:
        header.append("dist (arcsec)")
    rows = []
    for a in alerts:
        obj, alert_id, jd, band, mag = _fields(a)
        row = [
            obj, alert_id, iso_time(jd), band, _num(mag, ".3f"), str(a.get("classification") or "-"),
            _num(a.get("ra"), ".6f"), _num(a.get("dec"), ".6f"),
        ]  # fmt: skip
        if distance:
            row.append(_num(a.get("distance_arcsec"), ".2f"))
        rows.append(row)
    return f"{title}\n" + (_table(header, rows) if rows else "(none)")


def render_statistics(nights: Sequence[Mapping[str, Any]]) -> str:
    bands = sorted({b for n in nights for b in n["per_band"]}, key=lambda b: "ugrizy".find(b))
    header = ["night", "alerts", "objects", "exposures", *bands, "classes"]
    rows = [
        [
            n["night"], str(n["alerts"]), str(n["objects"]), str(n["exposures"]),
            *(str(n["per_band"].get(b, 0)) for b in bands),
            ", ".join(f"{k} {v}" for k, v in sorted(n["per_class"].items(), key=lambda kv: -kv[1])[:6]),
        ]
        for n in nights
    ]  # fmt: skip
    return _table(header, rows) if rows else "(no night archived)"
