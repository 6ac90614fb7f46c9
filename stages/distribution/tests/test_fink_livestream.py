"""Fink's ZTF livestream filters: hand cases from the published definitions (docs/fink-compat/), and every
real enriched alert against plain per-alert references written here (they share no code with the module)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from enriched_alerts import read_science, science_lake  # noqa: F401  (session fixture)
from test_filters import run

from fink_distribution import fink_livestream as fink
from fink_distribution.registry import BUILTINS, evaluate_filters, input_frame

NAN = math.nan
FINK = ("sso_ztf_candidates", "sso_fink_candidates", "first_pass_candidates", "fast_riser_candidates", "vra",
        "unknowns", "magnetic_cvs", "yso_candidates", "blazar", "simbad_grav_candidates")  # fmt: skip


def test_roid_filters() -> None:
    roid = [0, 1, 2, 3, None]
    assert run("sso_ztf_candidates", roid=roid) == [False, False, False, True, False]
    assert run("sso_fink_candidates", roid=roid) == [False, False, True, False, False]
    assert run("first_pass_candidates", roid=roid) == [False, True, False, False, False]


def test_vra() -> None:
    got = run(
        "vra",
        candidate__magpsf=[20.0, 19.0, 20.0, 20.0, 20.0, 20.0],
        candidate__drb=[0.9, 0.9, 0.4, 0.9, 0.9, None],
        cdsxmatch=["Unknown", "Unknown", "Unknown", "RRLyr", "Unknown", "Unknown"],
        roid=[0, 0, 0, 0, 3, 0],
    )
    assert got == [True, False, False, False, False, False]


def test_catalog_type_filters_use_finks_exact_sets() -> None:
    types = ["YSO_Candidate", "Candidate_TTau*", "YSO", "BLLac", "Blazar_Candidate", "QSO", "LensedQ", None]
    assert run("yso_candidates", cdsxmatch=types) == [True, True, False, False, False, False, False, False]
    assert run("blazar", cdsxmatch=types) == [False, False, False, True, True, False, False, False]
    assert run("simbad_grav_candidates", cdsxmatch=types) == [False] * 6 + [True, False]


def test_unknowns_reads_finks_classification() -> None:
    assert run("unknowns", classification=["Unknown", "Solar System MPC", "Mira", None]) == [True, False, False, False]


@pytest.mark.parametrize(
    ("jd", "mag", "fid", "rate"),
    [
        ([0, 1], [20, 18], [1, 1], 2.0),  # Fink's doctests
        ([0, 1], [18, 20], [1, 1], 0.0),
        ([0, 1], [NAN, 18], [1, 1], 0.0),
        ([0, 0.01], [20, 18], [1, 1], 0.0),  # closer than 0.02 d
        ([0, 1, 2], [20, 18, 19], [1, 2, 1], 0.5),  # within a band only
        ([0, 0.5], [20, 10], [1, 1], 6.0),  # capped
        ([1, 0], [18, 20], [1, 1], 2.0),  # sorted by jd first
    ],
)
def test_rise_rate(jd: list[float], mag: list[float], fid: list[int], rate: float) -> None:
    assert fink.rise_rate(np.array(jd, float), np.array(mag, float), np.array(fid, float)) == pytest.approx(rate)


def test_fast_riser_candidates() -> None:
    base = {"cdsxmatch": "Unknown", "roid": 0, "candidate__drb": 0.9, "candidate__jd": 10.0,
            "candidate__jdstarthist": 9.0, "candidate__magpsf": 18.0, "candidate__fid": 1,
            "prv_candidates__jd": np.array([9.0]), "prv_candidates__magpsf": np.array([19.0]),
            "prv_candidates__fid": np.array([1.0])}  # fmt: skip
    cases = [
        {},  # 1 mag/day: selected
        {"cdsxmatch": "RRLyr"},  # not an extragalactic host type
        {"roid": 2},
        {"candidate__drb": 0.5},
        {"candidate__jdstarthist": -60.0},  # 70 days old
        {"prv_candidates__magpsf": np.array([18.1])},  # 0.1 mag/day
        {"prv_candidates__jd": None, "prv_candidates__magpsf": None, "prv_candidates__fid": None},  # no history
        {"prv_candidates__fid": np.array([2.0])},  # the other band
    ]
    rows = [{**base, **case} for case in cases]
    got = run("fast_riser_candidates", **{k: [r[k] for r in rows] for k in base})
    assert got == [True, False, False, False, False, False, False, False]


def test_magnetic_cvs_radius_and_sign_each_alert_on_its_own() -> None:
    ra0, dec0 = 4.7370833, 34.9122222  # V479 And, the catalog's first row
    # at 0.3", 0.4" and 0.6" north: both inside the radius are selected (Fink's batch keeps only the 0.3" one)
    north = {"candidate__isdiffpos": ["t"] * 3, "candidate__ra": [ra0] * 3}
    assert run("magnetic_cvs", **north, candidate__dec=[dec0 + o / 3600 for o in (0.3, 0.4, 0.6)]) == [True, True, False]
    assert run("magnetic_cvs", **north, candidate__dec=[dec0 + o / 3600 for o in (0.4, 0.6, 0.3)]) == [True, False, True]
    # the same alerts one at a time give the same answers: the selection does not depend on the batch
    for offset, want in ((0.3, True), (0.4, True), (0.49, True), (0.6, False)):
        got = run("magnetic_cvs", candidate__isdiffpos=["1"], candidate__ra=[ra0], candidate__dec=[dec0 + offset / 3600])
        assert got == [want], offset
    # only "t" and "1" are positive subtractions
    got = run("magnetic_cvs", candidate__isdiffpos=["f", "true", None, "t"], candidate__ra=[ra0] * 4,
              candidate__dec=[dec0 + o / 3600 for o in (0.1, 0.2, 0.25, 0.3)])  # fmt: skip
    assert got == [False, False, False, True]
    assert run("magnetic_cvs", candidate__isdiffpos=["f"], candidate__ra=[ra0], candidate__dec=[dec0]) == [False]
    xyz, names = fink.mcv_positions()
    assert len(names) == 245 and names[0] == "V479 And" and names[-1] == "Aqr1" and xyz.shape == (245, 3)


def test_the_fink_filters_not_served_are_listed_in_the_module_docstring() -> None:
    assert len(fink.NOT_SERVED) + len(FINK) == 21
    for name in fink.NOT_SERVED:
        assert f"`{name}`" in (fink.__doc__ or ""), name


def test_the_fink_filters_are_builtins_under_finks_names() -> None:
    for name in FINK:
        assert name in BUILTINS and BUILTINS[name].description
    assert not set(fink.NOT_SERVED) & set(BUILTINS)


# --------------------------------------------------------------------------- every real enriched alert


def ref(name: str, row: dict[str, Any]) -> bool:
    """A plain reading of Fink's definition on one science row (as a Python dict)."""
    c, roid, xtype = row["candidate"], row["roid"], row["cdsxmatch"]
    if name in ("sso_ztf_candidates", "sso_fink_candidates", "first_pass_candidates"):
        return roid == {"sso_ztf_candidates": 3, "sso_fink_candidates": 2, "first_pass_candidates": 1}[name]
    if name == "vra":
        return xtype == "Unknown" and roid != 3 and c["magpsf"] > 19.5 and (c["drb"] or 0) > 0.5
    if name == "unknowns":
        return row["classification"] == "Unknown"
    if name in ("yso_candidates", "blazar", "simbad_grav_candidates"):
        sets = {"yso_candidates": fink.YSO_TYPES, "blazar": fink.BLAZAR_TYPES, "simbad_grav_candidates": fink.GRAV_TYPES}
        return xtype in sets[name]
    if name == "magnetic_cvs":
        return False  # no sample alert lies within 0.5" of a catalogued magnetic CV (checked by the distance below)
    if name == "fast_riser_candidates":
        if xtype not in fink.EG_HOSTS or roid in (2, 3) or not (c["drb"] or 0) > 0.5:
            return False
        if not c["jd"] - c["jdstarthist"] <= 60:
            return False
        points = [(p["jd"], p["magpsf"], p["fid"]) for p in row["prv_candidates"] or []] + [(c["jd"], c["magpsf"], c["fid"])]
        points = sorted((p for p in points if p[0] is not None and p[1] is not None), key=lambda p: p[0])
        best = 0.0
        for band in {p[2] for p in points}:
            curve = [p for p in points if p[2] == band]
            for (t1, m1, _), (t2, m2, _) in zip(curve, curve[1:], strict=False):
                if t2 - t1 >= 0.02 and (m1 - m2) / (t2 - t1) > 0:
                    best = max(best, (m1 - m2) / (t2 - t1))
        return min(best, 6.0) >= 0.25
    raise AssertionError(name)


def test_every_fink_filter_equals_the_reference_on_every_real_alert(science_lake: Path) -> None:  # noqa: F811
    table = read_science(science_lake)
    filters = [BUILTINS[n] for n in FINK]
    paths = list(dict.fromkeys(p for f in filters for p in f.inputs))
    flags = evaluate_filters(input_frame(table, paths), filters)
    rows = table.select(["candid", "candidate", "prv_candidates", "roid", "cdsxmatch", "classification"]).to_pylist()
    assert len(rows) == 300
    mismatches = [(name, r["candid"]) for name in FINK for r, got in zip(rows, flags[name], strict=True) if got is not ref(name, r)]
    assert mismatches == []
    counts = {name: int(pd.Series(flags[name]).astype(bool).sum()) for name in FINK}
    assert counts["sso_ztf_candidates"] > 0 and counts["unknowns"] > 0 and counts["sso_fink_candidates"] > 0
    # the sample's nearest alert to any magnetic CV is far outside 0.5"
    xyz, _ = fink.mcv_positions()
    ra, dec = np.radians([r["candidate"]["ra"] for r in rows]), np.radians([r["candidate"]["dec"] for r in rows])
    alerts = np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    nearest = np.degrees(2 * np.arcsin(np.min(np.linalg.norm(alerts[:, None] - xyz[None], axis=2), axis=1) / 2)) * 3600
    assert nearest.min() > 0.5


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Haversine great-circle separation, degrees in, arcsec out."""
    p1, p2, dl = math.radians(dec1), math.radians(dec2), math.radians(ra2 - ra1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return math.degrees(2 * math.asin(math.sqrt(h))) * 3600


def _catalog() -> list[tuple[float, float]]:
    """The shipped CSV parsed here independently (sexagesimal hours / degrees)."""
    out = []
    text = (Path(fink.__file__).parent / fink.MCV_CATALOG).read_text()
    for line in text.splitlines()[1:]:
        _, ra, dec, _, _ = line.split(",")
        h, m, s = (float(x) for x in ra.split())
        d, dm, ds = dec.split()
        sign = -1 if d.startswith("-") else 1
        out.append((15 * (h + m / 60 + s / 3600), sign * (abs(float(d)) + float(dm) / 60 + float(ds) / 3600)))
    return out


def test_magnetic_cvs_equals_a_per_source_reference_on_real_alerts_moved_onto_the_catalog(
    science_lake: Path,  # noqa: F811
) -> None:
    """The real alerts (their own isdiffpos), a third of them moved to within ~1" of catalog sources, several
    per source: every positive alert closer than 0.5" to a source is selected, in one batch or one at a time."""
    table = read_science(science_lake)
    item = BUILTINS["magnetic_cvs"]
    frame = input_frame(table, item.inputs)
    catalog = _catalog()
    rng = np.random.default_rng(7)
    for i in range(0, len(frame), 3):
        ra, dec = catalog[(i // 3) % 40]  # 100 moved alerts over 40 sources: 2-3 alerts per source
        offset = rng.uniform(0.0, 1.0) / 3600
        frame.loc[i, "candidate.ra"] = ra + offset / math.cos(math.radians(dec)) * rng.choice([-1, 1]) * 0.6
        frame.loc[i, "candidate.dec"] = dec + offset * 0.8
    got = evaluate_filters(frame, [item])["magnetic_cvs"].tolist()
    positions = list(zip(frame["candidate.ra"], frame["candidate.dec"], strict=True))
    positive = [v in ("t", "1") for v in frame["candidate.isdiffpos"]]
    want = [positive[i] and min(_separation_arcsec(ra, dec, a, d) for ra, dec in catalog) < 0.5
            for i, (a, d) in enumerate(positions)]  # fmt: skip
    assert got == want
    assert 10 < sum(want) < 100
    # several alerts of one source are selected together (Fink's batch would keep one of them)
    per_source = [sum(1 for i, (a, d) in enumerate(positions) if want[i] and _separation_arcsec(ra, dec, a, d) < 0.5)
                  for ra, dec in catalog]  # fmt: skip
    assert max(per_source) >= 2
    one_by_one = [evaluate_filters(frame.iloc[[i]].reset_index(drop=True), [item])["magnetic_cvs"].item() for i in range(len(frame))]
    assert one_by_one == got
    assert set(frame["candidate.isdiffpos"]) >= {"t", "f"}
