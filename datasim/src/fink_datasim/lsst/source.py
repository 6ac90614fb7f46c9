"""Static-sky content of a Rubin alert: the alert's diaSource, its prvDiaSources and prvDiaForcedSources
histories (earlier visits of the same object, in every band) and the diaObject with its per-band statistics.

Records start from a template made from the official schema (null where nullable, else 0 / False / ""), so
every field of the version asked (11.0 or 11.1) is present; the varying fields are drawn with numpy, a whole
history at once. Fluxes are in nJy (AB magnitude = 31.4 - 2.5 log10(flux)); detections have |S/N| >= 5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np

from fink_datasim.lsst.plan import BANDS, DETECTORS, TAI_MINUS_UTC_DAYS, exposure_of, mjd_of_date, source_id

__all__ = ["BAND_ERR", "HISTORY_DAYS", "Position", "SourceMaker", "defaults", "record_schemas"]

#: Rubin attaches the object's sources and forced sources of the last 12 months.
HISTORY_DAYS = 365
#: Typical 1-sigma PSF flux error per band on a 30 s visit, nJy.
BAND_ERR = np.array([600.0, 260.0, 300.0, 420.0, 560.0, 900.0])
_BAND_WEIGHTS = np.array([0.06, 0.15, 0.23, 0.23, 0.19, 0.14])
_PIXEL_DEG = 0.2 / 3600.0
_DET_PIX = (4072, 4000)
_RAFTS = tuple((rx, ry) for ry in range(5) for rx in range(5) if (rx, ry) not in ((0, 0), (4, 0), (0, 4), (4, 4)))
_SEQ_SLOTS = 900  # visits in a night, for the history points' sequence numbers
_FLAGS = (
    "pixelFlags_bad", "pixelFlags_cr", "pixelFlags_crCenter", "pixelFlags_edge", "pixelFlags_interpolated",
    "pixelFlags_interpolatedCenter", "pixelFlags_saturated", "pixelFlags_suspect", "pixelFlags_streak",
)  # fmt: skip
_PRIMITIVE_DEFAULT: dict[str, Any] = {"int": 0, "long": 0, "float": 0.0, "double": 0.0, "boolean": False,
                                      "string": "", "bytes": b""}  # fmt: skip


def defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A record of `schema` with null in every nullable field and 0, False or "" elsewhere."""
    out: dict[str, Any] = {}
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, list) and "null" in kind:
            out[field["name"]] = None
        else:
            kind = kind.get("type") if isinstance(kind, dict) else kind
            out[field["name"]] = _PRIMITIVE_DEFAULT.get(str(kind))
    return out


def record_schemas(alert_schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The named records of an (inlined) alert schema by short name: diaSource, diaForcedSource, diaObject..."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            if node.get("type") == "record":
                found.setdefault(str(node["name"]).rpartition(".")[2], dict(node))
                for field in node["fields"]:
                    walk(field["type"])
            elif node.get("type") == "array":
                walk(node["items"])

    walk(alert_schema)
    return found


class Position(NamedTuple):
    ra: float
    dec: float
    x: float
    y: float


def place(boresight_ra: float, boresight_dec: float, rot_deg: float, detector: int, x: float, y: float) -> Position:
    """Sky position of pixel (x, y) of a detector, for a visit pointed at the boresight with that rotation."""
    rx, ry = _RAFTS[detector // 9]
    sx, sy = detector % 3, (detector % 9) // 3
    fx = (rx * 3 + sx + x / _DET_PIX[0] - 7.5) * _DET_PIX[0] * _PIXEL_DEG
    fy = (ry * 3 + sy + y / _DET_PIX[1] - 7.5) * _DET_PIX[1] * _PIXEL_DEG
    c, s = math.cos(math.radians(rot_deg)), math.sin(math.radians(rot_deg))
    dx, dy = c * fx - s * fy, s * fx + c * fy
    dec = max(-89.99, min(89.99, boresight_dec + dy))
    ra = (boresight_ra + dx / max(math.cos(math.radians(dec)), 0.02)) % 360.0
    return Position(ra, dec, x, y)


class SourceMaker:
    """Builds the static-sky parts of the alerts of one night, for one schema version."""

    def __init__(self, alert_schema: Mapping[str, Any], night: str) -> None:
        shapes = record_schemas(alert_schema)
        self.source_template = defaults(shapes["diaSource"])
        self.forced_template = defaults(shapes["diaForcedSource"])
        self.object_template = defaults(shapes["diaObject"])
        fields = set(self.source_template)
        self.v11_1 = {"exposureTime", "trailAlgorithm", "trail_flag", "reliabilityVersion"} <= fields
        for name in ("parentDiaSourceId", "trailNdata", "dipoleNdata"):
            if self.source_template.get(name) is None:
                self.source_template[name] = 0
        for name in ("centroid_flag", "apFlux_flag", "apFlux_flag_apertureTruncated", "isNegative", "psfFlux_flag",
                     "psfFlux_flag_edge", "psfFlux_flag_noGoodPixels", "trail_flag_edge", "forced_PsfFlux_flag",
                     "forced_PsfFlux_flag_edge", "forced_PsfFlux_flag_noGoodPixels", "shape_flag",
                     "shape_flag_no_pixels", "shape_flag_not_contained", "shape_flag_parent_source", "isDipole",
                     "dipoleFitAttempted", "pixelFlags", "pixelFlags_nodata", "pixelFlags_nodataCenter",
                     "pixelFlags_offimage", "pixelFlags_saturatedCenter", "pixelFlags_suspectCenter",
                     "pixelFlags_streakCenter", "pixelFlags_injected", "pixelFlags_injectedCenter",
                     "pixelFlags_injected_template", "pixelFlags_injected_templateCenter", "glint_trail", *_FLAGS):  # fmt: skip
            if name in fields:
                self.source_template[name] = False
        self.source_template["psfNdata"] = 1681  # the 41 x 41 PSF footprint
        if self.v11_1:
            self.source_template.update(exposureTime=30.0, trailAlgorithm=1, trail_flag=False,
                                        reliabilityVersion="reliability-v2")  # fmt: skip
        self.history_template = dict(self.source_template, ssObjectId=None)
        start = date(int(night[:4]), int(night[4:6]), int(night[6:]))
        # dayObs, exposure base and night-start MJD (UTC) of each of the HISTORY_DAYS nights before `night`
        days = [start - timedelta(days=k) for k in range(HISTORY_DAYS + 1)]
        self.day_obs = np.array([d.year * 10000 + d.month * 100 + d.day for d in days], dtype=np.int64)
        self.exposure_base = np.array([exposure_of(int(v), 0) for v in self.day_obs], dtype=np.int64)
        self.night_mjd = np.array([mjd_of_date(d) + 1.0 - 0.25 / 24.0 for d in days])

    # -- the alert's own diaSource ----------------------------------------------------------------------------
    def alert_source(self, rng: np.random.Generator, ids: dict[str, int], at: Position, visit: Any, band: str,
                     flux: float, err: float, sso: bool, trail_px: float) -> dict[str, Any]:  # fmt: skip
        u = rng.random(40).tolist()
        g = rng.standard_normal(8).tolist()
        snr = abs(flux) / err
        pos_err = (0.02 + 0.35 / snr) / 3600.0
        template_flux = 0.0 if sso else float(math.exp(8.5 + 1.5 * g[0]))
        dipole = not sso and u[0] < 0.05
        flags = {name: u[1 + k] < 0.01 for k, name in enumerate(_FLAGS)}
        src = self.source_template.copy()
        src.update(flags)
        src.update(
            diaSourceId=ids["diaSourceId"], visit=visit.visit, detector=ids["detector"],
            diaObjectId=ids["diaObjectId"], ssObjectId=ids["ssObjectId"],
            midpointMjdTai=visit.midpoint_mjd_tai, ra=at.ra, raErr=pos_err * (0.8 + 0.4 * u[10]),
            dec=at.dec, decErr=pos_err * (0.8 + 0.4 * u[11]), ra_dec_Cov=pos_err**2 * 0.2 * g[1],
            x=at.x, xErr=0.1 + 0.6 / snr, y=at.y, yErr=0.1 + 0.6 / snr,
            centroid_flag=u[12] < 0.02, apFlux=flux * (0.4 + 0.7 * u[13]), apFluxErr=err * (1.6 + 0.8 * u[14]),
            isNegative=flux < 0, snr=snr * (0.9 + 0.7 * u[15]), psfFlux=flux, psfFluxErr=err,
            psfChi2=1300.0 + 1700.0 * u[16],
            trailFlux=abs(flux) * (0.9 + 0.3 * u[17]), trailFluxErr=err * (0.005 + 0.05 * u[18]),
            trailRa=at.ra + 3e-6 * g[2], trailDec=at.dec + 3e-6 * g[3], trailLength=trail_px,
            trailAngle=180.0 * u[19], scienceFlux=template_flux + flux, scienceFluxErr=err * (1.0 + 0.05 * u[20]),
            templateFlux=template_flux, templateFluxErr=err * (0.03 + 0.2 * u[21]),
            ixx=0.05 + 0.25 * u[22], iyy=0.05 + 0.25 * u[23], ixy=0.02 * g[4],
            ixxPSF=0.17 + 0.08 * u[24], iyyPSF=0.17 + 0.08 * u[25], ixyPSF=0.01 * g[5],
            shape_flag=u[26] < 0.05, extendedness=(0.1 * u[27]) if sso else u[27],
            reliability=1.0 - 0.1 * u[28] ** 3 if sso else 1.0 - u[28] ** 2.5, band=band,
            isDipole=dipole, dipoleFitAttempted=dipole or u[29] < 0.3,
            timeProcessedMjdTai=visit.midpoint_mjd_tai + (60.0 + 120.0 * u[30]) / 86400.0,
            bboxSize=int(15 + 20 * u[31] + 1.2 * trail_px), glint_trail=u[32] < 0.002,
        )  # fmt: skip
        src["pixelFlags"] = any(flags.values())
        if dipole:
            src.update(dipoleMeanFlux=abs(flux) * 20 * u[33], dipoleMeanFluxErr=err * 0.6, dipoleFluxDiff=0.0,
                       dipoleFluxDiffErr=err * 1.2, dipoleLength=0.05 + 2 * u[34], dipoleAngle=360.0 * u[35],
                       dipoleChi2=800.0 + 800.0 * u[36])  # fmt: skip
        return src

    # -- earlier visits of the object ----------------------------------------------------------------------------
    def _slots(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(nights back 1..365, sequence number) of `n` distinct earlier visits, oldest first."""
        picked = np.sort(rng.choice(HISTORY_DAYS * _SEQ_SLOTS, size=n, replace=False))[::-1]
        back = 1 + picked // _SEQ_SLOTS
        return back, 1 + picked % _SEQ_SLOTS

    def _times(self, back: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mjd = self.night_mjd[back] + (seq * 39.0 + 15.0) / 86400.0 + TAI_MINUS_UTC_DAYS
        return mjd, self.day_obs[back] * 100000 + seq, self.exposure_base[back] + seq

    def history(self, rng: np.random.Generator, n: int, ordinal: int, new_id: int, at: Position, scale: float,
                neg_frac: float) -> tuple[list[dict[str, Any]], dict[str, np.ndarray], int]:  # fmt: skip
        """`n` prvDiaSources (detections, |S/N| >= 5, oldest first), the arrays the diaObject statistics need, and
        the diaObjectId: the diaSourceId of the object's first detection (`new_id` when it has no history)."""
        if n == 0:
            empty = np.zeros(0)
            points = {"band": empty.astype(np.int64), "flux": empty, "err": empty, "sci": empty, "mjd": empty}
            return [], points, new_id
        back, seq = self._slots(rng, n)
        mjd, visit, exposure = self._times(back, seq)
        band = rng.choice(len(BANDS), size=n, p=_BAND_WEIGHTS)
        err = BAND_ERR[band] * rng.lognormal(0.0, 0.25, n)
        snr = 5.0 + rng.exponential(scale, n)
        sign = np.where(rng.random(n) < neg_frac, -1.0, 1.0)
        flux = sign * snr * err
        template = np.exp(8.5 + 1.5 * rng.standard_normal()) * rng.uniform(0.97, 1.03, n)
        detector = rng.integers(0, DETECTORS, n)
        x, y = rng.uniform(20, _DET_PIX[0] - 20, n), rng.uniform(20, _DET_PIX[1] - 20, n)
        pos_err = (0.02 + 0.35 / snr) / 3600.0
        u = rng.random((8, n))
        ids = [source_id(int(e), int(d), (1 << 25) + ordinal) for e, d in zip(exposure.tolist(), detector.tolist(), strict=True)]
        cols = {
            "diaSourceId": ids, "visit": visit.tolist(), "detector": detector.tolist(), "midpointMjdTai": mjd.tolist(),
            "ra": (at.ra + pos_err * rng.standard_normal(n) / max(math.cos(math.radians(at.dec)), 0.02)).tolist(),
            "raErr": (pos_err * (0.8 + 0.4 * u[0])).tolist(), "dec": (at.dec + pos_err * rng.standard_normal(n)).tolist(),
            "decErr": (pos_err * (0.8 + 0.4 * u[1])).tolist(), "ra_dec_Cov": (0.2 * pos_err**2 * (u[2] - 0.5)).tolist(),
            "x": x.tolist(), "xErr": (0.1 + 0.6 / snr).tolist(), "y": y.tolist(), "yErr": (0.1 + 0.6 / snr).tolist(),
            "apFlux": (flux * (0.4 + 0.7 * u[3])).tolist(), "apFluxErr": (err * (1.6 + 0.8 * u[4])).tolist(),
            "isNegative": (flux < 0).tolist(), "snr": (snr * (0.9 + 0.7 * u[5])).tolist(), "psfFlux": flux.tolist(),
            "psfFluxErr": err.tolist(), "psfChi2": (1300.0 + 1700.0 * u[6]).tolist(),
            "scienceFlux": (template + flux).tolist(), "scienceFluxErr": (err * 1.02).tolist(),
            "templateFlux": template.tolist(), "templateFluxErr": (err * 0.1).tolist(),
            "ixxPSF": (0.17 + 0.08 * u[7]).tolist(), "iyyPSF": (0.25 - 0.08 * u[7]).tolist(),
            "reliability": (1.0 - u[2] ** 2.5).tolist(), "band": [BANDS[b] for b in band.tolist()],
            "timeProcessedMjdTai": (mjd + (60.0 + 120.0 * u[0]) / 86400.0).tolist(),
            "bboxSize": (15 + (20 * u[1]).astype(np.int64)).tolist(),
        }  # fmt: skip
        keys = list(cols)
        object_id = ids[0]
        template_rec = dict(self.history_template, diaObjectId=object_id)
        records = []
        for row in zip(*cols.values(), strict=True):
            rec = template_rec.copy()
            rec.update(zip(keys, row, strict=True))
            records.append(rec)
        return records, {"band": band, "flux": flux, "err": err, "sci": template + flux, "mjd": mjd}, object_id

    def forced(self, rng: np.random.Generator, n: int, ordinal: int, object_id: int, at: Position,
               level: float, neg_frac: float) -> list[dict[str, Any]]:  # fmt: skip
        """`n` prvDiaForcedSources: forced PSF photometry at earlier visits (any S/N, often negative)."""
        if n == 0:
            return []
        back, seq = self._slots(rng, n)
        mjd, visit, exposure = self._times(back, seq)
        band = rng.choice(len(BANDS), size=n, p=_BAND_WEIGHTS)
        err = BAND_ERR[band] * rng.lognormal(-0.3, 0.25, n)
        phase = rng.random(n)
        signal = level * (np.sin(2 * np.pi * phase) if neg_frac > 0 else phase**3)
        flux = signal + err * rng.standard_normal(n)
        detector = rng.integers(0, DETECTORS, n)
        science = np.exp(8.5 + 1.5 * rng.standard_normal()) + flux
        ids = [source_id(int(e), int(d), (1 << 26) + ordinal) for e, d in zip(exposure.tolist(), detector.tolist(), strict=True)]
        keys = ("diaForcedSourceId", "visit", "detector", "midpointMjdTai", "psfFlux", "psfFluxErr", "scienceFlux",
                "scienceFluxErr", "band", "timeProcessedMjdTai")  # fmt: skip
        cols = (ids, visit.tolist(), detector.tolist(), mjd.tolist(), flux.tolist(), err.tolist(), science.tolist(),
                (err * 0.98).tolist(), [BANDS[b] for b in band.tolist()], (mjd + 0.002).tolist())  # fmt: skip
        base = dict(self.forced_template, diaObjectId=object_id, ra=at.ra, dec=at.dec)
        records = []
        for row in zip(*cols, strict=True):
            rec = base.copy()
            rec.update(zip(keys, row, strict=True))
            records.append(rec)
        return records

    def dia_object(self, object_id: int, at: Position, midpoint: float, points: dict[str, np.ndarray]) -> dict[str, Any]:
        """The diaObject: position and per-band statistics of every detection (history and this alert)."""
        obj = self.object_template.copy()
        n = int(points["flux"].size)
        spread = 1.0 / math.sqrt(n)
        obj.update(
            diaObjectId=object_id, validityStartMjdTai=midpoint + 0.0016, ra=at.ra, dec=at.dec,
            raErr=3e-5 * spread, decErr=3e-5 * spread, ra_dec_Cov=1e-12 * spread, nDiaSources=n,
        )  # fmt: skip
        order = np.argsort(points["mjd"], kind="stable")
        band, flux, err, sci, mjd = (points[k][order] for k in ("band", "flux", "err", "sci", "mjd"))
        for b, name in enumerate(BANDS):
            mask = band == b
            obj[f"{name}_psfFluxNdata"] = count = int(mask.sum())
            if not count:
                continue
            f, e, t = flux[mask], err[mask], mjd[mask]
            slope = float(np.max(np.abs(np.diff(f) / np.maximum(np.diff(t), 1e-4)))) if count > 1 else None
            obj.update({
                f"{name}_psfFluxMean": float(f.mean()), f"{name}_psfFluxMeanErr": float(np.sqrt((e**2).sum()) / count),
                f"{name}_psfFluxSigma": float(f.std()) if count > 1 else None,
                f"{name}_scienceFluxMean": float(sci[mask].mean()),
                f"{name}_scienceFluxMeanErr": float(np.sqrt((e**2).sum()) / count),
                f"{name}_psfFluxMin": float(f.min()), f"{name}_psfFluxMax": float(f.max()),
                f"{name}_psfFluxMaxSlope": slope, f"{name}_psfFluxErrMean": float(e.mean()),
            })  # fmt: skip
        return obj
