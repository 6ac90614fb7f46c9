"""Solar-system content of a Rubin alert: the `ssSource` (geometry of a known object at the visit) and its
`mpc_orbits` row (the MPC orbit), with designations in the unpacked (`2004 JQ12`) and packed (`K04J12Q`) forms.

The geometry is self-consistent: the object lies in the alert's direction at the distance that puts it at its
heliocentric range, the Earth on its orbit at the visit's time; elongation, phase angle, V magnitude and the
on-sky rate (hence the trail length) follow. Most objects are main-belt asteroids; a few near-Earth objects
move fast enough to leave long trails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

__all__ = ["Orbit", "designation", "draw_orbit", "mpc_orbit", "on_sky_rate_px", "ss_source"]

_OBLIQUITY = math.radians(23.4393)
_K = 0.01720209895  # Gauss: AU/day of a circular orbit at 1 AU
_HALF_MONTHS = "ABCDEFGHJKLMNOPQRSTUVWXY"
_SECOND = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
_CENTURY = {18: "I", 19: "J", 20: "K"}
_PIXEL_ARCSEC = 0.2
_EXPOSURE_S = 30.0
#: (name, share, a range AU, e max, i max deg, H range)
_CLASSES = (
    ("Main Belt", 0.86, (2.1, 3.3), 0.3, 25.0, (14.0, 20.5)),
    ("Hungaria", 0.03, (1.8, 2.0), 0.15, 30.0, (15.0, 19.0)),
    ("Jupiter Trojan", 0.04, (5.05, 5.35), 0.15, 35.0, (11.0, 15.5)),
    ("Apollo", 0.05, (1.05, 2.2), 0.7, 30.0, (17.0, 24.0)),
    ("TNO", 0.02, (30.0, 48.0), 0.25, 30.0, (5.0, 9.0)),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(when: datetime) -> int:
    """A timestamp-micros value (an int: what both fastavro and the compiled encoder take)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


class Orbit(NamedTuple):
    kind: str
    a: float
    e: float
    i: float
    node: float
    argperi: float
    mean_anomaly: float
    h: float
    r: float  # heliocentric range tonight, AU


def designation(number: int) -> tuple[str, str]:
    """(unpacked, packed) provisional designation for a number: e.g. ('2004 JQ12', 'K04J12Q')."""
    year = 1995 + number % 31
    rest = number // 31
    half, rest = _HALF_MONTHS[rest % 24], rest // 24
    second, cycle = _SECOND[rest % 25], (rest // 25) % 620
    unpacked = f"{year} {half}{second}{cycle if cycle else ''}"
    cycle_code = f"{cycle:02d}" if cycle < 100 else f"{chr(ord('A') + cycle // 10 - 10)}{cycle % 10}"
    return unpacked, f"{_CENTURY[year // 100]}{year % 100:02d}{half}{cycle_code}{second}"


def draw_orbit(u: list[float]) -> Orbit:
    """An orbit from 8 uniform numbers in [0, 1)."""
    x, chosen = u[0], _CLASSES[-1]
    for entry in _CLASSES:
        x -= entry[1]
        if x < 0:
            chosen = entry
            break
    kind, _, (a_lo, a_hi), e_max, i_max, (h_lo, h_hi) = chosen
    a = a_lo + (a_hi - a_lo) * u[1]
    e = e_max * u[2] ** 1.5
    mean_anomaly = 360.0 * u[3]
    r = a * (1.0 - e * math.cos(math.radians(mean_anomaly)))
    return Orbit(kind, a, e, i_max * u[4] ** 2, 360.0 * u[5], 360.0 * u[6], mean_anomaly, h_lo + (h_hi - h_lo) * u[7],
                 max(r, 1.05))  # fmt: skip


def _unit(lon_deg: float, lat_deg: float) -> tuple[float, float, float]:
    lon, lat = math.radians(lon_deg), math.radians(lat_deg)
    return math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)


def _ecliptic(ra: float, dec: float) -> tuple[float, float]:
    x, y, z = _unit(ra, dec)
    ye = y * math.cos(_OBLIQUITY) + z * math.sin(_OBLIQUITY)
    ze = -y * math.sin(_OBLIQUITY) + z * math.cos(_OBLIQUITY)
    return math.degrees(math.atan2(ye, x)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, ze))))


def _galactic(ra: float, dec: float) -> tuple[float, float]:
    x, y, z = _unit(ra, dec)
    m = ((-0.0548755604, -0.8734370902, -0.4838350155), (0.4941094279, -0.4448296300, 0.7469822445),
         (-0.8676661490, -0.1980763734, 0.4559837762))  # fmt: skip
    gx, gy, gz = (row[0] * x + row[1] * y + row[2] * z for row in m)
    return math.degrees(math.atan2(gy, gx)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, gz))))


def _geometry(orbit: Orbit, ra: float, dec: float, mjd: float) -> dict[str, Any]:
    lam, beta = _ecliptic(ra, dec)
    sun_lon = math.radians((280.46 + 0.9856474 * (mjd - 51544.5)) % 360.0)
    earth = (-math.cos(sun_lon), -math.sin(sun_lon), 0.0)  # heliocentric Earth, ecliptic frame
    u = _unit(lam, beta)
    eu = sum(a * b for a, b in zip(earth, u, strict=True))
    delta = -eu + math.sqrt(max(eu * eu - 1.0 + orbit.r**2, 1e-6))
    topo = tuple(delta * c for c in u)
    helio = tuple(a + b for a, b in zip(earth, topo, strict=True))
    r = math.sqrt(sum(c * c for c in helio))
    speed = _K * math.sqrt(max(2.0 / r - 1.0 / orbit.a, 0.05))  # vis-viva, AU/day
    inc = math.radians(orbit.i)
    hv = (-helio[1] / r * speed * math.cos(inc), helio[0] / r * speed * math.cos(inc), speed * math.sin(inc))
    ev = (_K * math.sin(sun_lon), -_K * math.cos(sun_lon), 0.0)
    tv = tuple(a - b for a, b in zip(hv, ev, strict=True))
    radial = sum(a * b for a, b in zip(tv, u, strict=True))
    perp = math.sqrt(max(sum(c * c for c in tv) - radial**2, 0.0))
    elongation = math.degrees(math.acos(max(-1.0, min(1.0, -eu))))
    phase = math.degrees(math.asin(max(-1.0, min(1.0, math.sin(math.radians(elongation)) / r))))
    return {
        "eclLambda": lam, "eclBeta": beta, "elongation": elongation, "phaseAngle": phase, "topoRange": delta,
        "topoRangeRate": radial, "helioRange": r,
        "helioRangeRate": sum(a * b for a, b in zip(hv, helio, strict=True)) / r,
        "ephVmag": orbit.h + 5.0 * math.log10(r * delta) + 0.035 * phase,
        "ephRate": math.degrees(perp / delta),
        "helio_x": helio[0], "helio_y": helio[1], "helio_z": helio[2],
        "helio_vx": hv[0], "helio_vy": hv[1], "helio_vz": hv[2], "helio_vtot": speed,
        "topo_x": topo[0], "topo_y": topo[1], "topo_z": topo[2],
        "topo_vx": tv[0], "topo_vy": tv[1], "topo_vz": tv[2], "topo_vtot": math.sqrt(sum(c * c for c in tv)),
    }  # fmt: skip


def on_sky_rate_px(geometry: Mapping[str, Any]) -> float:
    """Trail length during a 30 s exposure, in pixels, for an on-sky rate in deg/day."""
    return float(geometry["ephRate"]) * 3600.0 / 86400.0 * _EXPOSURE_S / _PIXEL_ARCSEC


def ss_source(template: Mapping[str, Any], orbit: Orbit, ids: Mapping[str, int], name: str, ra: float, dec: float,
              mjd: float, u: list[float]) -> dict[str, Any]:  # fmt: skip
    """The ssSource record of a detection of the object (`u`: 6 uniform numbers)."""
    geo = _geometry(orbit, ra, dec, mjd)
    gal_lon, gal_lat = _galactic(ra, dec)
    off_ra, off_dec = 0.3 * (u[0] - 0.5), 0.3 * (u[1] - 0.5)  # arcsec: observed minus predicted
    angle = 2 * math.pi * u[2]
    rec = dict(template)
    rec.update(geo)
    rec.update(
        diaSourceId=ids["diaSourceId"], ssObjectId=ids["ssObjectId"], designation=name, galLon=gal_lon,
        galLat=gal_lat, ephRa=ra - off_ra / 3600.0 / max(math.cos(math.radians(dec)), 0.02),
        ephDec=dec - off_dec / 3600.0, ephRateRa=geo["ephRate"] * math.cos(angle),
        ephRateDec=geo["ephRate"] * math.sin(angle), ephOffset=math.hypot(off_ra, off_dec), ephOffsetRa=off_ra,
        ephOffsetDec=off_dec, diaDistanceRank=1,
    )  # fmt: skip
    return rec


def mpc_orbit(template: Mapping[str, Any], orbit: Orbit, names: tuple[str, str], mjd: float,
              u: list[float]) -> dict[str, Any]:  # fmt: skip
    """The mpc_orbits row of the object (`u`: 6 uniform numbers)."""
    unpacked, packed = names
    q = orbit.a * (1.0 - orbit.e)
    period = 365.25 * orbit.a**1.5
    epoch = 61000.0
    peri_time = epoch + (360.0 - orbit.mean_anomaly) / 360.0 * period
    nobs = int(20 + 2000 * u[0] ** 2)
    arc = 30.0 + 12000.0 * u[1]
    unc = 1e-8 * (1.0 + 50.0 * u[2])
    fitted = _EPOCH + timedelta(days=mjd - 40587.0 - 1.0 - 30.0 * u[3])
    elements = {"q": q, "e": orbit.e, "i": orbit.i, "node": orbit.node, "argperi": orbit.argperi,
                "peri_time": peri_time}  # fmt: skip
    orb_json = {
        "COM": {"coefficient_names": list(elements), "coefficient_values": list(elements.values()),
                "coefficient_uncertainties": [unc * abs(v) for v in elements.values()],
                "covariance": {f"cov{a}{b}": (unc * 1e-3) ** 2 * (1.0 if a == b else 0.1) for a in range(6)
                               for b in range(a, 6)}},
        "epoch_data": {"epoch": epoch, "timeform": "MJD", "timesystem": "TDT"},
        "magnitude_data": {"H": round(orbit.h, 3), "G": 0.15, "photometric_model": "HG"},
        "categorization": {"orbit_type_str": orbit.kind, "object_type_str": "Minor Planet"},
        "designation_data": {"unpacked_primary_provisional_designation": unpacked,
                             "packed_primary_provisional_designation": packed},
        "orbit_fit_statistics": {"nobs_total": nobs, "arc_length_total": arc, "orbit_quality": "good"},
        "software_data": {"fitting_software_name": "orbfit", "fitting_datetime": fitted.isoformat()},
    }  # fmt: skip
    rec = dict(template)
    rec.update({k: 0.0 for k, v in template.items() if v is None and k.endswith("_unc")})
    rec.update(
        id=int(u[4] * 2**31), designation=unpacked, packed_primary_provisional_designation=packed,
        unpacked_primary_provisional_designation=unpacked, mpc_orb_jsonb=json.dumps(orb_json, separators=(",", ":")),
        created_at=_micros(fitted - timedelta(days=400.0)), updated_at=_micros(fitted), orbit_type_int=11, u_param=int(9 * u[5] ** 3),
        nopp=int(1 + nobs // 40), arc_length_total=arc, arc_length_sel=arc, nobs_total=nobs,
        nobs_total_sel=int(nobs * 0.96), a=orbit.a, q=q, e=orbit.e, i=orbit.i, node=orbit.node,
        argperi=orbit.argperi, peri_time=peri_time, yarkovsky=0.0, srp=0.0, a1=0.0, a2=0.0, a3=0.0, dt=0.0,
        mean_anomaly=orbit.mean_anomaly, period=period, mean_motion=360.0 / period, a_unc=unc * orbit.a,
        q_unc=unc * q, e_unc=unc, i_unc=unc * 100, node_unc=unc * 400, argperi_unc=unc * 500,
        peri_time_unc=unc * 800, mean_anomaly_unc=unc * 300, period_unc=unc * period, mean_motion_unc=unc * 1e-3,
        epoch_mjd=epoch, h=orbit.h, g=0.15, not_normalized_rms=0.0, normalized_rms=0.5 + 0.5 * u[2],
        earth_moid=abs(q - 1.0) * 0.9, fitting_datetime=_micros(fitted),
    )  # fmt: skip
    return rec
