"""Records of single detections and non-detections: every `candidate` / `prv_candidates` field with ZTF-like values.

This is the generator's innermost loop (about ten detections per alert), so the cosmetic noise of each detection
comes from slices of precomputed tables instead of one random call per field.
"""

from __future__ import annotations

import math
import random
from typing import Any

from fink_datasim.lightcurve import mag_error
from fink_datasim.plan import Epoch, FieldPlan, ObjectPlan
from fink_datasim.survey import pid_of, rfid_of, science_file_name

__all__ = ["DRB_VERSION", "NONE_VALUE", "RB_VERSION", "Detections", "surroundings"]

RB_VERSION = "t17_f5_c3"
DRB_VERSION = "d6_m7"
#: ZTF's value for "no such neighbour".
NONE_VALUE = -999.0

_ARCSEC = 1.0 / 3600.0
_TABLE = 1 << 16
_WIDTH = 16


def surroundings(obj: ObjectPlan, rng: random.Random) -> dict[str, Any]:
    """Static surroundings of an object: PS1 / Gaia neighbours, nearest reference source, known asteroid."""
    u = rng.uniform
    kind = obj.kind
    if kind == "variable":  # a star right underneath
        dist1, sg1, classtar = u(0.02, 0.6), u(0.92, 1.0), u(0.9, 1.0)
        distnr, near_gaia = u(0.05, 0.8), u(0.02, 0.6)
    elif kind == "transient" and rng.random() < 0.75:  # on a galaxy
        dist1, sg1, classtar = u(0.3, 4.0), u(0.0, 0.35), u(0.45, 0.99)
        distnr, near_gaia = u(0.3, 4.0), u(3.0, 90.0)
    else:  # hostless transient, asteroid or artefact: nothing right underneath
        dist1, sg1, classtar = u(5.0, 29.0), u(0.0, 1.0), u(0.3, 0.99)
        distnr, near_gaia = u(4.0, 30.0), u(3.0, 90.0)
    ps1 = []
    dist = dist1
    for k in range(3):
        r = u(15.0, 22.0)
        ps1.append((dist, sg1 if k == 0 else u(0.0, 1.0), r + u(0.1, 1.0), r, r - u(0.05, 0.4), r - u(0.1, 0.6)))
        dist += u(0.5, 10.0)
    magnr_r = u(14.0, 21.5) if kind == "variable" else u(17.0, 22.0)
    name = "null"
    if kind == "asteroid" and rng.random() < 0.8:  # numbered minor planet
        name = str(rng.randint(1, 650_000))
    elif kind == "asteroid":  # provisional designation, written without the space as ZTF does
        letters = rng.choice("ABCDEFGHJKLMNOPQRSTUVWXY") + rng.choice("ABCDEFGHJKLMNOPQRSTUVWXYZ")
        name = f"{rng.randint(2010, 2023)}{letters}{rng.randint(1, 199)}"
    dec_cell = int((obj.dec + 90.0) / 0.025)
    bright_gaia = rng.random() < 0.5
    return {
        "cos_dec": max(math.cos(math.radians(obj.dec)), 0.05),
        "mindtoedge": min(obj.xpos, obj.ypos, 3072.0 - obj.xpos, 3080.0 - obj.ypos),
        "ps1": ps1,
        "objectidps": [dec_cell * 10**13 + int(obj.ra * 1e5) * 10**4 + rng.randint(0, 9999) for _ in range(3)],
        "nmtchps": rng.randint(3, 30),
        "classtar": classtar,
        "distnr": distnr,
        "magnr": {1: magnr_r + u(0.2, 1.0), 2: magnr_r, 3: magnr_r - u(0.05, 0.5)},
        "sigmagnr": u(0.01, 0.15),
        "chinr": u(0.5, 2.0),
        "sharpnr": u(-0.1, 0.1),
        "nr_angle": u(0.0, 2 * math.pi),
        "neargaia": near_gaia,
        "maggaia": u(12.0, 20.5),
        "neargaiabright": u(10.0, 90.0) if bright_gaia else NONE_VALUE,
        "maggaiabright": u(8.0, 14.0) if bright_gaia else NONE_VALUE,
        "ssdistnr": u(0.0, 2.5) if kind == "asteroid" else NONE_VALUE,
        "ssnamenr": name,
        "ss_offset": u(-0.3, 0.6),
        "bogus_rb": rng.random() < 0.75,
        "bogus_nbad": rng.random() < 0.5,
    }


class Detections:
    """Builds detection and upper-limit records; deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"fink-datasim:{seed}:noise")
        self._normal = [rng.gauss(0.0, 1.0) for _ in range(_TABLE + _WIDTH)]
        self._uniform = [rng.random() for _ in range(_TABLE + _WIDTH)]
        self._names: dict[tuple[float, int, int, int, bool], str] = {}
        self._refs: dict[tuple[int, int, int], tuple[float, float, int]] = {}
        self._seed = seed

    def file_name(self, jd: float, field: int, fid: int, rcid: int, archived: bool) -> str:
        key = (jd, field, fid, rcid, archived)
        name = self._names.get(key)
        if name is None:
            if len(self._names) > 200_000:
                self._names.clear()
            name = self._names[key] = science_file_name(jd, field, fid, rcid, archived=archived)
        return name

    def reference(self, field: int, rcid: int, fid: int) -> tuple[float, float, int]:
        """(jdstartref, jdendref, nframesref) of the reference image of a (field, readout channel, filter)."""
        key = (field, rcid, fid)
        ref = self._refs.get(key)
        if ref is None:
            rng = random.Random(f"fink-datasim:{self._seed}:ref:{field}:{rcid}:{fid}")
            start = rng.uniform(2458150.0, 2458300.0)
            ref = self._refs[key] = (start, start + rng.uniform(30.0, 250.0), rng.randint(15, 40))
        return ref

    def upper(self, obj: ObjectPlan, fp: FieldPlan, epoch: Epoch, *, archived: bool) -> dict[str, Any]:
        """A non-detection: only the exposure's fields are set, `magpsf` and `candid` are null."""
        return {
            "jd": epoch.jd,
            "fid": epoch.fid,
            "pid": pid_of(epoch.nid, epoch.frac7, obj.rcid // 4 + 1),
            "diffmaglim": epoch.diffmaglim,
            "pdiffimfilename": self.file_name(epoch.jd, fp.field.fid, epoch.fid, obj.rcid, archived),
            "programpi": "Kulkarni",
            "programid": epoch.programid,
            "candid": None,
            "magpsf": None,
            "nid": epoch.nid,
            "rcid": obj.rcid,
            "field": fp.field.fid,
            "magzpsci": epoch.magzpsci,
            "magzpsciunc": epoch.magzpsciunc,
            "magzpscirms": epoch.magzpscirms,
            "clrcoeff": epoch.clrcoeff,
            "clrcounc": epoch.clrcounc,
            "rbversion": RB_VERSION,
        }

    def detection(
        self,
        obj: ObjectPlan,
        fp: FieldPlan,
        props: dict[str, Any],
        epoch: Epoch,
        mag: float,
        positive: bool,
        candid: int,
        rng: random.Random,
        *,
        archived: bool,
        full: bool,
    ) -> dict[str, Any]:
        """One detection: the `prv_candidates` fields, plus the candidate-only fields when `full`."""
        at = int(rng.random() * _TABLE)
        n0, n1, n2, n3, n4, n5, n6, n7 = self._normal[at : at + 8]
        u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11 = self._uniform[at : at + 12]
        ccd = obj.rcid // 4 + 1
        limit = epoch.diffmaglim
        sigma = mag_error(mag, limit)
        if obj.kind == "bogus":
            low_rb = props["bogus_rb"] or not props["bogus_nbad"]
            rb = 0.02 + 0.52 * u0 if low_rb else 0.55 + 0.35 * u0
            nbad = 1 + int(6 * u1) if props["bogus_nbad"] or not props["bogus_rb"] else 0
            drb, elong, chipsf, sumrat = 0.4 * u2, 1.3 + 2.7 * u3, 2.0 + 38.0 * u4, 0.4 + 0.5 * u5
        else:  # real sources; some archived detections are poor (the "uppervalid" kind)
            rb = (0.55 + 0.45 * u0) ** 0.5 if (not archived or u1 < 0.88) else 0.2 + 0.35 * u0
            nbad, drb = 0, (0.75 + 0.25 * u2) ** 0.3
            elong, chipsf, sumrat = 1.0 + 0.3 * u3, 0.3 + 2.7 * u4, 0.85 + 0.15 * u5
        fwhm = epoch.seeing * (0.9 + 0.25 * u6)
        aimage = fwhm * (0.28 + 0.1 * u7)
        bimage = aimage / elong
        magap = mag + n0 * sigma * 1.2
        cos_dec = props["cos_dec"]
        distnr = abs(props["distnr"] + 0.05 * n1)
        angle = props["nr_angle"]
        record = {
            "jd": epoch.jd,
            "fid": epoch.fid,
            "pid": pid_of(epoch.nid, epoch.frac7, ccd),
            "diffmaglim": limit,
            "pdiffimfilename": self.file_name(epoch.jd, fp.field.fid, epoch.fid, obj.rcid, archived),
            "programpi": "Kulkarni",
            "programid": epoch.programid,
            "candid": candid,
            "isdiffpos": "t" if positive else "f",
            "tblid": candid % 1000,
            "nid": epoch.nid,
            "rcid": obj.rcid,
            "field": fp.field.fid,
            "xpos": obj.xpos + 0.1 * n2,
            "ypos": obj.ypos + 0.1 * n3,
            "ra": (obj.ra + 0.08 * _ARCSEC * n4 / cos_dec) % 360.0,
            "dec": obj.dec + 0.08 * _ARCSEC * n5,
            "magpsf": mag,
            "sigmapsf": sigma,
            "chipsf": chipsf,
            "magap": magap,
            "sigmagap": sigma * 1.25,
            "distnr": distnr,
            "magnr": props["magnr"][epoch.fid],
            "sigmagnr": props["sigmagnr"],
            "chinr": props["chinr"],
            "sharpnr": props["sharpnr"],
            "sky": 2.0 * n6,
            "magdiff": magap - mag,
            "fwhm": fwhm,
            "classtar": min(1.0, max(0.0, props["classtar"] + 0.02 * n7)),
            "mindtoedge": props["mindtoedge"],
            "magfromlim": limit - magap,
            "seeratio": 0.8 + 0.5 * u8,
            "aimage": aimage,
            "bimage": bimage,
            "aimagerat": aimage / fwhm,
            "bimagerat": bimage / fwhm,
            "elong": elong,
            "nneg": int(9 * u9),
            "nbad": nbad,
            "rb": rb,
            "ssdistnr": props["ssdistnr"],
            "ssmagnr": mag + props["ss_offset"] if obj.kind == "asteroid" else NONE_VALUE,
            "ssnamenr": props["ssnamenr"],
            "sumrat": sumrat,
            "magapbig": magap + 0.02 + 0.03 * n1,
            "sigmagapbig": sigma * 1.4,
            "ranr": (obj.ra + distnr * math.cos(angle) * _ARCSEC / cos_dec) % 360.0,
            "decnr": obj.dec + distnr * math.sin(angle) * _ARCSEC,
            "scorr": max(1.0857 / sigma, 5.0),
            "magzpsci": epoch.magzpsci,
            "magzpsciunc": epoch.magzpsciunc,
            "magzpscirms": epoch.magzpscirms,
            "clrcoeff": epoch.clrcoeff,
            "clrcounc": epoch.clrcounc,
            "rbversion": RB_VERSION,
        }
        if full:
            record.update(self._candidate_only(obj, fp, props, epoch, record["scorr"], u10, u11, drb))
        return record

    def _candidate_only(
        self, obj: ObjectPlan, fp: FieldPlan, props: dict[str, Any], epoch: Epoch, scorr: float, u10: float,
        u11: float, drb: float,
    ) -> dict[str, Any]:
        """Fields a `candidate` has and a `prv_candidates` entry has not (history counters are set later)."""
        ps1 = props["ps1"]
        ids = props["objectidps"]
        dsnrms = scorr * (0.8 + 0.4 * u10)
        ssnrms = dsnrms * (1.2 + 0.8 * u11)
        jdstartref, jdendref, nframesref = self.reference(fp.field.fid, obj.rcid, epoch.fid)
        extra: dict[str, Any] = {}
        for k in range(3):
            dist, sgscore, g, r, i, z = ps1[k]
            n = k + 1
            extra[f"sgmag{n}"], extra[f"srmag{n}"], extra[f"simag{n}"], extra[f"szmag{n}"] = g, r, i, z
            extra[f"sgscore{n}"], extra[f"distpsnr{n}"] = sgscore, dist
            extra[f"objectidps{n}"] = ids[k]
        extra.update(
            {
                "tooflag": 0,
                "nmtchps": props["nmtchps"],
                "rfid": rfid_of(fp.field.fid, epoch.fid, obj.rcid),
                "jdstartref": jdstartref,
                "jdendref": jdendref,
                "nframesref": nframesref,
                "dsnrms": dsnrms,
                "ssnrms": ssnrms,
                "dsdiff": dsnrms - ssnrms,
                "nmatches": epoch.nmatches,
                "zpclrcov": epoch.zpclrcov,
                "zpmed": epoch.zpmed,
                "clrmed": epoch.clrmed,
                "clrrms": epoch.clrrms,
                "neargaia": props["neargaia"],
                "neargaiabright": props["neargaiabright"],
                "maggaia": props["maggaia"],
                "maggaiabright": props["maggaiabright"],
                "exptime": 30.0,
                "drb": drb,
                "drbversion": DRB_VERSION,
            }
        )
        return extra
